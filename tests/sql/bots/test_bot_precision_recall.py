"""Bot flags against the truth on generated traffic (fixed seed): minimum precision and recall.

`webevents generate` writes truth.jsonl (is_bot per event); the archive goes through
`webevents backfill`, sql/enrich and sql/bots on the local engine, then every flagged
event is compared with the truth. docs/bots.md has the figures of a larger sample
(`measure(out, events=50_000, days=14)`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import duckdb

from webevents import SQL_DIR
from webevents.dev.generate import generate_sample
from webevents.jobs.backfill import backfill_files
from webevents.jobs.sql import run_files

END = dt.date(2026, 11, 20)


def measure(root: Path, events: int, days: int, seed: int = 7) -> dict[str, dict]:
    """Precision and recall per rule ('overall' = is_bot) on a generated sample."""
    sample, lake = root / "sample", root / "lake"
    generate_sample(sample, events=events, days=days, seed=seed, end_date=END)
    backfill_files(sorted((sample / "archive").glob("dt=*/*")), lake=lake)
    params = {"run_date": END.isoformat(), "lookback_days": str(days)}
    run_files([SQL_DIR / "enrich", SQL_DIR / "bots"], params=params, lake=lake, echo=None)
    truth = {}
    for line in (sample / "truth.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["event_id"] and record["outcome"] == "ok":
            truth.setdefault(record["event_id"], record["is_bot"])
    with duckdb.connect(str(lake / "lake.duckdb"), read_only=True) as con:
        flagged = con.execute("select event_id, bot_reasons from analytics.web_events").fetchall()
    bots = sum(1 for event_id, _ in flagged if truth.get(event_id))
    hits, false_hits = Counter(), Counter()
    for event_id, reasons in flagged:
        for reason in [*reasons, "overall"] if reasons else []:
            (hits if truth.get(event_id) else false_hits)[reason] += 1
    return {
        rule: {
            "precision": hits[rule] / (hits[rule] + false_hits[rule]),
            "recall": hits[rule] / bots,
            "flagged": hits[rule] + false_hits[rule],
        }
        for rule in sorted(set(hits) | set(false_hits))
    } | {"sample": {"events": len(flagged), "bots": bots}}


def test_precision_and_recall_on_generated_traffic(tmp_path):
    figures = measure(tmp_path, events=6_000, days=4)
    assert figures["sample"]["bots"] > 200, figures["sample"]
    overall = figures["overall"]
    assert overall["precision"] >= 0.95, figures
    assert overall["recall"] >= 0.90, figures
    for rule, figure in figures.items():
        if rule not in ("sample", "overall"):
            assert figure["precision"] >= 0.90, (rule, figures)
