"""Which images API parameters each upstream model takes, and the prices.

One table, by model family (``family_of``): a parameter the routed model does
not take is a 400 naming it (``check``), never dropped. ``prompt``, ``model``,
``response_format`` (Junction stores every image and answers ``url`` or
``b64_json`` itself) and ``user`` / ``safety_identifier`` (on the log row;
forwarded where the upstream takes it) are taken by every model.

Sizes and qualities are checked against the catalog's ``image_prices`` table
of the model (when it has one), so every image Junction makes has a price.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from gateway.canonical_images import ImageRequest
from gateway.errors import invalid_request, unsupported_parameter

ALWAYS = frozenset({"prompt", "model", "response_format", "user", "safety_identifier"})


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    operations: frozenset[str]
    params: frozenset[str]  # besides ALWAYS
    max_n: int
    # Values that ask for nothing the upstream must do: accepted even where
    # the parameter is not (``quality="auto"`` on Gemini).
    harmless: tuple[tuple[str, str], ...] = ()
    auto_size: bool = True


GPT_IMAGE = Family(
    "gpt-image",
    frozenset({"generations", "edits"}),
    frozenset(
        {
            "n",
            "size",
            "quality",
            "background",
            "output_format",
            "output_compression",
            "moderation",
            "partial_images",
            "stream",
            "input_fidelity",
            "image",
            "mask",
        }
    ),
    max_n=10,
)
DALL_E_3 = Family(
    "dall-e-3",
    frozenset({"generations"}),
    frozenset({"n", "size", "quality", "style"}),
    max_n=1,
    auto_size=False,
)
GEMINI = Family(
    "gemini",
    frozenset({"generations", "edits"}),
    frozenset({"size", "image"}),
    max_n=1,
    harmless=(("quality", "auto"), ("background", "auto"), ("output_format", "png"), ("n", "1")),
)
COMPATIBLE = Family(
    "openai-compatible",
    frozenset({"generations"}),
    frozenset({"n", "size", "quality", "style"}),
    max_n=10,
)

# Gemini image models take an aspect ratio, not pixels.
GEMINI_RATIOS = frozenset({"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"})


def family_of(provider_kind: str, upstream_model: str) -> Family:
    if provider_kind == "gemini":
        return GEMINI
    if provider_kind == "openai":
        return DALL_E_3 if upstream_model.startswith("dall-e") else GPT_IMAGE
    return COMPATIBLE


def _given_value(req: ImageRequest, name: str) -> str:
    if name in ("image", "mask"):
        return ""
    return str(getattr(req, name, ""))


def check(
    req: ImageRequest,
    *,
    provider_kind: str,
    provider: str,
    upstream_model: str,
    model_id: str,
    price_rows: tuple[tuple[str, str, Decimal], ...],
) -> Family:
    """Refuse what the routed model cannot do (400 naming the parameter)."""
    family = family_of(provider_kind, upstream_model)
    if req.operation not in family.operations:
        raise invalid_request(
            f"The model '{model_id}' cannot edit images; use it on /v1/images/generations.",
            param="model",
            code="model_not_supported",
        )
    given = set(req.given)
    if req.images:
        given.add("image")
    for name in sorted(given - ALWAYS - family.params):
        if (name, _given_value(req, name)) in family.harmless:
            continue
        raise unsupported_parameter(name, provider, f"The model '{model_id}' does not take it.")
    if req.n > family.max_n:
        raise unsupported_parameter(
            "n", provider, f"The model '{model_id}' makes at most {family.max_n} image(s) per call."
        )
    _check_table(req, family, model_id, price_rows)
    if family is GEMINI and req.size not in (None, "auto"):
        gemini_aspect_ratio(req.size)
    return family


def _check_table(
    req: ImageRequest, family: Family, model_id: str, rows: tuple[tuple[str, str, Decimal], ...]
) -> None:
    if not rows:
        return
    sizes = sorted({size for _, size, _ in rows if size != "auto"})
    qualities = sorted({quality for quality, _, _ in rows if quality != "auto"})
    if req.size is not None and req.size not in sizes and not (req.size == "auto" and family.auto_size):
        allowed = ", ".join(f"'{s}'" for s in sizes + (["auto"] if family.auto_size else []))
        raise invalid_request(
            f"Invalid value for 'size': '{req.size}' is not a size of '{model_id}'. Supported values are: {allowed}.",
            param="size",
            code="invalid_value",
        )
    if req.quality not in (None, "auto") and qualities and req.quality not in qualities:
        allowed = ", ".join(f"'{q}'" for q in [*qualities, "auto"])
        raise invalid_request(
            f"Invalid value for 'quality': '{req.quality}' is not a quality of '{model_id}'. "
            f"Supported values are: {allowed}.",
            param="quality",
            code="invalid_value",
        )


def gemini_aspect_ratio(size: str) -> str:
    """``1536x1024`` -> ``3:2``; a size with no Gemini aspect ratio is a 400."""
    try:
        width, height = (int(x) for x in size.lower().split("x"))
    except ValueError:
        raise invalid_request(
            f"Invalid value for 'size': '{size}'. Expected WIDTHxHEIGHT.", param="size", code="invalid_value"
        ) from None
    divisor = math.gcd(width, height) or 1
    ratio = f"{width // divisor}:{height // divisor}"
    if ratio not in GEMINI_RATIOS:
        raise invalid_request(
            f"Invalid value for 'size': '{size}' ({ratio}) is not an aspect ratio Gemini makes "
            f"({', '.join(sorted(GEMINI_RATIOS))}).",
            param="size",
            code="invalid_value",
        )
    return ratio


# ------------------------------------------------------------------ prices


def image_price(
    rows: tuple[tuple[str, str, Decimal], ...],
    *,
    quality: str | None,
    size: str | None,
    fallback: Decimal,
) -> Decimal:
    """The price of one image: the row for this quality and size. A quality or
    size left to the model (``auto`` or unset, and not named by the answer)
    is the table's ``auto`` entry when it has one, else its dearest (what a
    reservation holds). No table: the model's flat per-image price."""
    if not rows:
        return fallback
    matching = [price for q, s, price in rows if _matches(q, quality, rows, 0) and _matches(s, size, rows, 1)]
    return max(matching) if matching else max(price for _, _, price in rows)


def _matches(value: str, wanted: str | None, rows: tuple[tuple[str, str, Decimal], ...], column: int) -> bool:
    if wanted is not None and wanted != "auto":
        return value == wanted
    has_auto = any(row[column] == "auto" for row in rows)
    return value == "auto" if has_auto else True
