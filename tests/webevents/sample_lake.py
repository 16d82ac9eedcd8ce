"""A small sample loaded into a lake by the backfill and the Firehose stand-in, and the
check that every reconciliation figure matches the tables and the sample's truth file."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import orjson

from webevents.dev.generate import generate_sample
from webevents.engines.local import connect
from webevents.jobs.backfill import backfill_files
from webevents.local.ingest import ingest_files
from webevents.local.reconcile import ARCHIVE, STREAM, reconciliation

EVENTS, DAYS = 500, 5


def load_sample(folder: Path, end_date: dt.date, seed: int) -> Path:
    """A small sample made as of end_date + 1, backfilled and ingested; the lake's path."""
    sample = folder / "sample"
    generate_sample(sample, EVENTS, DAYS, seed, end_date)
    lake = folder / "lake"
    backfill_files(sorted((sample / "archive").glob("dt=*/*")), lake=lake)
    ingest_files(sorted((sample / "stream").glob("*")), lake=lake)
    return lake


def figures(lake: Path) -> tuple[dict, dict[str, int]]:
    """The reconciliation and the raw rows per load_source, read straight from the table."""
    con = connect(lake)
    try:
        summary = reconciliation(con, lake)
        by_source = dict(con.execute(
            "select load_source, count(*) from raw.web_events group by load_source"
        ).fetchall())
    finally:
        con.close()
    return summary, by_source


def check_against_the_tables(lake: Path, sample: Path) -> dict:
    summary, by_source = figures(lake)
    sources = {source["name"]: source for source in summary["sources"]}
    assert summary["balanced"] and all(source["balanced"] for source in sources.values())
    assert sources[ARCHIVE]["landed"] == by_source["backfill"]
    assert sources[STREAM]["landed"] == by_source["firehose"]
    truth = [orjson.loads(line) for line in (sample / "truth.jsonl").read_bytes().splitlines()]
    outcomes = Counter(row["outcome"] for row in truth)
    assert summary["records_in"] == len(truth)
    assert summary["landed"] + summary["skipped"] == outcomes["ok"]
    assert (summary["failed"], summary["dropped"]) == (outcomes["failed"], outcomes["dropped"])
    return summary
