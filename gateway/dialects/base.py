"""The contract every inbound dialect module follows (``gateway/dialects/<name>``),
and the typed values that cross it.

A dialect module is the one place that reads and writes its wire format:
``decode`` (JSON -> ``CanonicalRequest``), the error shapes, and -- for
dialects Junction can translate into -- ``TRANSLATOR``: ``encode_response``
and ``StreamEncoder``. Junction's own answer fields reach the bytes only
through an ``AnswerFields`` handed to the encoder (or, on the byte
pass-through, to ``annotate``); a firewall reads and masks the texts of a
JSON body through the slots ``gateway.dialects.texts`` finds. No other app
parses or splices wire JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.canonical import CanonicalRequest, CanonicalResponse, Dialect, Event, Usage
from gateway.errors import GatewayError

# A string inside a JSON value: ``container[key]`` reads and replaces it.
TextSlot = tuple[Any, Any]


class AnswerFields(dict[str, Any]):
    """Junction's top-level fields for an answer (``x_request_id``,
    ``provider``, ``latency_ms``, ``cost``, ``firewall``...), and in ``usage``
    the fields for the answer's usage object (``cost``: the true upstream
    cost). A plain mapping given where an ``AnswerFields`` is expected means
    top-level fields only."""

    __slots__ = ("usage",)

    def __init__(self, top: Mapping[str, Any] = (), usage: Mapping[str, Any] | None = None) -> None:  # type: ignore[assignment]
        super().__init__(top)
        self.usage: dict[str, Any] = dict(usage or {})

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> AnswerFields:
        return fields if isinstance(fields, AnswerFields) else cls(fields)


def add_fields(body: dict[str, Any], fields: Mapping[str, Any]) -> None:
    """Junction's fields into an answer object about to be encoded: the
    top-level ones, and an ``AnswerFields``' usage fields into its ``usage``."""
    usage_fields = AnswerFields.of(fields).usage
    usage = body.get("usage")
    if usage_fields and isinstance(usage, dict):
        usage.update(usage_fields)
    body.update(fields)


# Called by a stream encoder once usage is final: the fields for the
# usage-bearing event.
Finalize = Callable[[Usage], Mapping[str, Any]]


class StreamEncoder(Protocol):
    def encode(self, event: Event) -> bytes: ...

    def finish(self) -> bytes: ...


class StreamEncoderFactory(Protocol):
    def __call__(
        self, *, request: CanonicalRequest, finalize: Finalize, request_id: str = ""
    ) -> StreamEncoder: ...


class ResponseEncoder(Protocol):
    """A whole canonical answer -> the dialect's JSON body. ``request`` is the
    call's canonical request, for the fields an answer repeats (Responses)."""

    def __call__(
        self, resp: CanonicalResponse, extras: Mapping[str, Any], *, request: CanonicalRequest | None = None
    ) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Translator:
    """Canonical answer -> this dialect's bytes (the translation path)."""

    encode_response: ResponseEncoder
    stream_encoder: StreamEncoderFactory


class InboundDialect(Protocol):
    """What the pipeline and the relay ask of a dialect module."""

    @property
    def DIALECT(self) -> Dialect: ...

    @property
    def TRANSLATOR(self) -> Translator | None: ...

    def decode(self, body: dict[str, Any], headers: dict[str, str]) -> CanonicalRequest: ...

    def encode_error(self, err: GatewayError, request_id: str) -> bytes: ...

    def encode_stream_error(self, err: GatewayError, request_id: str) -> bytes: ...

    def annotate(self, answer: PassedAnswer, fields: AnswerFields) -> bytes: ...


@dataclass(slots=True)
class PassedAnswer:
    """A same-wire JSON answer: its bytes, decoded once, and the usage in it.
    ``edited`` is set when a stage changed ``decoded`` (then it is re-encoded)."""

    body: bytes
    decoded: Any
    usage: Usage | None = None
    edited: bool = False
