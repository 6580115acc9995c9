"""OpenAI's images API requests (``/v1/images/generations`` JSON and
``/v1/images/edits`` multipart) decoded into one typed ``ImageRequest``.

Only the shape and each value's type and range are checked here; whether a
model takes a parameter is ``gateway.dialects.images.params``' question,
asked once the model is routed."""

from __future__ import annotations

from typing import Any

from gateway.canonical_images import ImageRequest, InputImage
from gateway.dialects import validate as v
from gateway.errors import invalid_request

PROMPT_MAX = 32_000
N_MAX = 10

GENERATION_FIELDS = frozenset(
    {
        "prompt",
        "model",
        "n",
        "size",
        "quality",
        "response_format",
        "background",
        "output_format",
        "output_compression",
        "moderation",
        "partial_images",
        "stream",
        "style",
        "user",
        "safety_identifier",
    }
)
EDIT_FIELDS = (GENERATION_FIELDS - {"style", "moderation"}) | {"input_fidelity"}
EDIT_FILE_FIELDS = frozenset({"image", "image[]", "mask"})
# Accepted by the SDK but served by no upstream Junction reaches: refused by name.
NOT_SERVED = frozenset({"svg", "markup", "complexity", "frame_count", "frame_duration_ms"})

CHOICES: dict[str, tuple[str, ...]] = {
    "response_format": ("url", "b64_json"),
    "background": ("transparent", "opaque", "auto"),
    "output_format": ("png", "jpeg", "webp"),
    "moderation": ("low", "auto"),
    "style": ("vivid", "natural"),
    "input_fidelity": ("high", "low"),
    "quality": ("low", "medium", "high", "auto", "standard", "hd"),
}


def _choice(body: dict[str, Any], name: str) -> str | None:
    value = v.opt_str(body, name)
    if value is not None and value not in CHOICES[name]:
        allowed = ", ".join(f"'{c}'" for c in CHOICES[name])
        raise invalid_request(
            f"Invalid value for '{name}': '{value}'. Supported values are: {allowed}.",
            param=name,
            code="invalid_value",
        )
    return value


def _bounded_int(body: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = v.opt_int(body, name)
    if value is not None and not low <= value <= high:
        raise invalid_request(
            f"Invalid value for '{name}': {value}. Expected an integer from {low} to {high}.",
            param=name,
            code="invalid_value",
        )
    return value


def decode(
    body: dict[str, Any],
    *,
    operation: str,
    images: list[InputImage] | None = None,
    mask: InputImage | None = None,
) -> ImageRequest:
    """``body`` is the JSON object (generations) or the form's text fields
    already typed by ``form_fields`` (edits)."""
    v.check_tree(body)
    allowed = GENERATION_FIELDS if operation == "generations" else EDIT_FIELDS
    for name in body:
        if name in NOT_SERVED:
            raise invalid_request(
                f"Parameter '{name}' is not supported by Junction.", param=name, code="unsupported_parameter"
            )
        if name not in allowed:
            raise invalid_request(f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
    prompt = v.require(body, "prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid_request("Invalid 'prompt': expected a non-empty string.", param="prompt")
    if len(prompt) > PROMPT_MAX:
        raise invalid_request(
            f"Invalid 'prompt': {len(prompt)} characters, the maximum is {PROMPT_MAX}.",
            param="prompt",
            code="string_above_max_length",
        )
    model = v.opt_str(body, "model")
    if not model:
        raise invalid_request(
            "Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
        )
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise invalid_request(
            "Invalid type for 'stream': expected a boolean.", param="stream", code="invalid_type"
        )
    size = v.opt_str(body, "size")
    if operation == "edits" and not images:
        raise invalid_request(
            "Missing required parameter: 'image'.", param="image", code="missing_required_parameter"
        )
    return ImageRequest(
        operation=operation,
        model=model,
        prompt=prompt,
        n=_bounded_int(body, "n", 1, N_MAX) or 1,
        size=size,
        quality=_choice(body, "quality"),
        response_format=_choice(body, "response_format") or "url",
        background=_choice(body, "background"),
        output_format=_choice(body, "output_format"),
        output_compression=_bounded_int(body, "output_compression", 0, 100),
        moderation=_choice(body, "moderation") if "moderation" in allowed else None,
        partial_images=_bounded_int(body, "partial_images", 0, 3),
        stream=bool(stream),
        style=_choice(body, "style") if "style" in allowed else None,
        input_fidelity=_choice(body, "input_fidelity") if "input_fidelity" in allowed else None,
        user=v.opt_str(body, "safety_identifier") or v.opt_str(body, "user"),
        images=list(images or ()),
        mask=mask,
        given=frozenset(k for k, val in body.items() if val is not None)
        | ({"mask"} if mask is not None else frozenset()),
    )


INT_FIELDS = frozenset({"n", "output_compression", "partial_images"})


def form_fields(fields: dict[str, str]) -> dict[str, Any]:
    """A multipart form's text fields, typed as the JSON body would have them
    (the SDK sends ``n=2`` and ``stream=true`` as text)."""
    out: dict[str, Any] = {}
    for name, raw in fields.items():
        if name in INT_FIELDS:
            try:
                out[name] = int(raw)
            except ValueError:
                raise invalid_request(
                    f"Invalid type for '{name}': expected an integer.", param=name, code="invalid_type"
                ) from None
        elif name == "stream":
            if raw.lower() not in ("true", "false"):
                raise invalid_request(
                    "Invalid type for 'stream': expected a boolean.", param="stream", code="invalid_type"
                )
            out[name] = raw.lower() == "true"
        else:
            out[name] = raw
    return out
