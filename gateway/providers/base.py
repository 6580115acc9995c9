"""The contract every provider adapter module follows. Adapters are pure: no
I/O, no Django imports. All HTTP goes through ``gateway.http``; the pipeline
(``gateway.pipeline``) is the only caller.

A provider module ``gateway/providers/<name>.py`` offers:

``build_request(req: CanonicalRequest, *, upstream_model: str, base_url: str,
api_key: str, headers: dict[str, str] | None = None) -> UpstreamRequest``
    Encode the canonical request in the provider's wire format (``stream``
    follows ``req.stream``; ask for stream usage where that is opt-in). Refuse
    what the provider cannot honour with ``gateway.errors.unsupported_parameter``
    (a 400 naming the parameter) -- never drop it silently.

``parse_response(body: bytes) -> CanonicalResponse``
    Decode a non-streaming JSON answer.

``class StreamDecoder`` with ``feed(chunk: bytes) -> list[Event]`` and
``close() -> list[Event]``
    Decode the provider's stream incrementally; chunks may split anywhere
    (use ``gateway.sse.SSEParser``). Emit ``ResponseStart`` first, then
    deltas, ``UsageEvent`` when usage is known, and ``Finish`` last. An error
    inside the stream becomes ``StreamError``.

``map_error(*, status: int, body: bytes, headers: dict[str, str], provider: str) -> GatewayError``
    Map an HTTP error answer (use ``gateway.providers.openai.classify`` for
    the status -> type rules so every provider agrees).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class UpstreamRequest:
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    stream: bool = False
