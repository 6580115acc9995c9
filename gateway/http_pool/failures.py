"""What the upstream transport reports when it fails (not an HTTP error status)."""

from __future__ import annotations


class UpstreamFailure(Exception):
    """Base of the transport failures below (not an HTTP error status)."""


class UpstreamTimeout(UpstreamFailure):
    pass


class UpstreamUnreachable(UpstreamFailure):
    """No connection could be made, or it broke before any answer."""


class UpstreamBroken(UpstreamFailure):
    """The answer started, then the connection failed mid-body."""


class UpstreamTooLarge(UpstreamFailure):
    """An answer read whole passed ``UPSTREAM_MAX_RESPONSE_BYTES``."""
