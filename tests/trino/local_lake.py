"""The DuckDB side of the parity checks: one sample through the local pipeline, built once."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from webevents import SQL_DIR
from webevents.local import dbt_runner

# Small but with every anomaly the generator makes (bots, duplicates, late, malformed).
SAMPLE = {"events": 3000, "days": 4, "seed": 23, "end_date": dt.date(2026, 11, 24)}
# Beside the sample, a visit that arrives 40 days after its (sub-millisecond) timestamps:
# the enrich window then spans 41 days (four windows) and the marts hold a far-late day.
FAR_LATE_START = dt.datetime(2026, 10, 15, 23, 58, 59, 999501)


def far_late_events() -> list[dict]:
    """A tour visit across midnight, 40 days before the sample's last day, µs timestamps."""
    return [{"type": "page", "messageId": f"far-late-{n}", "anonymousId": "a-far-late",
             "sessionId": "s-far-late",
             "timestamp": (FAR_LATE_START + dt.timedelta(seconds=37 * n, microseconds=n))
             .isoformat(timespec="microseconds") + "Z",
             "context": {"userAgent": "Mozilla/5.0 (Macintosh) Safari/605.1.15"},
             "properties": {"url": f"https://tours.example/tour/sp-far/room-{n % 3}",
                            "spaceId": "sp-far", "spaceType": "condo", "roomId": f"r-{n % 3}",
                            "coordinates": {"pitch": 4.5 * n, "yaw": 175.0 - 30 * n,
                                            "hfov": 80}}}
            for n in range(6)]


@dataclass
class LocalLake:
    folder: Path
    sample: Path
    archive_files: list[Path]
    stream_files: list[Path]
    params: dict[str, str]

    def engine(self):
        from webevents.engines import get_engine

        return get_engine("local", lake=self.folder)


def build_local_lake(root: Path) -> LocalLake:
    """Generate the sample, then backfill, ingest, enrich, bots and dbt on DuckDB."""
    from webevents.dev.generate import generate_sample
    from webevents.jobs.backfill import backfill_files
    from webevents.jobs.sql import run_files
    from webevents.local import ingest

    sample = root / "sample"
    generate_sample(sample, **SAMPLE)
    lake = root / "lake"
    lake.mkdir()
    archive = sorted(sample.glob("archive/dt=*/*.jsonl*"))
    far_late = sample / "stream" / "zz-far-late.jsonl"
    far_late.write_text("".join(json.dumps(event) + "\n" for event in far_late_events()))
    stream = sorted(sample.glob("stream/*.jsonl"))
    backfill_files(archive, lake=lake)
    ingest.ingest_files(stream, lake=lake, progress=False)
    local = LocalLake(lake, sample, archive, stream, params={})
    engine = local.engine()
    try:
        _, [(first, last)] = engine.query(
            "select min(event_date), max(event_date) from raw.web_events"
        )
        local.params = {
            "run_date": str(last),
            "lookback_days": str((_date(last) - _date(first)).days),
        }
        for step in ("enrich", "bots"):
            run_files([SQL_DIR / step], engine=engine, params=local.params, echo=None)
    finally:
        engine.close()  # DuckDB allows one writer: dbt opens the file next
    # models only: their data and unit tests are tests/dbt's business
    for command in ("seed", "run"):
        run_dbt([command, "--target", "local"], root / "dbt-local", {"WEBEVENTS_LAKE": str(lake)})
    return local


def run_dbt(args: list[str], work: Path, env: dict[str, str]) -> str:
    """dbt on the repo's project with artifacts under `work`; fails with dbt's output."""
    result = dbt_runner.run_dbt(args, work, env=env, timeout=900)
    if result.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{result.output[-8000:]}")
    return result.output


def _date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def buildspec_dbt_build(target: str, work: Path) -> list[str]:
    """buildspec.yml's `dbt build` arguments exactly as prod runs them, on `target`.

    Only the target and CodeBuild's source folder change: the tier runs what the scheduled
    job runs (seeds, models, unit tests, data tests), so it breaks where prod would.
    """
    import shlex

    import yaml

    from webevents import PROJECT_ROOT

    spec = yaml.safe_load((PROJECT_ROOT / "buildspec.yml").read_text())
    for command in spec["phases"]["build"]["commands"]:
        for line in command.replace("\\\n", " ").splitlines():
            words = shlex.split(line.replace("${CODEBUILD_SRC_DIR:-.}", str(work)))
            if words[:2] == [".venv/bin/dbt", "build"]:
                at = words.index("--target")
                assert words[at + 1] == spec["env"]["variables"]["DBT_TARGET"] == "prod"
                return [*words[1:at + 1], target, *words[at + 2:]]
    raise AssertionError("buildspec.yml runs no `dbt build`")


def run_dbt_as_buildspec(target: str, work: Path, env: dict[str, str]) -> str:
    """The buildspec's `dbt build` from the repo root (its paths are relative to it)."""
    import subprocess
    import sys

    from webevents import PROJECT_ROOT

    work.mkdir(parents=True, exist_ok=True)
    args = buildspec_dbt_build(target, work)
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "--no-use-colors", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **env},
    )
    output = completed.stdout + completed.stderr
    if completed.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{output[-8000:]}")
    return output
