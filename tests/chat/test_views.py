"""The chat app's pages and API: a person sees only their own conversations
(another member of the same workspace and anyone of another workspace get
404), anonymous visitors sign in first, and the pages carry what a phone
needs to add the app to its home screen."""

from __future__ import annotations

import pytest

from accounts.models import ApiKey, KeyKind, Role
from accounts.services import chat_key_for_member, membership_remove
from chat.models import Conversation, Message, MessageRole
from chat.services import conversation_create
from tests.factories import MembershipFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mine(workspace, login_as):
    web = login_as(workspace, Role.MEMBER)
    user = web.session["_auth_user_id"]
    conversation = conversation_create(workspace_id=workspace.pk, user_id=int(user), model="gpt-4o-mini")
    Message.objects.create(conversation=conversation, role=MessageRole.USER, content="SENTINEL-SECRET-TEXT")
    conversation.title = "SENTINEL-TITLE"
    conversation.save()
    return web, conversation


def test_anonymous_visitors_are_sent_to_log_in(anon_web):
    resp = anon_web.get("/chat/")
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]
    assert anon_web.get("/chat/api/conversations/").status_code == 302


def test_the_owner_of_a_conversation_sees_it(mine):
    web, conversation = mine
    page = web.get(f"/chat/c/{conversation.pk}/")
    assert page.status_code == 200
    assert b"SENTINEL-TITLE" in page.content and b"SENTINEL-SECRET-TEXT" in page.content
    listing = web.get("/chat/api/conversations/").json()["data"]
    assert [c["id"] for c in listing] == [conversation.pk]


@pytest.mark.parametrize("who", ["same-workspace member", "same-workspace owner", "other workspace"])
def test_nobody_else_sees_a_conversation(mine, workspace, login_as, who):
    _, conversation = mine
    if who == "other workspace":
        other = WorkspaceFactory(slug="elsewhere")
        web = login_as(other, Role.OWNER)
    else:
        web = login_as(workspace, Role.OWNER if "owner" in who else Role.MEMBER)
    url = f"/chat/api/conversations/{conversation.pk}/"
    for resp in (
        web.get(f"/chat/c/{conversation.pk}/"),
        web.get(url),
        web.post(url, {"title": "stolen"}, content_type="application/json"),
        web.delete(url),
        web.post(f"{url}reply/", {"content": "hi", "model": "gpt-4o-mini"}, content_type="application/json"),
    ):
        assert resp.status_code == 404, resp.content[:200]
        assert b"SENTINEL" not in resp.content
    listing = web.get("/chat/api/conversations/?q=SENTINEL").json()["data"]
    assert listing == []
    conversation.refresh_from_db()
    assert conversation.title == "SENTINEL-TITLE"
    assert Conversation.objects.filter(pk=conversation.pk).exists()


def test_rename_search_and_delete(mine):
    web, conversation = mine
    url = f"/chat/api/conversations/{conversation.pk}/"
    resp = web.post(url, {"title": "  Trip   to Lisbon "}, content_type="application/json")
    assert resp.status_code == 200 and resp.json()["conversation"]["title"] == "Trip to Lisbon"
    assert web.post(url, {"title": "   "}, content_type="application/json").status_code == 400
    assert [c["title"] for c in web.get("/chat/api/conversations/?q=lisbon").json()["data"]] == [
        "Trip to Lisbon"
    ]
    assert web.get("/chat/api/conversations/?q=paris").json()["data"] == []
    assert web.delete(url).status_code == 200
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()


def test_the_page_can_be_added_to_a_home_screen(mine):
    web, _ = mine
    page = web.get("/chat/").content.decode()
    assert '<link rel="manifest" href="/chat/manifest.webmanifest">' in page
    assert '<meta name="theme-color" content="#4338ca">' in page
    manifest = web.get("/chat/manifest.webmanifest")
    assert manifest["Content-Type"] == "application/manifest+json"
    data = manifest.json()
    assert data["display"] == "standalone" and data["start_url"] == "/chat/"
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in data["icons"]}


def test_chat_keys_are_per_member_hidden_and_go_with_the_membership(workspace, login_as):
    owner_web = login_as(workspace, Role.OWNER)
    member = MembershipFactory(workspace=workspace, role=Role.MEMBER)
    key = chat_key_for_member(membership=member)
    assert key.kind == KeyKind.CHAT and chat_key_for_member(membership=member).pk == key.pk
    # never listed with the workspace's API keys, in the console or the API
    assert key.prefix not in owner_web.get("/console/api-keys/").content.decode()
    actor = MembershipFactory(workspace=workspace, role=Role.OWNER)
    membership_remove(membership=member, actor=actor)
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
