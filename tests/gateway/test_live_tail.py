"""The live tail: /ws/console/logs/ is session-authenticated and scoped to the
person's current workspace; rows arrive after the log writer stored them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

from accounts.adapter import SESSION_WORKSPACE_KEY
from accounts.models import Role
from config.asgi import router
from gateway.live_feed import MAX_ROWS, messages_for
from gateway.logs import request_logs
from gateway.models import RequestLog
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
PATH = "/ws/console/logs/"


@pytest.fixture(autouse=True)
async def consumers_ended():
    """End what a test's consumers left running before its event loop closes.

    A consumer's channel-layer receive is a blocking Redis BRPOP; a cancellation
    that lands at the wrong moment of it is swallowed by redis-py (redis/redis-py
    #2028) and the receive loops on, so the loop's one cancel at teardown waited
    forever (twice in a PostgreSQL + Redis pass). Cancel again until they end."""
    yield
    for _ in range(10):
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
        if not left:
            return
        for task in left:
            task.cancel()
        await asyncio.wait(left, timeout=0.5)


def session_cookie(workspace, *, also=None, current=None) -> bytes:
    user = UserFactory()
    MembershipFactory(workspace=workspace, user=user, role=Role.MEMBER)
    if also is not None:
        MembershipFactory(workspace=also, user=user, role=Role.MEMBER)
    web = Client()
    web.force_login(user)
    if current is not None:
        session = web.session
        session[SESSION_WORKSPACE_KEY] = current.pk
        session.save()
    return f"{django_settings.SESSION_COOKIE_NAME}={web.cookies[django_settings.SESSION_COOKIE_NAME].value}".encode()


def communicator(cookie: bytes | None, query: str = "") -> WebsocketCommunicator:
    headers = [(b"cookie", cookie)] if cookie else []
    return WebsocketCommunicator(router, PATH + (f"?{query}" if query else ""), headers=headers)


def log_row(workspace, request_id: str) -> dict:
    return {
        "request_id": request_id,
        "created_at": datetime.now(UTC),
        "workspace_id": workspace.pk,
        "endpoint": "chat.completions",
        "model_used": "gpt-4o-mini",
        "provider": "openai",
        "status_code": 200,
        "charged_units": 42,
        "metadata": {"secret": "never-in-the-feed"},
    }


async def refused(comm: WebsocketCommunicator) -> int | None:
    connected, code = await comm.connect(timeout=5)
    assert not connected
    return code


async def test_anonymous_is_refused():
    assert await refused(communicator(None)) == 4401


async def test_another_workspace_is_refused(workspace, other_workspace):
    cookie = await sync_to_async(session_cookie)(workspace)
    assert await refused(communicator(cookie, f"workspace={other_workspace.pk}")) == 4403


async def test_a_workspace_that_is_not_the_current_one_is_refused(workspace, other_workspace):
    # A member of both, currently in the other one.
    cookie = await sync_to_async(session_cookie)(workspace, also=other_workspace, current=other_workspace)
    assert await refused(communicator(cookie, f"workspace={workspace.pk}")) == 4403


@pytest.fixture(params=["memory", "redis"])
def layer(request, settings):
    if request.param == "redis":
        if not django_settings.REDIS_URL:
            pytest.skip("needs REDIS_URL")
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [django_settings.REDIS_URL], "prefix": "junction-test-tail"},
            }
        }
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    yield request.param
    channel_layers.backends.clear()


async def test_rows_arrive_after_they_are_written_and_only_to_their_workspace(
    layer, workspace, other_workspace
):
    mine = communicator(await sync_to_async(session_cookie)(workspace))
    theirs = communicator(await sync_to_async(session_cookie)(other_workspace))
    assert (await mine.connect(timeout=5))[0] and (await theirs.connect(timeout=5))[0]
    assert (await mine.receive_json_from(timeout=5))["workspace"] == workspace.pk
    await theirs.receive_json_from(timeout=5)

    request_logs.submit(log_row(workspace, "req_tail_1"))
    message = await mine.receive_json_from(timeout=5)
    assert message["type"] == "rows" and [r["request_id"] for r in message["rows"]] == ["req_tail_1"]
    assert message["rows"][0]["charged_units"] == 42 and "metadata" not in message["rows"][0]
    # Published after the insert: the row is already in the database.
    assert await sync_to_async(RequestLog.objects.filter(request_id="req_tail_1").exists)()
    assert await theirs.receive_nothing(timeout=0.3)
    await mine.disconnect()
    await theirs.disconnect()
    await asyncio.to_thread(request_logs.flush)


def test_a_message_holds_the_newest_rows_of_one_workspace():
    rows = [{"workspace_id": 1, "request_id": f"r{i}", "created_at": None} for i in range(MAX_ROWS + 5)]
    rows.append({"workspace_id": None, "request_id": "no-workspace"})
    messages = messages_for(rows)
    assert list(messages) == ["console.logs.1"]
    ids = [r["request_id"] for r in messages["console.logs.1"]["rows"]]
    assert len(ids) == MAX_ROWS and ids[-1] == f"r{MAX_ROWS + 4}"
