"""Inbound dialects: the wire formats clients speak to Junction.

A dialect module ``gateway/dialects/<name>.py`` offers:

``DIALECT``: its ``gateway.canonical.Dialect``.

``decode(body: dict, headers: dict[str, str]) -> CanonicalRequest``
    Validate and decode; a bad field is a 400 whose ``param`` names it.

``encode_response(resp: CanonicalResponse, extras: dict, *, request: CanonicalRequest | None) -> bytes``
    The non-streaming JSON body; ``extras`` (``x_request_id``, ``provider``,
    ``latency_ms``, later ``cost``...) are added as top-level fields;
    ``request`` gives the fields a Responses object repeats back.

``class StreamEncoder(*, request: CanonicalRequest, finalize: Callable[[Usage], dict], request_id: str)``
    with ``encode(event: Event) -> bytes`` and ``finish() -> bytes``: the
    dialect's SSE bytes for each canonical event, in the exact sequence the
    official SDKs parse. ``finalize(usage)`` returns the extras to attach to
    the final usage-bearing event; ``request_id`` names the call in a
    mid-stream error event.

``encode_error(err: GatewayError, request_id: str) -> bytes`` and
``encode_stream_error(err: GatewayError, request_id: str) -> bytes``
    The dialect's error body and its mid-stream error event.
"""
