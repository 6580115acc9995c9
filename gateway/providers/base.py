"""What every provider adapter produces. Adapters are pure: no I/O, no Django."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class UpstreamRequest:
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    stream: bool = False
