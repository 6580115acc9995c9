"""Feed a recorded stream to a decoder in every way it can arrive."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str) -> bytes:
    return (GOLDEN / name).read_bytes()


def decode_all(make_decoder: Callable[[], Any], chunks: list[bytes]) -> list[Any]:
    decoder = make_decoder()
    events: list[Any] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events


def every_split(data: bytes) -> Iterator[list[bytes]]:
    """Two pieces, cut at each byte boundary (this cuts through UTF-8 sequences too)."""
    for i in range(1, len(data)):
        yield [data[:i], data[i:]]


def random_splits(data: bytes, *, runs: int = 50, seed: int = 7) -> Iterator[list[bytes]]:
    rng = random.Random(seed)
    for _ in range(runs):
        cuts = sorted(rng.sample(range(1, len(data)), k=min(len(data) - 1, rng.randint(1, 40))))
        yield [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
