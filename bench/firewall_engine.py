"""Firewall engine overhead, side by side (not run by CI).

    .venv/bin/python -m bench.firewall_engine

Prints the cost of screening a typical chat request and of streaming a
typical answer through ``StreamMasker``, with every detector enabled, as
time per call and as a ratio to a baseline that only copies the text.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from firewall.engine import Action, Detector, Engine, MatcherKind, RuleSpec, Scope, Session, StreamMasker

PROSE = (
    "Thanks for the update. The deployment on 2024-10-12 went fine; latency is down 4.5% and the "
    "error budget for Q3 is intact. Next, refactor fetch(url, *, timeout=2.5) to retry on 503 and "
    "log the request id. Ping me if the dashboard at https://grafana.internal/d/abc123 looks off. "
)
TEXT = PROSE * 20  # ~6 KB, a long-ish prompt
TOKENS = [TEXT[i : i + 4] for i in range(0, len(TEXT), 4)]  # ~4 characters per streamed token


def rules(*, with_private_key: bool) -> list[RuleSpec]:
    kinds = [d for d in Detector if with_private_key or d is not Detector.PRIVATE_KEY]
    return [
        RuleSpec(i, d.value, MatcherKind.DETECTOR, frozenset(Scope), Action.MASK, detector=d)
        for i, d in enumerate(kinds)
    ]


def timed(fn: Callable[[], object], repeat: int) -> float:
    fn()
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) / repeat


def main() -> None:
    baseline = timed(lambda: "".join(list(TEXT)), 200)
    for with_pk in (False, True):
        engine = Engine.compile(rules(with_private_key=with_pk))

        def whole(engine: Engine = engine) -> str:
            return Session(engine).process(TEXT, Scope.PROMPT)

        def stream(engine: Engine = engine) -> str:
            masker = StreamMasker(Session(engine), Scope.RESPONSE)
            return "".join(masker.feed(t) for t in TOKENS) + masker.flush()

        label = "all detectors" if with_pk else "all but private_key"
        w, s = timed(whole, 50), timed(stream, 5)
        print(f"{label:22} whole text {w * 1e3:7.2f} ms ({w / baseline:6.0f}x copy)   "
              f"stream of {len(TOKENS)} tokens {s * 1e3:8.2f} ms ({s / len(TOKENS) * 1e6:6.1f} us/token)")  # fmt: skip


if __name__ == "__main__":
    main()
