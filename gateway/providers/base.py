"""The contract every provider follows (``Provider``), and the values that
cross it. Providers are pure: no I/O, no Django imports. All HTTP goes through
``gateway.http``; the pipeline (``gateway.pipeline``) and the relay
(``gateway.relay``) are the only callers.

A provider is a package ``gateway/providers/<name>/`` whose ``__init__``
offers the members of ``Provider`` (a module satisfies the protocol) and is
listed once in ``gateway.providers.PROVIDERS`` under its catalog ``kind``:

``KIND``
    The catalog provider kind it serves (``gateway.Provider.kind``).

``build_request(req, *, upstream_model, base_url, api_key, headers=None) -> UpstreamRequest``
    Encode the canonical request in the provider's wire format (``stream``
    follows ``req.stream``; ask for stream usage where that is opt-in). Refuse
    what the provider cannot honour with ``gateway.errors.unsupported_parameter``
    (a 400 naming the parameter) -- never drop it silently.

``parse_response(body: bytes) -> CanonicalResponse``
    Decode a non-streaming JSON answer.

``StreamDecoder()`` with ``feed(chunk) -> list[Event]`` and ``close() -> list[Event]``
    Decode the provider's stream incrementally; chunks may split anywhere
    (use ``gateway.sse.SSEParser``). Emit ``ResponseStart`` first, then
    deltas, ``UsageEvent`` when usage is known, and ``Finish`` last. An error
    inside the stream becomes ``StreamError``.

``map_error(*, status, body, headers, provider) -> GatewayError``
    Map an HTTP error answer (``gateway.providers.errors.classify`` holds the
    status -> type rules every provider shares).

``passthrough(dialect) -> PassThrough | None``
    The inbound dialects the provider speaks natively: for those, a call
    skips translation -- the caller's body is forwarded with the model
    replaced and the answer relayed byte for byte, parsed only for usage
    (``PassThrough``). ``None`` for any other dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec

from gateway.canonical import CanonicalRequest, CanonicalResponse, Dialect, Event, Usage
from gateway.canonical_images import ImageAnswer, ImageEvent
from gateway.dialects.base import PassedAnswer
from gateway.errors import GatewayError


@dataclass(slots=True)
class UpstreamRequest:
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    stream: bool = False


def read_json_answer(body: bytes, usage_from: Callable[[Any], Usage | None]) -> PassedAnswer:
    """A same-wire JSON answer decoded once, with the usage its top-level
    ``usage`` object reports; ``ValueError`` if it is not JSON."""
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise ValueError(str(exc)) from None
    raw_usage = decoded.get("usage") if isinstance(decoded, dict) else None
    return PassedAnswer(body=body, decoded=decoded, usage=usage_from(raw_usage))


# Called by a pass-through stream with the final usage; returns the fields
# Junction adds to that event (``gateway.dialects.base.AnswerFields``).
UsageHook = Callable[[Usage], Mapping[str, Any]]


class StreamDecoder(Protocol):
    def feed(self, chunk: bytes) -> list[Event]: ...

    def close(self) -> list[Event]: ...


class StreamRelay(Protocol):
    """One same-wire stream: complete upstream SSE blocks in, the caller's bytes
    out. Only the events that carry usage are parsed; ``delta_events`` counts
    the content deltas relayed (billing's estimate when a stream is cut)."""

    delta_events: int

    def relay(self, blocks: list[bytes]) -> bytes: ...


class PassThrough(Protocol):
    """One dialect a provider speaks natively."""

    def build_request(
        self,
        req: CanonicalRequest,
        *,
        upstream_model: str,
        base_url: str,
        api_key: str,
    ) -> UpstreamRequest: ...

    def read_answer(self, body: bytes) -> PassedAnswer:
        """Decode a JSON answer and its usage; ``ValueError`` if it is not JSON."""
        ...

    def stream(self, req: CanonicalRequest, on_usage: UsageHook) -> StreamRelay: ...


class Provider(Protocol):
    KIND: str

    def build_request(
        self,
        req: CanonicalRequest,
        *,
        upstream_model: str,
        base_url: str,
        api_key: str,
        headers: dict[str, str] | None = None,
    ) -> UpstreamRequest: ...

    def parse_response(self, body: bytes) -> CanonicalResponse: ...

    def StreamDecoder(self) -> StreamDecoder: ...

    def map_error(
        self, *, status: int, body: bytes, headers: dict[str, str], provider: str
    ) -> GatewayError: ...

    def passthrough(self, dialect: Dialect) -> PassThrough | None: ...


class ImageStreamDecoder(Protocol):
    def feed(self, chunk: bytes) -> list[ImageEvent]: ...

    def close(self) -> list[ImageEvent]: ...


@dataclass(frozen=True, slots=True)
class ImageCodec:
    """A provider's images API (``gateway/providers/<name>/images.py``, listed
    in ``gateway.providers.IMAGE_CODECS`` under its kind): build the upstream
    request of an images call, decode its JSON answer, decode its stream
    (``None``: the provider does not stream images), map an error answer.
    Which parameters each model takes is ``gateway.dialects.images.params``."""

    build_request: Callable[
        ..., UpstreamRequest
    ]  # (ImageRequest, *, upstream_model, base_url, api_key, provider_kind)
    parse_answer: Callable[[bytes], ImageAnswer]
    stream_decoder: Callable[[], ImageStreamDecoder] | None
    map_error: Callable[..., GatewayError]  # (*, status, body, headers, provider)
