"""Server time of the console's heavy pages on a large request-log table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/junction_bench \\
        .venv/bin/python manage.py generate_request_logs --rows 1000000 --days 30 --workspace bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/junction_bench .venv/bin/python -m bench.console_pages

Each page is rendered in-process by Django's test client (the whole view,
middleware and template; no network), signed in as the bench workspace's
owner; after two warm-up requests, ``--runs`` timings give the median and the
worst wall time, and the median of "CPU+DB": this process's CPU time plus the
wall time of its queries, what the request costs on a machine that is not
shared (the wall time on a loaded machine mostly measures waiting for a core). The filtered page asks for one model, one status and one day (the
busiest model's 429s on the day before yesterday).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import timedelta

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspace", default="bench")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from accounts.models import Membership, Role, Workspace
    from gateway.models import RequestLog

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    workspace = Workspace.objects.get(slug=args.workspace)
    owner = (
        Membership.objects.filter(workspace=workspace, role=Role.OWNER).select_related("user").first().user
    )
    rows = RequestLog.objects.filter(workspace=workspace).count()
    web = Client()
    web.force_login(owner)
    day = (timezone.now() - timedelta(days=2)).date()
    filtered = {
        "model": "gpt-4o-mini",
        "status": "429",
        "since": f"{day}T00:00",
        "until": f"{day + timedelta(days=1)}T00:00",
    }
    pages = [
        ("logs, first page", "/console/logs/", {}),
        ("logs, model + status + day", "/console/logs/", filtered),
        ("logs API, first page", "/api/manage/logs/", {}),
        (
            "logs API, filtered",
            "/api/manage/logs/",
            {**filtered, "since": f"{day}T00:00:00Z", "until": f"{day + timedelta(days=1)}T00:00:00Z"},
        ),
        ("overview", "/console/", {}),
    ]
    print(
        f"{connection.vendor}, {rows:,} request-log rows in workspace {workspace.slug!r}, {args.runs} runs each"
    )
    print(f"{'page':30} {'wall p50':>9} {'wall max':>9} {'CPU+DB p50':>11} {'DB p50':>7}  (ms)")
    db_ms = [0.0]

    def timed(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            db_ms[0] += (time.perf_counter() - began) * 1000

    for name, url, params in pages:
        for _ in range(2):
            web.get(url, params)
        walls, servers, dbs = [], [], []
        for _ in range(args.runs):
            db_ms[0] = 0.0
            began, cpu = time.perf_counter(), time.process_time()
            with connection.execute_wrapper(timed):
                resp = web.get(url, params)
            walls.append((time.perf_counter() - began) * 1000)
            # CPU of this process, plus the wall time of its queries (the database's share).
            cpu_ms = (time.process_time() - cpu) * 1000
            servers.append(cpu_ms + db_ms[0])
            dbs.append(db_ms[0])
            assert resp.status_code == 200, (url, resp.status_code)
        med = statistics.median
        print(f"{name:30} {med(walls):9.1f} {max(walls):9.1f} {med(servers):11.1f} {med(dbs):7.1f}")


if __name__ == "__main__":
    main()
