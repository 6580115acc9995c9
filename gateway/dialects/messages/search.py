"""Hosted web search in the Messages shape, for an answer translated from
another provider (an Anthropic upstream is relayed as it came).

A ``WebSearchCall`` is a ``server_tool_use`` block (``name: web_search``, its
query as input) and a ``web_search_tool_result`` block listing the results.
Citations become ``web_search_result_location`` citations on text blocks: as
Anthropic cites whole blocks, text is split at the citations' boundaries.
Anthropic's ``encrypted_content`` / ``encrypted_index`` are opaque state only
Anthropic can produce: they are empty strings here (a later turn sent to
Anthropic drops these blocks; ``gateway.providers.anthropic.search``).
"""

from __future__ import annotations

import itertools
from typing import Any

from gateway.canonical import TextPart, UrlCitation, WebSearchCall


def tool_use_id(call_id: str | None) -> str:
    return call_id if call_id and call_id.startswith("srvtoolu_") else f"srvtoolu_{call_id or ''}"


def server_tool_use(call_id: str | None, query: str | None) -> dict[str, Any]:
    return {
        "type": "server_tool_use",
        "id": tool_use_id(call_id),
        "name": "web_search",
        "input": {"query": query} if query else {},
    }


def tool_result(call_id: str | None, sources: list[str], titles: list[str] | None = None) -> dict[str, Any]:
    titles = titles or []
    results = [
        {
            "type": "web_search_result",
            "url": url,
            "title": titles[i] if i < len(titles) else "",
            "encrypted_content": "",
            "page_age": None,
        }
        for i, url in enumerate(sources)
    ]
    return {"type": "web_search_tool_result", "tool_use_id": tool_use_id(call_id), "content": results}


def search_blocks(call: WebSearchCall) -> list[dict[str, Any]]:
    if call.provider == "anthropic" and isinstance(call.state, dict) and call.id:
        state = call.state  # Anthropic's own blocks, as they came
        return [
            {
                "type": "server_tool_use",
                "id": call.id,
                "name": "web_search",
                "input": state.get("input") or {},
            },
            {"type": "web_search_tool_result", "tool_use_id": call.id, "content": state.get("content") or []},
        ]
    return [server_tool_use(call.id, call.query), tool_result(call.id, call.sources, call.titles)]


def location(citation: UrlCitation, cited_text: str) -> dict[str, Any]:
    return {
        "type": "web_search_result_location",
        "url": citation.url,
        "title": citation.title,
        "cited_text": cited_text,
        "encrypted_index": "",
    }


def text_blocks(part: TextPart) -> list[dict[str, Any]]:
    """The part as text blocks: one block per span with the same citations."""
    cites = [c for c in part.citations or [] if 0 <= c.start_index < c.end_index <= len(part.text)]
    if not cites:
        return [{"type": "text", "text": part.text}]
    cuts = sorted({0, len(part.text), *(c.start_index for c in cites), *(c.end_index for c in cites)})
    blocks = []
    for start, end in itertools.pairwise(cuts):
        span = part.text[start:end]
        covering = [c for c in cites if c.start_index <= start and end <= c.end_index]
        block: dict[str, Any] = {"type": "text", "text": span}
        if covering:
            block["citations"] = [location(c, span) for c in covering]
        blocks.append(block)
    return blocks
