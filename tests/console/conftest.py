"""Console fixtures: signed-in browsers (Django's test client) per role."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from accounts.models import Role, Workspace
from tests.factories import MembershipFactory, UserFactory

LoginAs = Callable[..., Client]


@pytest.fixture
def login_as(db) -> LoginAs:
    """``login_as(workspace, role)``: a client signed in as a new person with
    that role in that workspace."""

    def login(workspace: Workspace, role: str = Role.OWNER) -> Client:
        user = UserFactory()
        MembershipFactory(workspace=workspace, user=user, role=role)
        web = Client()
        web.force_login(user)
        return web

    return login


@pytest.fixture
def owner_web(workspace, login_as) -> Client:
    return login_as(workspace, Role.OWNER)


@pytest.fixture
def admin_web(workspace, login_as) -> Client:
    return login_as(workspace, Role.ADMIN)


@pytest.fixture
def member_web(workspace, login_as) -> Client:
    return login_as(workspace, Role.MEMBER)


@pytest.fixture
def anon_web() -> Client:
    return Client()
