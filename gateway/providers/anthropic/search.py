"""Anthropic's web search server tool (``web_search_20250305``), both ways.

Request: a canonical ``WebSearchTool`` becomes the server tool (a Messages
caller's own tool goes whole); a ``WebSearchCall`` that came from Anthropic
goes back as its ``server_tool_use`` + ``web_search_tool_result`` blocks (the
encrypted results only Anthropic can read); another provider's search is
history whose findings the assistant text already carries, and is not sent.

Answer: a ``server_tool_use`` block (the query) and its
``web_search_tool_result`` (the results, or an error) make one
``WebSearchCall``; a text block's ``web_search_result_location`` citations
become ``UrlCitation`` s spanning that block's text (Anthropic cites whole
blocks, not character ranges). The per-search count comes from
``usage.server_tool_use.web_search_requests``.
"""

from __future__ import annotations

from typing import Any

from gateway.canonical import UrlCitation, WebSearchCall, WebSearchTool
from gateway.providers.anthropic.wire import PROVIDER
from gateway.providers.web_search import refuse_options, search_options

TOOL_TYPE = "web_search_20250305"
TOOL_NAME = "web_search"


def web_search_tool(tool: WebSearchTool, param: str) -> dict[str, Any]:
    options = search_options(tool)
    if options.anthropic is not None:
        return dict(options.anthropic)  # a Messages caller's server tool, whole
    refuse_options(
        options,
        allowed={"user_location", "filters"},
        param=param,
        provider=PROVIDER,
        detail="Anthropic's web search takes a user location and allowed domains only.",
    )
    spec: dict[str, Any] = {"type": TOOL_TYPE, "name": TOOL_NAME}
    if options.allowed_domains:
        spec["allowed_domains"] = list(options.allowed_domains)
    if options.user_location is not None:
        spec["user_location"] = {"type": "approximate", **options.user_location}
    return spec


def replay_blocks(call: WebSearchCall) -> list[dict[str, Any]]:
    """The assistant blocks that carry an Anthropic search back; none for another provider's."""
    state = call.state if call.provider == PROVIDER and isinstance(call.state, dict) else None
    if state is None or not call.id:
        return []
    return [
        {"type": "server_tool_use", "id": call.id, "name": TOOL_NAME, "input": state.get("input") or {}},
        {"type": "web_search_tool_result", "tool_use_id": call.id, "content": state.get("content") or []},
    ]


def search_started(block: dict[str, Any]) -> WebSearchCall:
    """A ``server_tool_use`` block (its input may still be streaming)."""
    raw = block.get("input")
    tool_input: dict[str, Any] = raw if isinstance(raw, dict) else {}
    query = tool_input.get("query")
    return WebSearchCall(
        id=str(block.get("id") or ""),
        status="searching",
        query=str(query) if query else None,
        provider=PROVIDER,
        state={"input": tool_input},
    )


def search_finished(call: WebSearchCall, block: dict[str, Any]) -> WebSearchCall:
    """``call`` completed by its ``web_search_tool_result`` block."""
    content = block.get("content")
    state = call.state if isinstance(call.state, dict) else {}
    state["content"] = content
    call.state = state
    if isinstance(content, list):
        results = [r for r in content if isinstance(r, dict) and r.get("type") == "web_search_result"]
        call.sources = [str(r.get("url") or "") for r in results]
        call.titles = [str(r.get("title") or "") for r in results]
        call.status = "completed"
    else:  # ``web_search_tool_result_error``
        call.status = "failed"
    return call


def is_search_use(block: dict[str, Any]) -> bool:
    return block.get("type") == "server_tool_use" and block.get("name") == TOOL_NAME


def citation(raw: Any, start: int, end: int) -> UrlCitation | None:
    if not isinstance(raw, dict) or raw.get("type") != "web_search_result_location":
        return None
    return UrlCitation(
        url=str(raw.get("url") or ""), title=str(raw.get("title") or ""), start_index=start, end_index=end
    )


def block_citations(block: dict[str, Any]) -> list[UrlCitation] | None:
    """A text block's web citations, spanning the block's own text."""
    text = block.get("text") or ""
    found = [c for c in (citation(raw, 0, len(text)) for raw in block.get("citations") or []) if c]
    return found or None
