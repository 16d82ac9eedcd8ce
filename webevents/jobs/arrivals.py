"""The daily steps by arrival: merge what landed since the last run, whatever its event date.

An event is merged into analytics.web_events by the run after it lands in raw.web_events,
however old its event_timestamp: `enrich` reads the rows whose received_at (the Firehose
arrival; a backfill's load time) is at or after the last run's newest arrival minus
ARRIVAL_OVERLAP, finds the event dates they carry, and merges those dates with
sql/enrich, each statement over at most MAX_WINDOW_DAYS consecutive dates (Athena writes at
most 100 partitions per statement; webevents/jobs/windows.py). The event dates are only the
partition bound of each statement; the MERGE takes the event_ids that arrived.

The bookkeeping table analytics.web_events_arrival_marks gets one row per step that
finished: `enrich` (the arrivals it merged and their event dates), then `bots` and `dbt`
(they handled the dates of every enrich row up to that arrival). bots and the marts
therefore rebuild exactly the dates that enrich touched since they last ran, even when an
earlier job failed between the steps. Locally a step's work and its row commit in one
transaction. Athena has no multi-statement transactions: the row is written after the
work, every statement is an idempotent MERGE, so a job killed in between repeats the work
and ends identical.

ARRIVAL_OVERLAP: received_at is stamped when Firehose receives a record, and the record is
committed to the table up to the buffering interval plus the retry duration later
(template.yaml DeliveryBufferIntervalSeconds <= 900 s, DeliveryRetrySeconds <= 7200 s,
ProcessorBufferIntervalSeconds <= 900 s), or, with a Kinesis source, up to the stream's
retention later (KinesisRetentionHours, 24 h by default). Re-reading that long before the
last mark catches a row committed after the last run read past its received_at; the MERGE
changes nothing for the rows it already merged.
https://docs.aws.amazon.com/firehose/latest/dev/create-destination.html (buffering hints,
retry duration)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from webevents import SQL_DIR, clock, failpoints
from webevents.engines import EngineError, get_engine
from webevents.jobs.sql import SqlRunError, default_params, run_files
from webevents.jobs.windows import MAX_WINDOW_DAYS
from webevents.local.lake import locked, resolve_lake

ARRIVALS_DIR = SQL_DIR / "arrivals"
DATES_SELECT = ARRIVALS_DIR / "raw_web_events_arrival_dates_select.sql"
MARKS_SELECT = ARRIVALS_DIR / "analytics_web_events_arrival_marks_select.sql"
MARK_MERGE = ARRIVALS_DIR / "analytics_web_events_arrival_marks_merge.sql"
NEWEST_SELECT = ARRIVALS_DIR / "analytics_web_events_newest_date_select.sql"
STEPS = ("enrich", "bots", "dbt")
# Kinesis retention (24 h) + Lambda buffer (15 min) + delivery buffer (15 min) + retries (2 h)
ARRIVAL_OVERLAP = dt.timedelta(hours=27)
# The dbt var the incremental window macro reads (dbt/macros/incremental_window.sql)
DBT_VAR = "late_event_dates"
DBT_ENV = "WEBEVENTS_LATE_EVENT_DATES"
# The data tests' window bound, read once per job (dbt/macros/data_test_window.sql)
NEWEST_ENV = "WEBEVENTS_NEWEST_EVENT_DATE"


@dataclass(frozen=True)
class Mark:
    """One row of analytics.web_events_arrival_marks."""

    step: str
    arrived_from: dt.datetime | None
    arrived_through: dt.datetime
    event_dates: tuple[dt.date, ...] = ()


@dataclass
class Arrivals:
    """What an enrich run merges: arrivals in [arrived_from, arrived_through], their dates."""

    arrived_from: dt.datetime | None
    arrived_through: dt.datetime | None = None
    rows: int = 0
    event_dates: list[dt.date] = field(default_factory=list)


def timestamp_text(value: dt.datetime) -> str:
    """A timestamp(6) literal's text: Athena and Trino read 3 digits as timestamp(3)."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _timestamp(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(
            dt.UTC).replace(tzinfo=None)
    text = str(value).strip().replace("T", " ").removesuffix(" UTC").removesuffix("Z")
    return dt.datetime.fromisoformat(text)


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else (
        dt.date.fromisoformat(str(value)[:10]))


def parse_dates(text: str | None) -> list[dt.date]:
    """ISO dates, comma-separated (the bookkeeping column and the dbt var), sorted, unique."""
    found = set()
    for part in (text or "").replace(" ", "").split(","):
        if part:
            try:
                found.add(dt.date.fromisoformat(part))
            except ValueError:
                raise ValueError(f"{part!r} is not a date (YYYY-MM-DD)") from None
    return sorted(found)


def dates_text(dates) -> str:
    return ",".join(d.isoformat() for d in sorted(set(dates)))


def date_windows(dates, max_days: int = MAX_WINDOW_DAYS) -> list[dict[str, str]]:
    """run_date / lookback_days per statement: runs of consecutive dates, each at most
    max_days long, oldest first, so no statement writes more than 100 partitions and none
    reads a date between two runs that nothing touched."""
    windows: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(dates)):
        if windows and day == windows[-1][1] + dt.timedelta(days=1) and (
                day - windows[-1][0]).days < max_days:
            windows[-1] = (windows[-1][0], day)
        else:
            windows.append((day, day))
    return [{"run_date": last.isoformat(), "lookback_days": str((last - first).days)}
            for first, last in windows]


# ---- reading and writing the bookkeeping -------------------------------------------------
def _run(engine, path, params: Mapping[str, Any]):
    return run_files([path], engine=engine, params=params, echo=None)[0]


def read_marks(engine) -> list[Mark]:
    """Every recorded mark, oldest first."""
    result = _run(engine, MARKS_SELECT, {})
    return [Mark(str(step), _timestamp(arrived_from), _timestamp(arrived_through),
                 tuple(parse_dates(event_dates)))
            for step, arrived_from, arrived_through, event_dates, _ in result.rows]


def record(engine, step: str, arrived_from: dt.datetime | None, arrived_through: dt.datetime,
           event_dates=(), marks: list[Mark] | None = None) -> None:
    """The step's row for arrived_through, its event_dates widened by those given (the
    union with a row already recorded for the same arrivals: a re-run adds no row)."""
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}: one of {', '.join(STEPS)}")
    marks = read_marks(engine) if marks is None else marks
    recorded = {d for m in marks if m.step == step and m.arrived_through == arrived_through
                for d in m.event_dates}
    params = {"step": step, "arrived_through_at": timestamp_text(arrived_through),
              "event_dates": dates_text(recorded | set(event_dates)),
              "logged_at": timestamp_text(clock.now().replace(tzinfo=None))}
    if arrived_from is not None:
        params["arrived_from_at"] = timestamp_text(arrived_from)
    _run(engine, MARK_MERGE, params)


def last_mark(marks: list[Mark], step: str) -> dt.datetime | None:
    return max((m.arrived_through for m in marks if m.step == step), default=None)


def pending(marks: list[Mark], step: str) -> tuple[list[dt.date], dt.datetime | None]:
    """The event dates enrich merged that `step` has not handled yet, and the newest
    arrival they cover (None: nothing pending).

    Those of enrich rows newer than the step's last row, and those that an enrich of the
    same arrivals added after the step had handled them (rows committed late, re-read by
    the overlap, can add dates to an enrich row whose arrived_through did not move).
    """
    last = last_mark(marks, step)
    handled = {d for m in marks if m.step == step and m.arrived_through == last
               for d in m.event_dates}
    dates: set[dt.date] = set()
    through = None
    for mark in marks:
        if mark.step != "enrich":
            continue
        if last is None or mark.arrived_through > last:
            new = set(mark.event_dates)
        elif mark.arrived_through == last:
            new = set(mark.event_dates) - handled
        else:
            continue
        if new:
            dates |= new
            through = max(through or mark.arrived_through, mark.arrived_through)
    return sorted(dates), through


def plan(engine, since: dt.datetime | None = None,
         overlap: dt.timedelta = ARRIVAL_OVERLAP, everything: bool = False) -> Arrivals:
    """The arrivals the next enrich merges: from the last enrich's newest arrival minus the
    overlap (or `since`, when earlier; nothing recorded or `everything`: every row), to the
    newest now."""
    mark = None if everything else last_mark(read_marks(engine), "enrich")
    start = mark - overlap if mark is not None else None
    if since is not None and (start is None or since < start):
        start = since
    params = {"arrived_from_at": timestamp_text(start)} if start is not None else {}
    result = _run(engine, DATES_SELECT, params)
    arrivals = Arrivals(arrived_from=start)
    for event_date, rows, newest in result.rows:
        arrivals.event_dates.append(_date(event_date))
        arrivals.rows += int(rows)
        newest = _timestamp(newest)
        if arrivals.arrived_through is None or newest > arrivals.arrived_through:
            arrivals.arrived_through = newest
    return arrivals


def _unit(engine):
    """One transaction where the engine has them (local), else statements as they come."""
    transaction = getattr(engine, "transaction", None)
    return transaction() if transaction else contextlib.nullcontext()


# ---- the steps ---------------------------------------------------------------------------
def enrich(engine, params: Mapping[str, Any] | None = None,
           echo: Callable[[str], None] | None = None,
           since: dt.datetime | None = None, everything: bool = False) -> Arrivals:
    """sql/enrich over the arrivals since the last run; records the 'enrich' mark.

    `everything`: every row of raw.web_events counts as arrived (the enrich code changed).
    """
    arrivals = plan(engine, since, everything=everything)
    if arrivals.arrived_through is None:
        if echo:
            echo("no rows arrived since the last run; nothing to merge")
        return arrivals
    windows = date_windows(arrivals.event_dates)
    if echo:
        start = (f"since {timestamp_text(arrivals.arrived_from)}" if arrivals.arrived_from
                 else "from the first")
        echo(f"{arrivals.rows:,} row(s) arrived {start}"
             f" through {timestamp_text(arrivals.arrived_through)}, on "
             f"{len(arrivals.event_dates)} event date(s) "
             f"{arrivals.event_dates[0]}..{arrivals.event_dates[-1]}: {len(windows)} window(s)")
    through = {"arrived_through_at": timestamp_text(arrivals.arrived_through)}
    if arrivals.arrived_from is not None:
        through["arrived_from_at"] = timestamp_text(arrivals.arrived_from)
    with _unit(engine):
        for window in windows:
            run_files([SQL_DIR / "enrich"], engine=engine,
                      params={**(params or {}), **window, **through}, echo=echo)
        failpoints.reach("enrich.merged")
        record(engine, "enrich", arrivals.arrived_from, arrivals.arrived_through,
               arrivals.event_dates)
    return arrivals


def flag_bots(engine, params: Mapping[str, Any] | None = None,
              echo: Callable[[str], None] | None = None,
              also_dates=()) -> list[dt.date]:
    """sql/bots over the event dates enrich touched since bots last ran (and `also_dates`);
    records 'bots'.

    Bot rules judge one event date at a time (docs/decisions.md D-ATHENA-3), so flagging
    those dates gives every event the verdict a run over all dates would.
    """
    marks = read_marks(engine)
    dates, through = pending(marks, "bots")
    dates = sorted(set(dates) | set(also_dates))
    if through is None and dates:  # only also_dates: the mark stays where it is
        through = last_mark(marks, "bots")
    if not dates:
        if echo:
            echo("no event dates merged since bots last ran")
        return []
    with _unit(engine):
        for window in date_windows(dates):
            run_files([SQL_DIR / "bots"], engine=engine, params={**(params or {}), **window},
                      echo=echo)
        failpoints.reach("bots.flagged")
        if through is not None:
            record(engine, "bots", None, through, dates)
    return dates


def dbt_dates(engine) -> tuple[list[dt.date], dt.datetime | None]:
    """The event dates the marts have not rebuilt since enrich merged them (the dbt var)."""
    return pending(read_marks(engine), "dbt")


def newest_event_date(engine) -> dt.date | None:
    """The newest event_date of analytics.web_events (None when empty): from Iceberg
    metadata on Athena and Trino, so the job reads it once for all of dbt's data tests."""
    params = {"from_metadata": "no" if engine.name == "local" else "yes"}
    (newest,), = _run(engine, NEWEST_SELECT, params).rows
    return None if newest is None else _date(newest)


def dbt_built(engine, through: dt.datetime | None, dates=()) -> None:
    """Record that `dbt build` rebuilt `dates`, pending up to `through`."""
    if through is not None:
        record(engine, "dbt", None, through, dates)


# ---- `webevents arrivals` ----------------------------------------------------------------
def arrivals_command(args) -> int:
    """`webevents arrivals enrich|bots|dbt-dates|newest-date|dbt-built [--engine] [--lake]
    [--since]`."""
    try:
        since = _timestamp(args.since) if getattr(args, "since", None) else None
    except ValueError:
        print(f"error: --since {args.since!r} is not a timestamp (YYYY-MM-DD HH:MM:SS)",
              file=sys.stderr)
        return 1
    lock = contextlib.nullcontext()
    if args.engine == "local":
        args.lake = resolve_lake(args.lake)
        lock = locked(args.lake, "arrivals")

    def echo(line: str) -> None:
        print(f"{args.action}: {line}", file=sys.stderr)

    try:
        with lock:
            engine = get_engine(args.engine, lake=args.lake)
            try:
                if args.action == "enrich":
                    enrich(engine, default_params(), echo, since=since)
                elif args.action == "bots":
                    flag_bots(engine, default_params(), echo)
                elif args.action == "dbt-dates":
                    dates, through = dbt_dates(engine)
                    # stdout: the value for WEBEVENTS_LATE_EVENT_DATES / --vars
                    print(dates_text(dates))
                    echo(f"{len(dates)} event date(s) to rebuild in the marts"
                         + (f", arrivals through {timestamp_text(through)}" if through else ""))
                    if args.state:
                        with open(args.state, "w", encoding="utf-8") as handle:
                            json.dump({"through": timestamp_text(through) if through else None,
                                       DBT_VAR: dates_text(dates)}, handle)
                elif args.action == "newest-date":
                    newest = newest_event_date(engine)
                    # stdout: the value for WEBEVENTS_NEWEST_EVENT_DATE (empty: no events)
                    print(newest.isoformat() if newest else "")
                    echo(f"newest event date {newest or 'none (no events)'}")
                elif args.action == "dbt-built":
                    if args.state:  # what dbt-dates gave dbt, not what is pending now
                        with open(args.state, encoding="utf-8") as handle:
                            state = json.load(handle)
                        through = _timestamp(state.get("through"))
                        dates = parse_dates(state.get(DBT_VAR))
                    else:
                        dates, through = dbt_dates(engine)
                    dbt_built(engine, through, dates)
                    echo("recorded" if through else "nothing was pending")
            finally:
                engine.close()
    except (SqlRunError, EngineError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
