"""Server-rendered SVG charts: geometry computed here, drawn by
``templates/console/_bar_chart.html``. Pure functions, no Django."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT = 640.0, 220.0
LEFT, RIGHT, TOP, BOTTOM = 62.0, 8.0, 12.0, 28.0
MAX_SERIES_CLASSES = 8


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int  # 1-based colour index (CSS class series-N)
    title: str  # the tooltip and the screen reader's text


@dataclass(frozen=True, slots=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True, slots=True)
class LegendItem:
    label: str
    series: int
    total: str


@dataclass(frozen=True, slots=True)
class BarChart:
    title: str
    bars: tuple[Bar, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    legend: tuple[LegendItem, ...]
    summary: str
    width: float = WIDTH
    height: float = HEIGHT
    left: float = LEFT
    right_edge: float = WIDTH - RIGHT
    baseline: float = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return not self.bars


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^n at or above ``value`` (1 for 0)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return float(candidate)
    return float(10 ** (exponent + 1))


def stacked_bars(
    *,
    title: str,
    days: Sequence[date],
    series: Sequence[tuple[str, Sequence[int]]],
    fmt: Callable[[int], str],
) -> BarChart:
    """One bar per day, stacked by series (in the order given, first at the bottom)."""
    totals = [sum(values[i] for _, values in series) for i in range(len(days))]
    # Four equal steps of a whole number: the values are counts and units, and a
    # step of 2.5 labelled its ticks 2, 5, 8 (rounded) on a 0-10 axis.
    step = max(math.ceil(nice_ceiling(max(totals, default=0) / 4)), 1)
    top = step * 4
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    bar_w = max(slot * 0.72, 1.0)
    bars = []
    for i, day in enumerate(days):
        y = HEIGHT - BOTTOM
        for n, (label, values) in enumerate(series):
            value = values[i]
            if value <= 0:
                continue
            h = value / top * plot_h
            y -= h
            bars.append(
                Bar(
                    x=round(LEFT + i * slot + (slot - bar_w) / 2, 2),
                    y=round(y, 2),
                    width=round(bar_w, 2),
                    height=round(max(h, 0.5), 2),
                    series=n % MAX_SERIES_CLASSES + 1,
                    title=f"{day:%b} {day.day}, {label}: {fmt(value)}",
                )
            )
    y_ticks = tuple(Tick(round(HEIGHT - BOTTOM - plot_h * k / 4, 2), fmt(step * k)) for k in range(5))
    every = max(1, math.ceil(len(days) / 5))
    x_ticks = tuple(
        Tick(round(LEFT + i * slot + slot / 2, 2), f"{day:%b} {day.day}")
        for i, day in enumerate(days)
        if (len(days) - 1 - i) % every == 0
    )
    legend = tuple(
        LegendItem(label, n % MAX_SERIES_CLASSES + 1, fmt(sum(values)))
        for n, (label, values) in enumerate(series)
    )
    peak = max(range(len(days)), key=lambda i: totals[i], default=None)
    summary = (
        f"{title}: {fmt(sum(totals))} over {len(days)} days; highest {fmt(totals[peak])} on {days[peak]:%b} {days[peak].day}."
        if peak is not None and totals[peak] > 0
        else f"{title}: nothing in these {len(days)} days."
    )
    return BarChart(
        title=title, bars=tuple(bars), y_ticks=y_ticks, x_ticks=x_ticks, legend=legend, summary=summary
    )
