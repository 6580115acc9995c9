"""API keys: hashed at rest, shown once, cached on the hot path, scoped to their workspace."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts import services as accounts_services
from accounts.key_use import KeyUseRecorder
from accounts.models import ApiKey, Membership, Workspace
from accounts.selectors import api_key_list
from accounts.services import AccountsError, api_key_create, api_keys_mark_used, workspace_provision
from billing.models import LedgerEntry
from console.templatetags.console import ago
from gateway.auth import authenticate, forget_key, key_cache
from gateway.logs import request_logs
from tests.conftest import make_key
from tests.helpers import wait_for_logs


def test_secret_is_nowhere_in_the_database(workspace):
    key, secret = api_key_create(workspace=workspace, name="ci")
    random_part = secret[len(key.prefix) + 1 :]  # 43 characters; the prefix alone is public
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                assert not any(isinstance(v, str) and secret in v for v in row), table
                assert not any(isinstance(v, str) and random_part in v for v in row), table


def test_cached_key_lookup_makes_no_query(api_key, django_assert_num_queries):
    with django_assert_num_queries(1):
        async_to_sync(authenticate)(api_key.secret)
    with django_assert_num_queries(0):
        for _ in range(5):
            principal = async_to_sync(authenticate)(api_key.secret)
    assert principal.workspace_id == api_key.workspace.pk


def test_commands_provision_a_tenant(db, capsys):
    call_command("create_workspace", "acme", "--owner", "Owner@Acme.test")
    ws = Workspace.objects.get(slug="acme")
    membership = Membership.objects.get(workspace=ws)
    assert membership.role == "owner" and membership.user.email == "owner@acme.test"
    assert not membership.user.has_usable_password()
    capsys.readouterr()
    call_command("create_api_key", "acme", "--name", "prod")
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    key = ApiKey.objects.get(workspace=ws)
    assert secret.startswith(key.prefix) and key.scope == "inference" and key.name == "prod"
    assert async_to_sync(authenticate)(secret).workspace_slug == "acme"
    call_command("revoke_api_key", key.prefix)
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_provisioning_a_workspace_is_all_or_nothing(db, monkeypatch):
    """The commands (create_workspace, bootstrap_workspace, bootstrap_demo) share
    one service: a key that fails leaves no workspace and no credits behind."""
    made = workspace_provision(slug="whole", owner_email="o@whole.test", credits=5, key_name="k")
    assert made.key is not None and made.secret.startswith(made.key.prefix)
    assert LedgerEntry.objects.get(workspace=made.workspace).amount_units == 500

    def refuse(**kwargs):
        raise AccountsError("no key today")

    monkeypatch.setattr(accounts_services, "api_key_create", refuse)
    with pytest.raises(AccountsError):
        workspace_provision(slug="half", owner_email="o@half.test", credits=5, key_name="k")
    assert not Workspace.objects.filter(slug="half").exists()
    assert LedgerEntry.objects.filter(workspace__slug="half").count() == 0
    with pytest.raises(AccountsError, match="negative"):
        workspace_provision(slug="owing", owner_email="o@owing.test", credits=-1)


def test_management_api_is_scoped_to_the_keys_workspace(manage_client, workspace, other_workspace):
    sentinel = make_key(other_workspace, name="SENTINEL-OTHER")
    mine = make_key(workspace, name="mine")
    resp = manage_client.get("/api/manage/keys")
    assert resp.status_code == 200
    prefixes = {k["prefix"] for k in resp.json()}
    assert mine.prefix in prefixes and sentinel.prefix not in prefixes
    assert "SENTINEL-OTHER" not in resp.content.decode()
    # Revoking another workspace's key by prefix is a 404, and changes nothing.
    resp = manage_client.post(f"/api/manage/keys/{sentinel.prefix}/revoke")
    assert resp.status_code == 404
    assert ApiKey.objects.get(pk=sentinel.pk).revoked_at is None


def test_management_api_creates_a_key_and_shows_the_secret_once(manage_client):
    resp = manage_client.post("/api/manage/keys", {"name": "new"}, format="json")
    assert resp.status_code == 201
    secret = resp.json()["secret"]
    listed = manage_client.get("/api/manage/keys").content.decode()
    assert secret not in listed


def test_inference_key_cannot_use_management_api(api_key):
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.secret}")
    assert api.get("/api/manage/keys").status_code == 403
    api.credentials(HTTP_AUTHORIZATION="Bearer jk_wrong")
    assert api.get("/api/manage/keys").status_code == 401


def test_concurrent_misses_share_one_lookup(api_key, monkeypatch):
    calls: list[str] = []
    real = key_cache.loader
    assert real is not None

    def counting(key_hash):
        calls.append(key_hash)
        return real(key_hash)

    monkeypatch.setattr(key_cache, "loader", counting)

    async def many():
        return await asyncio.gather(*(authenticate(api_key.secret) for _ in range(10)))

    principals = async_to_sync(many)()
    assert len(calls) == 1
    assert {p.key_id for p in principals} == {api_key.pk}


def test_a_key_forgotten_during_its_lookup_is_looked_up_again(api_key, monkeypatch):
    calls: list[str] = []
    real = key_cache.loader
    assert real is not None

    def revoked_meanwhile(key_hash):
        calls.append(key_hash)
        principal = real(key_hash)
        forget_key(key_hash)  # e.g. revoked while the first lookup ran
        return principal

    monkeypatch.setattr(key_cache, "loader", revoked_meanwhile)
    async_to_sync(authenticate)(api_key.secret)
    async_to_sync(authenticate)(api_key.secret)
    assert len(calls) == 2  # what the first lookup read was not kept


def test_a_keys_last_use_is_written_from_the_logs_not_per_call(client, fake_openai, api_key):
    """The /v1 call writes nothing for its key; the log writer's batch marks it."""
    before = timezone.now()
    client.embeddings.create(model="text-embedding-3-small", input="one")
    (row,) = wait_for_logs()
    request_logs.flush()  # the row is in; its batch's listeners run before the writer idles
    key = ApiKey.objects.get(pk=api_key.pk)
    assert key.last_used_at == row.created_at and key.last_used_at >= before - timedelta(seconds=1)
    # The console's keys page shows it.
    (listed,) = api_key_list(workspace_id=api_key.workspace.pk)
    assert listed.last_used == row.created_at


def test_last_use_is_one_update_per_batch_and_once_a_minute_per_key(workspace, django_assert_num_queries):
    one, two = make_key(workspace), make_key(workspace)
    recorder = KeyUseRecorder()
    now = timezone.now()
    rows = [
        {"api_key_id": one.pk, "created_at": now - timedelta(seconds=2)},
        {"api_key_id": one.pk, "created_at": now},
        {"api_key_id": two.pk, "created_at": now - timedelta(seconds=1)},
        {"api_key_id": None, "created_at": now},  # unauthenticated: no key
    ]
    with django_assert_num_queries(1):
        recorder(rows)
    assert ApiKey.objects.get(pk=one.pk).last_used_at == now
    assert ApiKey.objects.get(pk=two.pk).last_used_at == now - timedelta(seconds=1)
    with django_assert_num_queries(0):  # within the minute: nothing written
        recorder([{"api_key_id": one.pk, "created_at": now + timedelta(seconds=5)}])
    assert ApiKey.objects.get(pk=one.pk).last_used_at == now
    # Another process's later mark is never moved back.
    api_keys_mark_used(used={two.pk: now + timedelta(seconds=30)})
    api_keys_mark_used(used={two.pk: now})
    assert ApiKey.objects.get(pk=two.pk).last_used_at == now + timedelta(seconds=30)


def test_the_keys_page_says_when_a_key_was_last_used():
    now = timezone.now()
    assert ago(now - timedelta(seconds=10)) == "just now"  # not "0 minutes ago"
    assert ago(now - timedelta(minutes=3, seconds=5)) == "3\xa0minutes ago"
    assert ago(None) == "never"
