"""Inbound dialects. Each module offers ``DIALECT``, ``decode(body, headers)``,
``encode_error(err, request_id)`` and ``encode_stream_error(err, request_id)``."""
