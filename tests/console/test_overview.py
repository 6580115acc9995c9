"""Console: the overview (totals and charts from the daily usage rollups)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from billing.models import Granularity, UsageRollup
from billing.usage import OTHER, usage_by_day, usage_totals
from console.charts import nice_ceiling, stacked_bars
from tests.conftest import make_key

pytestmark = pytest.mark.django_db


def rollup(
    workspace_id: int,
    day: date,
    *,
    model="gpt-4o",
    key=0,
    requests=10,
    errors=0,
    charged=1000,
    p50=100,
    p95=300,
):
    return UsageRollup.objects.create(
        granularity=Granularity.DAY,
        period_start=datetime.combine(day, datetime.min.time(), tzinfo=UTC),
        workspace_id=workspace_id,
        api_key_id=key,
        model=model,
        requests=requests,
        errors=errors,
        charged_units=charged,
        latency_p50_ms=p50,
        latency_p95_ms=p95,
    )


def test_totals_weight_latency_by_requests(workspace, other_workspace):
    today = timezone.now().date()
    rollup(workspace.pk, today, requests=10, errors=1, charged=500, p50=100, p95=200)
    rollup(workspace.pk, today, model="claude", requests=30, errors=3, charged=1500, p50=200, p95=400)
    rollup(other_workspace.pk, today, requests=999, charged=99_999)
    totals = usage_totals(workspace_id=workspace.pk, since=today, until=today + timedelta(days=1))
    assert (totals.requests, totals.errors, totals.charged_units) == (40, 4, 2000)
    assert (totals.latency_p50_ms, totals.latency_p95_ms) == (175, 350)
    assert totals.error_rate == 0.1


def test_by_day_ranks_series_and_folds_the_rest(workspace):
    today = timezone.now().date()
    since = today - timedelta(days=2)
    for i, model in enumerate(["a", "b", "c", "d"]):
        rollup(workspace.pk, today, model=model, charged=(i + 1) * 100, requests=i + 1)
    rollup(workspace.pk, since, model="a", charged=1000, requests=7)
    usage = usage_by_day(
        workspace_id=workspace.pk, since=since, until=today + timedelta(days=1), by="model", top=2
    )
    assert usage.days == (since, since + timedelta(days=1), today)
    assert [s.label for s in usage.series] == ["a", "d", OTHER]
    assert usage.series[0].spend_units == (1000, 0, 100) and usage.series[0].requests == (7, 0, 1)
    assert usage.series[2].spend_units == (0, 0, 500)  # b + c


def test_by_key_labels_with_key_names(workspace):
    key = make_key(workspace, name="backend")
    today = timezone.now().date()
    rollup(workspace.pk, today, key=key.pk)
    rollup(workspace.pk, today, key=0, charged=1)
    usage = usage_by_day(workspace_id=workspace.pk, since=today, until=today + timedelta(days=1), by="key")
    assert [s.label for s in usage.series] == ["backend", "(no key)"]


def test_nice_ceiling():
    assert [nice_ceiling(v) for v in (0, 1, 3, 7, 23, 1200)] == [1, 1, 5, 10, 25, 2000]


def test_stacked_bars_stack_to_their_totals():
    days = [date(2026, 12, 1), date(2026, 12, 2)]
    chart = stacked_bars(title="t", days=days, series=[("a", [50, 0]), ("b", [50, 20])], fmt=str)
    assert len(chart.bars) == 3  # a zero draws nothing
    day_one = [b for b in chart.bars if b.x < 300]
    assert sum(b.height for b in day_one) == pytest.approx(
        chart.baseline - 12.0, abs=0.1
    )  # 100 = the top tick
    assert day_one[1].y + day_one[1].height == pytest.approx(day_one[0].y)  # b sits on a
    assert chart.y_ticks[-1].label == "100"
    assert "200" not in chart.summary and "120" in chart.summary
    assert stacked_bars(title="t", days=days, series=[], fmt=str).empty


@pytest.mark.parametrize(
    ("peak", "labels"),
    [
        (7, ["0", "2", "4", "6", "8"]),
        (10, ["0", "3", "6", "9", "12"]),  # not 0, 2, 5, 8, 10 (steps of 2.5, rounded)
        (0, ["0", "1", "2", "3", "4"]),
        (1200, ["0", "500", "1000", "1500", "2000"]),
    ],
)
def test_the_y_axis_steps_by_whole_numbers(peak, labels):
    chart = stacked_bars(title="t", days=[date(2026, 12, 1)], series=[("a", [peak])], fmt=str)
    assert [tick.label for tick in chart.y_ticks] == labels


def test_overview_reads_rollups_only(workspace, member_web):
    today = timezone.now().date()
    rollup(workspace.pk, today, requests=12, charged=123_400, p50=250, p95=900)
    page = member_web.get("/console/").content.decode()
    assert "$12.34" in page and ">12<" in page and "250 ms" in page and "900 ms" in page
    assert "<svg" in page and "gpt-4o" in page
    by_key = member_web.get("/console/?by=key").content.decode()
    assert "Spend per day by key" in by_key


def test_overview_of_other_workspace_is_invisible(workspace, other_workspace, member_web):
    rollup(other_workspace.pk, timezone.now().date(), model="secret-model", charged=777_700)
    page = member_web.get("/console/").content.decode()
    assert "secret-model" not in page and "$77.77" not in page


def test_overview_query_count(workspace, member_web, django_assert_num_queries):
    today = timezone.now().date()
    for d in range(10):
        for model in ("a", "b", "c"):
            rollup(workspace.pk, today - timedelta(days=d), model=model)
    member_web.get("/console/")
    # session, user, memberships, month totals, daily series, balance
    with django_assert_num_queries(6):
        assert member_web.get("/console/").status_code == 200
    # by key: + the keys' names
    with django_assert_num_queries(7):
        assert member_web.get("/console/?by=key").status_code == 200
