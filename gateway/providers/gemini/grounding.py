"""Gemini's hosted tools: Google Search grounding, and image output for the
``image_generation`` tool, both ways.

Image generation: on a Gemini image model (``gemini-2.5-flash-image``) the
tool asks for ``responseModalities: ["TEXT", "IMAGE"]`` (the tool's options
have no Gemini equivalent and are refused, naming them); each ``inlineData``
image part of the answer becomes an ``ImageGenerationCall``.

Search grounding, both ways.

Request: a canonical ``WebSearchTool`` becomes ``{"googleSearch": {}}`` (it
takes no options: any given is refused, naming it).

Answer: a candidate's ``groundingMetadata`` tells what was searched
(``webSearchQueries``), what was found (``groundingChunks[].web``: uri,
title) and which text rests on what (``groundingSupports``: a ``segment`` of
the text, in UTF-8 byte offsets, and the chunks it cites). Each query becomes
a ``WebSearchCall``; each support a ``UrlCitation`` per cited chunk, in
character offsets. Billing: Google bills Gemini 2.5 grounding per grounded
prompt, not per query, so a grounded answer counts one search
(``Usage.web_search_calls = 1``) whatever the number of queries.
"""

from __future__ import annotations

import hashlib
from typing import Any

from gateway.canonical import (
    CanonicalRequest,
    ImageGenerationCall,
    ImageGenerationTool,
    UrlCitation,
    WebSearchCall,
    WebSearchTool,
)
from gateway.errors import unsupported_parameter
from gateway.providers.web_search import refuse_options, search_options

PROVIDER = "gemini"


def search_tool(tool: WebSearchTool, param: str) -> dict[str, Any]:
    refuse_options(
        search_options(tool),
        allowed=set(),
        param=param,
        provider=PROVIDER,
        detail="Gemini's Google Search grounding takes no options.",
    )
    return {"googleSearch": {}}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def is_grounded(meta: Any) -> bool:
    meta = _dict(meta)
    return bool(meta.get("webSearchQueries") or meta.get("groundingChunks"))


def searches(response_id: str, meta: Any) -> list[WebSearchCall]:
    """One completed search per query (one without a query when only chunks are given)."""
    meta = _dict(meta)
    sources, titles = [], []
    for chunk in meta.get("groundingChunks") or []:
        web = _dict(_dict(chunk).get("web"))
        if web.get("uri"):
            sources.append(str(web["uri"]))
            titles.append(str(web.get("title") or ""))
    queries = [str(q) for q in meta.get("webSearchQueries") or [] if q] or [""]
    calls = []
    for i, query in enumerate(queries):
        seed = f"{response_id}:search:{i}".encode()
        calls.append(
            WebSearchCall(
                id="ws_" + hashlib.sha256(seed).hexdigest()[:32],
                query=query or None,
                sources=list(sources) if i == 0 else [],
                titles=list(titles) if i == 0 else [],
                provider=PROVIDER,
            )
        )
    return calls


def _char_index(text: str, byte_offset: int) -> int:
    return len(text.encode("utf-8")[: max(byte_offset, 0)].decode("utf-8", errors="ignore"))


def citations(meta: Any, text: str) -> list[UrlCitation]:
    """The supports' citations, in character offsets into ``text`` (the
    answer's text the segments' byte offsets count in)."""
    meta = _dict(meta)
    chunks = [_dict(_dict(c).get("web")) for c in meta.get("groundingChunks") or []]
    found: list[UrlCitation] = []
    for support in meta.get("groundingSupports") or []:
        segment = _dict(_dict(support).get("segment"))
        start = _char_index(text, int(segment.get("startIndex") or 0))
        end = _char_index(text, int(segment.get("endIndex") or 0))
        for index in _dict(support).get("groundingChunkIndices") or []:
            if isinstance(index, int) and 0 <= index < len(chunks) and chunks[index].get("uri"):
                web = chunks[index]
                found.append(UrlCitation(str(web["uri"]), str(web.get("title") or ""), start, end))
    return found


# ------------------------------------------------------------ image output


def refuse_image_options(tool: ImageGenerationTool, param: str) -> None:
    for name in tool.options:
        raise unsupported_parameter(
            f"{param}.{name}", PROVIDER, "Gemini's image output takes no image_generation options."
        )


def image_modalities(req: CanonicalRequest) -> list[str]:
    return ["TEXT", "IMAGE"]


def is_image(part: dict[str, Any]) -> bool:
    inline = _dict(part.get("inlineData"))
    return str(inline.get("mimeType") or "").startswith("image/") and bool(inline.get("data"))


def image_call(response_id: str, index: int, part: dict[str, Any]) -> ImageGenerationCall:
    """An ``inlineData`` image part as a finished image generation."""
    inline = _dict(part.get("inlineData"))
    mime = str(inline.get("mimeType"))
    seed = f"{response_id}:image:{index}".encode()
    return ImageGenerationCall(
        id="ig_" + hashlib.sha256(seed).hexdigest()[:32],
        result=str(inline.get("data")),
        mime=mime,
        output_format=mime.removeprefix("image/"),
    )


_BASE64_MAGIC = {
    "iVBORw0KGgo": "image/png",
    "/9j/": "image/jpeg",
    "UklGR": "image/webp",
    "R0lGOD": "image/gif",
}


def base64_image_type(call: ImageGenerationCall) -> str:
    """The image's type read from its base64 (a Responses input item says none)."""
    for prefix, mime in _BASE64_MAGIC.items():
        if (call.result or "").startswith(prefix):
            return mime
    return call.mime
