"""Chat fixtures: people signed in to the live server (a session cookie and a
CSRF token, as a browser has them)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from accounts.models import Role, Workspace
from tests.billing.conftest import priced  # noqa: F401 (fixture)
from tests.console.conftest import anon_web, login_as  # noqa: F401 (fixtures)
from tests.factories import MembershipFactory, UserFactory


@dataclass
class Person:
    user: User
    workspace: Workspace
    http: httpx.Client
    session: str
    csrf: str

    def post(self, path: str, **kwargs) -> httpx.Response:
        return self.http.post(path, headers={"X-CSRFToken": self.csrf}, **kwargs)


def session_cookie(user: User) -> str:
    web = Client()
    web.force_login(user)
    return web.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture
def sign_in(junction) -> Iterator:
    """``sign_in(workspace, role)``: a new person of that workspace with an
    httpx client holding their session against the live server."""
    clients: list[httpx.Client] = []

    def make(workspace: Workspace, role: str = Role.OWNER) -> Person:
        user = UserFactory()
        MembershipFactory(workspace=workspace, user=user, role=role)
        session = session_cookie(user)
        http = httpx.Client(
            base_url=junction.url, timeout=20, cookies={settings.SESSION_COOKIE_NAME: session}
        )
        clients.append(http)
        page = http.get("/chat/")
        assert page.status_code == 200, page.text[:300]
        return Person(
            user=user, workspace=workspace, http=http, session=session, csrf=http.cookies["csrftoken"]
        )

    yield make
    for http in clients:
        http.close()
