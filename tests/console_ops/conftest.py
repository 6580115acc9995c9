"""The console-ops pages reuse the console's signed-in clients (tests/console/conftest.py)."""

from tests.console.conftest import admin_web, anon_web, login_as, member_web, owner_web  # noqa: F401
