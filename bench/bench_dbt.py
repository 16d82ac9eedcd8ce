"""dbt incremental cost grows with new data, not with history: one new day on 30 vs 90 days.

Run: .venv/bin/python -m bench.bench_dbt   (BENCH_DBT_VISITORS=300 for bigger days)

For each history length the lake (tests/dbt/lake_fixture: tours, logins, a shared
device, an all-day bot, about BENCH_DBT_VISITORS * 6 + 72 events a day) is built with
`dbt build --full-refresh` (seed and models); then one new day plus late events for the two
days before it are appended and `dbt run --target local` (incremental) is timed, best of three
(later runs re-merge the same window). Figures: CPU time (user + system) of that
dbt process, which a busy shared machine disturbs least; its wall time; and the summed
execution time of its models (run_results.json), which leaves out dbt's fixed start-up.
Target: 90-day / 30-day ratio <= 1.3.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tests.dbt import lake_fixture
from webevents.local import dbt_runner

VISITORS = int(os.environ.get("BENCH_DBT_VISITORS", "200"))
LAST_DAY = date(2026, 11, 20)
COMMAND = ".venv/bin/python -m bench.bench_dbt"
TARGET_RATIO = 1.3


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_dbt(args: list[str], work: Path, lake: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and summed model execution seconds of `dbt <args>`."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    completed = dbt_runner.run_dbt([*args, "--target", "local"], work, lake=lake)
    if completed.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{completed.output[-4000:]}")
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    results = completed.artifact("run_results.json")["results"]
    models = sum(r["execution_time"] for r in results if r["unique_id"].startswith("model."))
    return wall, cpu, models


def incremental_cost(history_days: int) -> dict[str, float]:
    """Best-of-three incremental run adding one day to `history_days` days."""
    with tempfile.TemporaryDirectory(prefix="bench_dbt_") as folder:
        work = Path(folder)
        lake = work / "lake"
        con = lake_fixture.create_lake(lake)
        history = lake_fixture.history(LAST_DAY, history_days, visitors=VISITORS)
        lake_fixture.insert(con, history)
        con.close()
        full_wall, _, _ = run_dbt(
            ["build", "--full-refresh", "--exclude-resource-type", "test", "unit_test"],
            work, lake,
        )
        con = lake_fixture.create_lake(lake)
        new_day = LAST_DAY + timedelta(days=1)
        lake_fixture.insert(
            con,
            lake_fixture.day_events(new_day, VISITORS)
            + lake_fixture.late_events(LAST_DAY - timedelta(days=1))
            + lake_fixture.late_events(LAST_DAY),
        )
        con.close()
        runs = [run_dbt(["run"], work, lake) for _ in range(3)]
        return {
            "events": len(history),
            "full_wall": full_wall,
            "wall": min(wall for wall, _, _ in runs),
            "cpu": min(cpu for _, cpu, _ in runs),
            "models": min(models for _, _, models in runs),
        }


def main() -> list[dict[str, Any]]:
    short, long = incremental_cost(30), incremental_cost(90)
    rows = []
    for label, cost in (("30 days", short), ("90 days", long)):
        rows += [
            {"benchmark": "dbt", "figure": f"full refresh, {label} ({cost['events']} events)",
             "value": round(cost["full_wall"], 2), "unit": "s", "target": "",
             "command": COMMAND},
            {"benchmark": "dbt", "figure": f"incremental +1 day on {label}, dbt wall time",
             "value": round(cost["wall"], 2), "unit": "s", "target": "", "command": COMMAND},
            {"benchmark": "dbt", "figure": f"incremental +1 day on {label}, dbt CPU time",
             "value": round(cost["cpu"], 2), "unit": "s", "target": "", "command": COMMAND},
            {"benchmark": "dbt", "figure": f"incremental +1 day on {label}, model time",
             "value": round(cost["models"], 2), "unit": "s", "target": "",
             "command": COMMAND},
        ]
    rows += [
        {"benchmark": "dbt", "figure": "incremental 90 d / 30 d, dbt CPU time",
         "value": round(long["cpu"] / short["cpu"], 2), "unit": "ratio",
         "target": f"<= {TARGET_RATIO}", "command": COMMAND},
        {"benchmark": "dbt", "figure": "incremental 90 d / 30 d, model time",
         "value": round(long["models"] / short["models"], 2), "unit": "ratio",
         "target": f"<= {TARGET_RATIO}", "command": COMMAND},
        {"benchmark": "dbt", "figure": "incremental 90 d / 30 d, dbt wall time",
         "value": round(long["wall"] / short["wall"], 2), "unit": "ratio",
         "target": f"<= {TARGET_RATIO}", "command": COMMAND},
    ]
    for row in rows:
        print(f"{row['figure']}: {row['value']} {row['unit']} {row['target']}")
    return rows


if __name__ == "__main__":
    main()
