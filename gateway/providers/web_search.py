"""A web search tool's options, read from whichever dialect asked for it, for
the provider modules that map them onto their own search.

The three shapes a ``WebSearchTool.options`` holds:

* Responses: ``{"search_context_size", "user_location": {"type": "approximate",
  "city", "region", "country", "timezone"}, "filters": {"allowed_domains"}}``;
* chat ``web_search_options``: the same, with ``user_location.approximate``
  holding the location fields;
* Messages: Anthropic's server tool whole under ``"anthropic"`` (``max_uses``,
  ``allowed_domains``, ``blocked_domains``, ``user_location``).

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.canonical import Dialect, Tool, WebSearchTool
from gateway.errors import unsupported_parameter

LOCATION_FIELDS = ("city", "region", "country", "timezone")


@dataclass(slots=True)
class SearchOptions:
    # option name as the caller spelled it -> its value, for refusals
    given: dict[str, Any] = field(default_factory=dict)
    search_context_size: str | None = None
    user_location: dict[str, str] | None = None  # city, region, country, timezone
    allowed_domains: list[str] | None = None
    blocked_domains: list[str] | None = None
    max_uses: int | None = None
    anthropic: dict[str, Any] | None = None  # the Messages caller's server tool, whole


def _location(raw: Any) -> dict[str, str] | None:
    if not isinstance(raw, dict):
        return None
    nested = raw.get("approximate")
    inner: dict[str, Any] = nested if isinstance(nested, dict) else raw
    found = {k: str(inner[k]) for k in LOCATION_FIELDS if inner.get(k) is not None}
    return found or None


def search_options(tool: WebSearchTool) -> SearchOptions:
    raw = tool.options
    anthropic = raw.get("anthropic")
    if isinstance(anthropic, dict):
        given = {k: v for k, v in anthropic.items() if k not in ("type", "name", "cache_control")}
        return SearchOptions(
            given=given,
            user_location=_location(anthropic.get("user_location")),
            allowed_domains=anthropic.get("allowed_domains"),
            blocked_domains=anthropic.get("blocked_domains"),
            max_uses=anthropic.get("max_uses"),
            anthropic=dict(anthropic),
        )
    found = raw.get("filters")
    filters: dict[str, Any] = found if isinstance(found, dict) else {}
    return SearchOptions(
        given={k: v for k, v in raw.items() if v is not None},
        search_context_size=raw.get("search_context_size"),
        user_location=_location(raw.get("user_location")),
        allowed_domains=filters.get("allowed_domains"),
    )


def refuse_options(
    options: SearchOptions, *, allowed: set[str], param: str, provider: str, detail: str
) -> None:
    """A 400 naming the first option the provider's search cannot honour."""
    for name in options.given:
        if name not in allowed:
            raise unsupported_parameter(f"{param}.{name}", provider, detail)


def tool_param(dialect: Dialect, index: int, tool: Tool) -> str:
    """Where the caller gave the tool: chat asks for search with ``web_search_options``."""
    if dialect is Dialect.CHAT and isinstance(tool, WebSearchTool):
        return "web_search_options"
    return f"tools[{index}]"
