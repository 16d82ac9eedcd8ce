"""The reconciliation a person reads, counted from the lake's tables and error output.

Per input kind, every record that came in is landed, skipped as already landed, failed or
dropped, and each figure is read from where the records are, not from a command's counter:

    archive via sql/backfill      records in: the load log's own count of the archive lines;
                                  landed: raw rows with load_source 'backfill'; skipped and
                                  the check: sql/analysis/raw_web_events_backfill_totals.sql;
                                  failed: raw.web_events_backfill_rejects
    stream via Firehose stand-in  records in and dropped: the ledger (a dropped record leaves
                                  nothing else behind); landed: raw rows with load_source
                                  'firehose' less those a replay landed; failed: records in
                                  the published error output
    replays of error output       per record in raw.web_events_replay_records (written with
                                  the rows); landed is checked against raw: a replayed event
                                  whose event_id is not there leaves it unbalanced, unless an
                                  erasure removed it (outcome 'erased', counted). Replayed
                                  backfill rejects are not a separate input: they move from
                                  the archive's failed to its landed in its own tables.

`balanced` is then a real check: a file landed twice, error output written twice, or a
line lost shows as "no" (docs/decisions.md, "What landed means").

A command's --summary (run, ingest, backfill) is this reconciliation plus the figures of the
command's own sources and of the tables (`build_summary`), so those commands share it here
rather than import each other.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webevents import SQL_DIR, clock
from webevents.engines import get_engine
from webevents.engines.local import LocalEngine, connect
from webevents.jobs.forget import ERASED_ERROR_OUTPUT, ERASED_FROM_RAW, ERASED_REPLAYED
from webevents.jobs.replay import (
    LANDED,
    RECORDS_TABLE,
    REJECTS_SOURCE,
    _table_exists,
    replay_figures,
)
from webevents.local import ledger
from webevents.local.ingest import DROPPED_REASONS, ERROR_OUTPUT_DIR, PENDING_PREFIX

ARCHIVE = "archive via sql/backfill"
STREAM = "stream via Firehose stand-in"
BACKFILL_TOTALS_SQL = SQL_DIR / "analysis" / "raw_web_events_backfill_totals.sql"
FIGURES = ("records_in", "landed", "skipped", "failed", "dropped", "erased")


def _source(name: str, **figures: Any) -> dict[str, Any]:
    source = {"name": name, **{key: int(figures.get(key) or 0) for key in FIGURES},
              "failed_by_reason": dict(sorted(figures.get("failed_by_reason", {}).items()))}
    source["balanced"] = bool(figures.get("checks_pass", True)) and source["records_in"] == (
        source["landed"] + source["skipped"] + source["failed"] + source["dropped"]
        + source["erased"])
    return source


def archive_figures(con) -> dict[str, Any] | None:
    """The backfill's figures from its tables, or None when nothing was ever backfilled."""
    (loads,) = con.execute("select count(*) from raw.web_events_backfill_loads").fetchone()
    if not loads:
        return None
    engine = LocalEngine(connection=con)
    columns, rows = engine.query(BACKFILL_TOTALS_SQL.read_text())
    totals = dict(zip(columns, rows[0], strict=True))
    reasons = dict(con.execute(
        "select reason, count(*) from raw.web_events_backfill_rejects group by reason"
    ).fetchall())
    return _source(ARCHIVE, **totals, failed_by_reason=reasons,
                   checks_pass=totals["is_balanced"])


def error_output_records(lake: Path) -> Counter:
    """Records in the published error output, by the reason each carries."""
    reasons: Counter = Counter()
    folder = lake / ERROR_OUTPUT_DIR
    if not folder.is_dir():
        return reasons
    for path in folder.rglob("*"):
        if path.is_file() and not path.name.startswith(PENDING_PREFIX):
            with open(path, "rb") as handle:
                for line in handle:
                    if line.strip():
                        reasons[json.loads(line).get("reason") or "unknown"] += 1
    return reasons


def _replayed_into_raw(con) -> tuple[int, int]:
    """(records of error output a replay landed in raw, how many of those raw lacks)."""
    if not _table_exists(con, RECORDS_TABLE):
        return 0, 0
    landed, missing = con.execute(
        f"select count(*), count(*) filter (where not exists (select 1 from raw.web_events "
        f"as r where r.event_id = replayed.event_id)) from {RECORDS_TABLE} as replayed "
        f"where outcome = '{LANDED}' and source_kind != '{REJECTS_SOURCE}'"
    ).fetchone()
    return int(landed), int(missing)


def replay_sources(con) -> list[dict[str, Any]]:
    """One input per source object of error output replayed into the lake."""
    _, missing = _replayed_into_raw(con)
    return [
        _source(f"replay of {figures.source_object}", records_in=figures.records_in,
                landed=figures.landed, failed=figures.failed_again, dropped=figures.dropped,
                erased=figures.erased, failed_by_reason=figures.failed_again_by_reason,
                checks_pass=missing == 0)
        for figures in replay_figures(con) if figures.source_kind != REJECTS_SOURCE
    ]


def stream_figures(con, lake: Path) -> dict[str, Any] | None:
    """The stream's figures from the ledger, raw.web_events and the error output."""
    files = ledger.rows(con, "ingest")
    if not files:
        return None
    (landed,) = con.execute(
        "select count(*) from raw.web_events where load_source = 'firehose'"
    ).fetchone()
    replayed, _ = _replayed_into_raw(con)
    failed = error_output_records(lake)
    return _source(STREAM, records_in=sum(row["records_in"] for row in files),
                   landed=landed - replayed, failed=sum(failed.values()),
                   dropped=sum(row["dropped"] for row in files), failed_by_reason=failed,
                   erased=erased_stream_records(con))


def erased_stream_records(con) -> int:
    """Stream records a local erasure removed (its rows and its error output), as audited.

    The erasure deletes from raw and rewrites the error output but the ledger keeps what
    came in, so without this column an erased person's records would read as lost. A row a
    replay had landed is the replay's, not the stream's: it is counted as erased there.
    """
    audits = con.execute(
        "select rows_removed from raw.erasure_audit where engine = 'local'").fetchall()
    erased = 0
    for (removed,) in audits:
        counts = json.loads(removed or "{}")
        erased += int(counts.get(f"{ERASED_FROM_RAW}firehose", 0))
        erased += int(counts.get(ERASED_ERROR_OUTPUT, 0))
        erased -= int(counts.get(ERASED_REPLAYED, 0))
    return erased


def reconciliation(con, lake: Path) -> dict[str, Any]:
    """Every input ever loaded into the lake, per kind and in total, from the tables."""
    ledger.ensure(con, lake)
    sources = [figures for figures in (archive_figures(con), stream_figures(con, lake))
               if figures is not None] + replay_sources(con)
    reasons: Counter = Counter()
    for source in sources:
        reasons.update(source["failed_by_reason"])
    total = _source("all inputs", **{key: sum(s[key] for s in sources) for key in FIGURES},
                    failed_by_reason=reasons)
    total["balanced"] = total["balanced"] and all(source["balanced"] for source in sources)
    return {**total, "sources": sources}


def write_summary(path: str | os.PathLike, summary: dict[str, Any]) -> None:
    """A command's --summary JSON, written atomically: readers see the old file or the new."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=target.parent, prefix=f".{target.name}.",
                                     delete=False, encoding="utf-8") as handle:
        json.dump(summary, handle, indent=1, default=str)
        handle.flush()
        os.fsync(handle.fileno())
    Path(handle.name).replace(target)


# ---- a command's --summary (run, ingest, backfill) ------------------------------------
@dataclass
class SourceFigures:
    """Records in and what became of them, for one kind of input."""

    name: str
    records_in: int = 0
    landed: int = 0
    skipped: int = 0  # already landed by an earlier load (the backfill's skip rule)
    failed: int = 0
    dropped: int = 0
    failed_by_reason: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"name": self.name, "records_in": self.records_in, "landed": self.landed,
                "skipped": self.skipped, "failed": self.failed, "dropped": self.dropped,
                "failed_by_reason": dict(self.failed_by_reason)}


def stream_source_figures(result) -> SourceFigures:
    """The Firehose stand-in's IngestSummary as records in / landed / failed / dropped."""
    return SourceFigures(
        "stream via Firehose stand-in",
        records_in=result.records_in,
        landed=result.ok,
        failed=result.failed,
        dropped=result.dropped,
        failed_by_reason={str(reason): int(count) for reason, count in result.reasons.items()
                          if reason not in DROPPED_REASONS},
    )


def lake_figures(lake: Path) -> dict[str, Any]:
    """Duplicates removed, bots by reason and the quality distribution, from the tables."""
    engine = get_engine("local", lake=lake)
    try:
        def one(sql: str) -> tuple:
            return engine.query(sql)[1][0]

        (raw_rows,) = one("select count(*) from raw.web_events")
        analytics_rows, bots = one(
            "select count(*), count_if(is_bot) from analytics.web_events"
        )
        _, reason_rows = engine.query(
            "select reason, count(*) as events from analytics.web_events "
            "cross join unnest(bot_reasons) as fired(reason) "
            "group by reason order by events desc, reason"
        )
        _, buckets = engine.query(
            "select case when data_quality_score >= 1 then '1.0' "
            "when data_quality_score >= 0.8 then '0.8-1' "
            "when data_quality_score >= 0.5 then '0.5-0.8' else '<0.5' end as bucket, "
            "count(*) from analytics.web_events group by 1 order by 1 desc"
        )
    finally:
        engine.close()
    return {
        "raw_rows": int(raw_rows),
        "analytics_rows": int(analytics_rows),
        "duplicates_removed": int(raw_rows) - int(analytics_rows),
        "bot_events": int(bots or 0),
        "bots_by_reason": {str(r): int(n) for r, n in reason_rows},
        "quality_distribution": {str(b): int(n) for b, n in buckets},
    }


def build_summary(lake: Path, this_run: list[SourceFigures],
                  skipped: list[str]) -> dict[str, Any]:
    """The run's summary: the reconciliation and figures counted from the tables."""
    con = connect(lake)
    try:
        figures = reconciliation(con, lake)
    finally:
        con.close()
    return {
        "lake": str(lake),
        "finished_at": clock.now().isoformat(timespec="seconds"),
        **figures,
        "this_run": [source.as_dict() for source in this_run],
        "skipped_files": skipped,
        **lake_figures(lake),
    }
