"""The provider fakes (and billing helpers) the images tests use."""

from tests.billing.conftest import unfunded_workspace  # noqa: F401
from tests.gateway.conftest import fake_gemini, fake_gemini_server  # noqa: F401
