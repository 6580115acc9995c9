"""Hosted tools (web search, image generation) against the catalog: a model
offers a hosted tool only when its catalog capabilities name it.

``web_search`` enables the web search tool; ``image_generation_tool`` the
Responses ``image_generation`` tool. (``image_generation`` alone marks the
models of the images API, ``/v1/images/*``: a chat model that can call the
image tool is not an images-API model, so the two flags differ.)
A model named exactly that lacks the flag is a 400 ``unsupported_tool``
naming the model and the tool; for ``auto`` routing the router keeps only
models that have it (``routing_rules.router.features``).
"""

from __future__ import annotations

from files.inputs import requested_model
from gateway.canonical import ImageGenerationTool, Tool, WebSearchTool
from gateway.catalog.snapshot import Catalog
from gateway.context import CallContext
from gateway.errors import unsupported_tool
from gateway.providers.web_search import tool_param

WEB_SEARCH = "web_search"
IMAGE_TOOL = "image_generation_tool"


def capability_of(tool: Tool) -> str | None:
    """The catalog capability a hosted tool needs (None for a function tool)."""
    if isinstance(tool, WebSearchTool):
        return WEB_SEARCH
    if isinstance(tool, ImageGenerationTool):
        return IMAGE_TOOL
    return None


def check_tools(ctx: CallContext, catalog: Catalog) -> None:
    """A 400 ``unsupported_tool`` when the named model does not offer a hosted tool asked for."""
    req = ctx.request
    assert req is not None
    hosted = [(i, t, cap) for i, t in enumerate(req.tools) if (cap := capability_of(t)) is not None]
    model = requested_model(req.model, catalog) if hosted else None
    if model is None:
        return
    for index, tool, capability in hosted:
        if capability not in model.capabilities:
            name = "web_search" if capability == WEB_SEARCH else "image_generation"
            raise unsupported_tool(
                tool_param(req.dialect, index, tool),
                f"Model '{model.model_id}' does not offer the '{name}' tool (its catalog entry lacks the "
                f"'{capability}' capability); remove the tool or choose another model.",
            )
