"""Type checks shared by the dialect decoders. Each failure is a 400 whose
``param`` names the offending field, as the OpenAI API does.

A decoder first bounds the body (``check_tree``: nesting depth, NUL
characters in the fields Junction stores), then converts it to its dialect's
schema (msgspec Structs, ``convert``): every field the decoder reads has its
type checked before use, so no body can make a decoder fail with anything but
a 400."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from gateway.errors import GatewayError, invalid_request

# Deeper than any real request (a JSON schema for tools rarely passes 10); the
# firewall, the token estimate and the upstream encoders walk bodies recursively.
MAX_DEPTH = 64
# Fields written to the request log (PostgreSQL text refuses NUL characters).
STORED_FIELDS = ("model", "user", "router_mode")

T = TypeVar("T")

_MISSING_FIELD = re.compile(r"Object missing required field `([^`]*)`")
_INDEX = re.compile(r"\[(\d+)\]")


def check_tree(body: dict[str, Any], *, dotted: bool = False) -> None:
    """Refuse a body nested deeper than ``MAX_DEPTH``, and NUL characters in
    the fields Junction stores (``STORED_FIELDS``, ``metadata`` keys and
    values). Iterative: one pass over the containers, never recursion."""
    for name in STORED_FIELDS:
        value = body.get(name)
        if isinstance(value, str) and "\x00" in value:
            raise _nul(name)
    meta = body.get("metadata")
    if isinstance(meta, dict):
        for key, value in meta.items():
            if "\x00" in key or (isinstance(value, str) and "\x00" in value):
                raise _nul("metadata" if "\x00" in key else f"metadata.{key}")
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(body, 1, ())]
    while stack:
        node, depth, path = stack.pop()
        children = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in children:
            if isinstance(value, dict | list) and value:
                if depth >= MAX_DEPTH:
                    raise invalid_request(
                        f"The request body is nested more than {MAX_DEPTH} levels deep.",
                        param=_param((*path, key), dotted),
                        code="invalid_value",
                    )
                stack.append((value, depth + 1, (*path, key)))


def _nul(param: str) -> GatewayError:
    return invalid_request(
        f"Invalid '{param}': NUL characters (\\u0000) are not allowed.", param=param, code="invalid_value"
    )


def _param(path: tuple[str | int, ...], dotted: bool) -> str:
    out = ""
    for part in path:
        if isinstance(part, int) and not dotted:
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def convert(value: Any, schema: type[T], *, param: str = "", dotted: bool = False) -> T:
    """``value`` as ``schema`` (msgspec types); a mismatch is a 400 naming the
    field (``param`` is the path of ``value`` in the body)."""
    try:
        return msgspec.convert(value, schema, strict=True)
    except msgspec.ValidationError as exc:
        raise schema_error(str(exc), param, dotted) from None


def schema_error(text: str, prefix: str, dotted: bool) -> GatewayError:
    detail, _, at = text.partition(" - at `")
    path = at.rstrip("`").removeprefix("$").replace("[...]", "")
    missing = _MISSING_FIELD.fullmatch(detail)
    if missing:
        path = f"{path}.{missing.group(1)}"
    elif detail.startswith("Invalid value") and path.endswith(".type"):
        path = path.removesuffix(".type")  # an unknown part or block type: the part is named
    if dotted:
        path = _INDEX.sub(r".\1", path)
    param = f"{prefix}{path}".lstrip(".") or None
    if missing:
        return invalid_request(
            f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
        )
    where = f" at '{param}'" if param else ""
    return invalid_request(f"Invalid request: {detail}{where}.", param=param, code="invalid_type")


def require(body: dict[str, Any], name: str) -> Any:
    if name not in body or body[name] is None:
        raise invalid_request(
            f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter"
        )
    return body[name]


def opt_str(body: dict[str, Any], name: str, param: str | None = None) -> str | None:
    value = body.get(name)
    if value is None or isinstance(value, str):
        return value
    raise invalid_request(
        f"Invalid type for '{param or name}': expected a string.", param=param or name, code="invalid_type"
    )


def opt_int(
    body: dict[str, Any], name: str, *, minimum: int | None = None, param: str | None = None
) -> int | None:
    value = body.get(name)
    p = param or name
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_request(f"Invalid type for '{p}': expected an integer.", param=p, code="invalid_type")
    if minimum is not None and value < minimum:
        raise invalid_request(
            f"Invalid value for '{p}': must be at least {minimum}.", param=p, code="invalid_value"
        )
    return value
