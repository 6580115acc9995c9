"""The Anthropic and Gemini fakes (and the Anthropic SDK client) from tests/gateway."""

from tests.gateway.conftest import (  # noqa: F401
    claude,
    fake_anthropic,
    fake_anthropic_server,
    fake_gemini,
    fake_gemini_server,
)
