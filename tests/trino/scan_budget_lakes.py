"""Two Trino lakes from one archive, and the daily run measured on both (webevents.dev.scan_budget).

The history lake holds `history_days` archive days before run_date, the window lake only
the rebuild window's days; both are enriched, flagged and dbt-built up to the day before,
then run_date's archive file arrives and the daily run (buildspec.yml's steps: sql/enrich,
sql/bots, `arrivals newest-date` then `dbt build`, sql/maintenance, for run_date) runs on
each under a Meter.
Used by tests/trino/test_scan_budget.py and bench/bench_scan_budget.py.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from tests.trino.local_lake import run_dbt, run_dbt_as_buildspec
from webevents import SQL_DIR
from webevents.dev.scan_budget import PROBE, Budget, Meter
from webevents.jobs import arrivals

# The daily run's lookback (sql/ default_params, dbt var lookback_days). dbt rewrites from
# the newest built date minus lookback_days and sessions open at that start reach a day
# further back (dbt/macros/incremental_window.sql): the rebuild window is
# [run_date - WINDOW_DAYS_BEFORE_RUN, run_date].
LOOKBACK_DAYS = 3
WINDOW_DAYS_BEFORE_RUN = LOOKBACK_DAYS + 2


def archive_day(path: Path) -> dt.date:
    return dt.date.fromisoformat(path.parent.name.removeprefix("dt="))


def measure_scan_budget(
    port: int, work: Path, history_days: int, events: int, run_date: dt.date, seed: int = 11,
    probes: tuple[str, ...] = (),
) -> Budget:
    """The daily run for run_date on a lake with history_days of history and on its window."""
    from webevents.dev.generate import generate_sample

    sample = work / "sample"
    # The generator writes its last days // 7 days as a stream (unused here): size the
    # sample so that its archive ends on run_date and starts history_days before it.
    days = history_days + 1
    while days - days // 7 < history_days + 1:
        days += 1
    generate_sample(sample, events=events, days=days, seed=seed,
                    end_date=run_date + dt.timedelta(days=days // 7))
    files = sorted(sample.glob("archive/dt=*/*"))
    window_start = run_date - dt.timedelta(days=WINDOW_DAYS_BEFORE_RUN)
    meters = {}
    for name, first_day in (("history", run_date - dt.timedelta(days=history_days)),
                            ("window", window_start)):
        chosen = [f for f in files if first_day <= archive_day(f) <= run_date]
        meters[name] = daily_run_on_new_lake(port, work / name, chosen, run_date, probes)
    return Budget(run_date, history_days, WINDOW_DAYS_BEFORE_RUN + 1,
                  meters["history"], meters["window"])


def daily_run_on_new_lake(
    port: int, folder: Path, files: list[Path], run_date: dt.date, probes: tuple[str, ...] = ()
) -> Meter:
    """A new catalog built from the files before run_date; run_date's daily run, metered.

    `probes`: queries metered after the run as steps `probe: <sql>` (outside the budget),
    so a test can show what a known whole-table read measures.
    """
    from webevents.dev.trino_server import catalog_properties, create_catalog_sql
    from webevents.engines import get_engine
    from webevents.jobs.backfill import backfill_files
    from webevents.jobs.sql import run_files

    catalog = f"scan_{folder.name}_{uuid.uuid4().hex[:6]}"
    admin = get_engine("trino", port=port, catalog="system")
    for statement in create_catalog_sql(catalog, folder / "warehouse"):
        admin.execute(statement)
    engine = get_engine("trino", port=port, catalog=catalog, s3_root=folder / "s3")
    env = {"TRINO_PORT": str(port), "TRINO_CATALOG": catalog}
    try:
        run_files([SQL_DIR / "ddl"], engine=engine, echo=None)
        before = [f for f in files if archive_day(f) < run_date]
        backfill_files(before, engine=engine)
        built_to = run_date - dt.timedelta(days=1)
        first = min(archive_day(f) for f in before)
        history = {"run_date": built_to.isoformat(), "lookback_days": str((built_to - first).days)}
        for step in ("enrich", "bots"):
            run_files([SQL_DIR / step], engine=engine, params=history, echo=None)
        for command in ("seed", "run"):
            run_dbt([command, "--target", "trino"], folder / "dbt-initial", env)
        backfill_files([f for f in files if archive_day(f) == run_date], engine=engine)
        # the daily run, as buildspec.yml runs it for run_date
        meter = Meter(port, catalog)
        daily = {"run_date": run_date.isoformat(), "lookback_days": str(LOOKBACK_DAYS)}
        for step in ("enrich", "bots"):
            meter.run(step, lambda step=step: run_files(
                [SQL_DIR / step], engine=engine, params=daily, echo=None))
        newest = []
        meter.run("newest date", lambda: newest.append(arrivals.newest_event_date(engine)))
        meter.run("dbt", lambda: run_dbt_as_buildspec(
            "trino", folder / "dbt-daily", {**env, arrivals.NEWEST_ENV: newest[0].isoformat()}))
        meter.run("maintenance", lambda: run_files(
            [SQL_DIR / "maintenance"], engine=engine, params=daily, echo=None))
        for sql in probes:
            meter.run(f"{PROBE}{sql}", lambda sql=sql: engine.query(sql))
        return meter
    finally:
        engine.close()
        for name in reversed(list(catalog_properties(catalog, folder / "warehouse"))):
            admin.execute(f"drop catalog if exists {name}")
        admin.close()
