"""The table ``bench.run`` prints, and its verdict on each target of issue 2."""

from __future__ import annotations

import math

from bench.loadgen import Result, percentile


def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.2f}"


def added(value: float, base: float) -> float:
    return value - base


def ratio(a: float, b: float) -> str:
    if math.isnan(a) or math.isnan(b) or b == 0:
        return "-"
    return f"{a / b:.1f}x"


def row_stats(result: Result) -> dict[str, float]:
    return {
        "p50": percentile(result.latencies, 50),
        "p99": percentile(result.latencies, 99),
        "ttft50": percentile(result.ttfts, 50),
        "ttft99": percentile(result.ttfts, 99),
        "rps": result.rps,
        # the server's CPU per request in the measured window (microseconds)
        "cpu_us": result.server_cpu / result.requests * 1e6 if result.requests else float("nan"),
    }


def report(results: dict[str, dict[str, Result]]) -> list[str]:
    header = (
        "scenario",
        "via",
        "p50 ms",
        "p99 ms",
        "+p50",
        "+p99",
        "+TTFT p50",
        "+TTFT p99",
        "req/s",
        "errors",
        "lost/reord",
        "+p50 vs pass",
        "req/s vs pass",
        "CPU us/req",
    )
    rows: list[tuple[str, ...]] = []
    for scenario, by_target in results.items():
        stats = {name: row_stats(result) for name, result in by_target.items()}
        base = stats.get("direct")
        for name, result in by_target.items():
            s = stats[name]
            is_base = name == "direct" or base is None
            add = {
                k: float("nan") if is_base else added(s[k], base[k])
                for k in ("p50", "p99", "ttft50", "ttft99")
            }
            pass_stats = stats.get("passthrough")
            vs_pass_p50 = vs_pass_rps = "-"
            if name == "junction" and pass_stats and base:
                key = "ttft50" if result.streams else "p50"
                vs_pass_p50 = ratio(
                    add[key] if result.streams else add["p50"], added(pass_stats[key], base[key])
                )
                vs_pass_rps = ratio(s["rps"], pass_stats["rps"])
            integrity = f"{result.dropped}/{result.reordered}" if result.streams else "-"
            if result.unterminated:
                integrity += f" ({result.unterminated} cut)"
            rows.append(
                (
                    scenario,
                    name,
                    ms(s["p50"]),
                    ms(s["p99"]),
                    ms(add["p50"]),
                    ms(add["p99"]),
                    ms(add["ttft50"]) if result.streams else "-",
                    ms(add["ttft99"]) if result.streams else "-",
                    f"{s['rps']:,.0f}",
                    str(result.errors),
                    integrity,
                    vs_pass_p50,
                    vs_pass_rps,
                    "-" if math.isnan(s["cpu_us"]) else f"{s['cpu_us']:,.0f}",
                )
            )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    previous = ""
    for r in rows:
        if previous and r[0] != previous:
            lines.append("")
        previous = r[0]
        lines.append(
            "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    lines.append("")
    lines.append(
        "+x = added over calling the upstream directly (ms); '+p50 vs pass' compares +TTFT p50 for streams."
    )
    lines.append(
        "CPU us/req = the server process's CPU time (all threads) in the measured window / its requests;"
        " for 'direct' that is the fake upstream's."
    )
    return lines


def verdicts(results: dict[str, dict[str, Result]]) -> list[str]:
    out = []
    j1 = results.get("json c=1", {})
    if "junction" in j1 and "direct" in j1:
        add = added(percentile(j1["junction"].latencies, 50), percentile(j1["direct"].latencies, 50)) * 1000
        out.append(f"{'MET ' if add <= 3 else 'MISS'}  added p50 at c=1: {add:.2f} ms (target <= 3 ms)")
    j16 = results.get("json c=16", {})
    if "junction" in j16:
        rps = j16["junction"].rps
        out.append(f"{'MET ' if rps >= 500 else 'MISS'}  req/s at c=16: {rps:,.0f} (target >= 500)")
    s64 = results.get("stream c=64", {})
    if "junction" in s64 and "direct" in s64:
        r = s64["junction"]
        add = added(percentile(r.ttfts, 50), percentile(s64["direct"].ttfts, 50)) * 1000
        intact = r.errors == 0 and r.dropped == 0 and r.reordered == 0 and r.unterminated == 0
        ok = add <= 3 and intact
        out.append(
            f"{'MET ' if ok else 'MISS'}  64 streams: added TTFT p50 {add:.2f} ms (target <= 3 ms), "
            f"{r.streams} streams, {r.dropped} chunks lost, {r.reordered} reordered, {r.errors} errors"
        )
    return out
