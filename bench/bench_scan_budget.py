"""The daily job's scan budget: bytes read ÷ bytes in the rebuild window, per step, on Trino.

Run: .venv/bin/python -m bench.bench_scan_budget
     (BENCH_SCAN_EVENTS=6000 events over BENCH_SCAN_HISTORY_DAYS=90 days of history)

One generated archive; two lakes on the fidelity tier's Trino (tests/trino/scan_budget_lakes.py):
one with 90 days of history before the run date, one with only the rebuild window's days
(run date minus lookback_days + 2). Both are built up to the day before; then the run
date's archive file arrives and the daily job runs on each, as buildspec.yml runs it:
sql/enrich, sql/bots, `newest date` (the data tests' bound), `dbt build` (each model, then
`dbt tests` = data and unit tests), sql/maintenance. Each step's physical input bytes come
from Trino's query statistics (webevents/dev/scan_budget.py). Figure: bytes read with history
÷ bytes read on the window alone, per step and for the whole job. Target: whole job
<= 1.5 (docs/decisions.md D-SCAN-2). A step that reads a whole table shows about
history / window = 15x. Per statement: bench/scan-budget.md.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Any

EVENTS = int(os.environ.get("BENCH_SCAN_EVENTS", "6000"))
HISTORY_DAYS = int(os.environ.get("BENCH_SCAN_HISTORY_DAYS", "90"))
RUN_DATE = dt.date(2026, 11, 20)
COMMAND = ".venv/bin/python -m bench.bench_scan_budget"
TARGET_RATIO = 1.5
DETAIL = Path(__file__).resolve().parent / "scan-budget.md"


def main() -> list[dict[str, Any]]:
    from tests.trino.scan_budget_lakes import measure_scan_budget
    from webevents.dev.trino_server import ensure_installed, start_server, stop_server

    ensure_installed()
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as folder:
        server = start_server(Path(folder) / "server")
        try:
            budget = measure_scan_budget(
                server.port, Path(folder), HISTORY_DAYS, EVENTS, RUN_DATE
            )
        finally:
            stop_server(server)
    base = {"benchmark": "scan_budget", "command": COMMAND}
    label = f"{HISTORY_DAYS} d history / {budget.window_days} d window"
    rows = [
        {**base, "figure": f"{step}: bytes read, {label} ({_mb(history)} / {_mb(window)} MB)",
         "value": round(value, 2), "unit": "x", "target": ""}
        for step, history, window, value in budget.rows()
        if history or window
    ]
    history, window, total = budget.total()
    rows.append({**base, "figure": f"daily job ({EVENTS} events): bytes read, {label} "
                 f"({_mb(history)} / {_mb(window)} MB)",
                 "value": round(total, 2), "unit": "x", "target": f"<= {TARGET_RATIO}"})
    DETAIL.write_text(detail(budget))
    for row in rows:
        print(f"{row['figure']:95s} {row['value']:>8} {row['unit']}  {row['target']}")
    return rows


def summary(text: str) -> str:
    """The statement without dbt's query comment, on one line, cut at 110 characters."""
    body = " ".join(text.split())
    body = body.split("*/", 1)[1].strip() if body.startswith("/*") else body
    return body[:110].replace("|", "\\|")


def _mb(size: int) -> str:
    return f"{size / 1e6:.2f}"


def detail(budget) -> str:
    """bench/scan-budget.md: every statement that read data, on both lakes."""
    lines = [
        "# Scan budget: physical input bytes per statement",
        "",
        f"Written by `{COMMAND}` (also `make bench`); do not edit by hand.",
        f"Daily run for {budget.run_date}, {EVENTS} events; history lake "
        f"{budget.history_days} days, window lake {budget.window_days} days "
        "(bench/bench_scan_budget.py says how).",
        "",
        "| step | history bytes | window bytes | ratio |",
        "| --- | ---: | ---: | ---: |",
    ]
    for step, history, window, value in budget.rows():
        lines.append(f"| {step} | {history:,} | {window:,} | {value:.2f} |")
    history, window, total = budget.total()
    lines += [f"| **daily job** | {history:,} | {window:,} | {total:.2f} |", ""]
    for name, meter in (("history", budget.history), ("window", budget.window)):
        lines += [f"## {name} lake", "", "| step | bytes | statement |", "| --- | ---: | --- |"]
        for statement in meter.statements:
            if statement.physical_input_bytes:
                text = summary(statement.text.replace(meter.catalog, "<catalog>"))
                lines.append(f"| {statement.step} | {statement.physical_input_bytes:,} | "
                             f"`{text}` |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
