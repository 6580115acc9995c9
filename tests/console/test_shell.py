"""The console shell: landing, login gate, workspace switching, static files."""

from __future__ import annotations

import urllib.request

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from accounts.models import Role
from billing.services import credits_grant
from console.nav import NAV, nav_links
from console.permissions import SESSION_WORKSPACE_KEY
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_landing_shows_quickstart_to_visitors(anon_web):
    page = anon_web.get("/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "/accounts/signup/" in body and "/accounts/login/" in body
    assert 'base_url="http://testserver/v1"' in body


def test_landing_sends_signed_in_people_to_console(owner_web):
    assert owner_web.get("/").headers["Location"] == "/console/"


def test_console_sends_visitors_to_login(anon_web):
    response = anon_web.get("/console/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/login/?next=/console/"


def test_overview_shows_balance(workspace, owner_web):
    page = owner_web.get("/console/").content.decode()
    assert "$100.00" in page  # the test workspace's funds
    assert 'aria-current="page">Overview<' in page


def test_nav_hides_manager_pages_from_members(settings):
    manager = {link.label for link in nav_links(path="/console/", is_manager=True)}
    member = {link.label for link in nav_links(path="/console/", is_manager=False)}
    registered = {item.label for item in NAV if _registered(item.url_name)}
    assert manager == registered
    assert member == {item.label for item in NAV if not item.manager_only} & registered


def _registered(url_name: str) -> bool:
    try:
        reverse(url_name)
    except NoReverseMatch:
        return False
    return True


def test_person_without_workspace_sees_why(db):
    web = Client()
    web.force_login(UserFactory())
    response = web.get("/console/")
    assert response.headers["Location"] == "/console/no-workspace/"
    assert "not in a workspace" in web.get("/console/no-workspace/").content.decode()


def test_switch_workspace_only_to_own(workspace, owner_web):
    user = owner_web.session["_auth_user_id"]
    second = WorkspaceFactory(name="Second One")
    MembershipFactory(workspace=second, user_id=user, role=Role.MEMBER)
    credits_grant(workspace_id=second.pk, units=70_000, reason="t")
    stranger = WorkspaceFactory(name="Not Mine")

    page = owner_web.get("/console/").content.decode()
    assert "Second One" in page and "Not Mine" not in page

    response = owner_web.post("/console/switch/", {"workspace": second.pk, "next": "/console/"})
    assert response.headers["Location"] == "/console/"
    assert owner_web.session[SESSION_WORKSPACE_KEY] == second.pk
    assert "$7.00" in owner_web.get("/console/").content.decode()

    owner_web.post("/console/switch/", {"workspace": stranger.pk})
    assert owner_web.session[SESSION_WORKSPACE_KEY] == second.pk


def test_switch_refuses_offsite_next(owner_web, workspace):
    response = owner_web.post(
        "/console/switch/", {"workspace": workspace.pk, "next": "https://evil.example/"}
    )
    assert response.headers["Location"] == "/console/"


def test_switch_needs_csrf(workspace, login_as):
    web = login_as(workspace)
    web.handler.enforce_csrf_checks = True
    assert web.post("/console/switch/", {"workspace": workspace.pk}).status_code == 403


@pytest.mark.parametrize("path", ["/static/console/console.css", "/static/admin/css/base.css"])
def test_static_files_are_served(anon_web, path):
    response = anon_web.get(path)
    assert response.status_code == 200
    assert b"".join(response.streaming_content)


@pytest.mark.parametrize("path", ["/static/console/console.css", "/static/admin/css/base.css"])
def test_static_files_under_asgi(junction, path):
    """The production shape: the ASGI app (uvicorn) serves the assets itself."""
    with urllib.request.urlopen(f"{junction.url}{path}", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/css")
        assert len(response.read()) > 1000
