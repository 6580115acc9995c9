"""Token log probabilities on OpenAI's two wires, both ways.

Chat Completions (``choices[].logprobs.content``) and the Responses API
(``output_text.logprobs``, the ``response.output_text.delta`` / ``done``
events) spell a token the same way: ``{"token", "logprob", "bytes",
"top_logprobs": [{"token", "logprob", "bytes"}]}``; only the Responses stream
events leave out ``bytes``. The canonical form is ``TokenLogprob``.
"""

from __future__ import annotations

from typing import Any

from gateway.canonical import TokenLogprob


def _one(raw: Any) -> TokenLogprob | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("token"), str):
        return None
    value = raw.get("logprob")
    raw_bytes = raw.get("bytes")
    return TokenLogprob(
        token=raw["token"],
        logprob=float(value) if isinstance(value, int | float) else 0.0,
        bytes=list(raw_bytes) if isinstance(raw_bytes, list) else None,
        top=[t for t in map(_one, raw.get("top_logprobs") or []) if t is not None],
    )


def from_wire(raw: Any) -> list[TokenLogprob] | None:
    """A wire list of token entries -> canonical; None when there is no list."""
    if not isinstance(raw, list):
        return None
    return [t for t in map(_one, raw) if t is not None]


def from_chat_choice(choice: dict[str, Any]) -> list[TokenLogprob] | None:
    """A chat choice's (or stream chunk choice's) ``logprobs.content``."""
    logprobs = choice.get("logprobs")
    return from_wire(logprobs.get("content")) if isinstance(logprobs, dict) else None


def to_wire(
    tokens: list[TokenLogprob], *, with_bytes: bool = True, utf8_fallback: bool = True
) -> list[dict[str, Any]]:
    """Canonical -> a wire list. ``bytes`` the upstream did not send are the
    token's UTF-8 where the wire requires the field (``output_text``), null
    where it allows that (chat), left out where the wire has none (events)."""

    def entry(t: TokenLogprob) -> dict[str, Any]:
        out: dict[str, Any] = {"token": t.token, "logprob": t.logprob}
        if with_bytes:
            out["bytes"] = t.bytes if t.bytes is not None or not utf8_fallback else list(t.token.encode())
        return out

    return [{**entry(t), "top_logprobs": [entry(alt) for alt in t.top]} for t in tokens]


def joined(parts: list[list[TokenLogprob] | None]) -> list[TokenLogprob] | None:
    """The tokens of several text parts in order (None when none had any)."""
    if all(p is None for p in parts):
        return None
    return [t for p in parts if p is not None for t in p]
