"""dbt as a subprocess on the project's dbt/ folder: the one command line and environment
that the pipeline, erasure, the smoke test's scratch build, the tests and the benchmarks use.

dbt runs in a process of its own (the dbt of this interpreter's environment, .venv/bin/dbt,
as buildspec.yml runs it): its adapters hold their own DuckDB/Athena/Trino connections, and
an interrupted build ends with the command that started it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webevents import DBT_DIR

DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")


@dataclass
class DbtResult:
    returncode: int
    output: str  # stdout then stderr, without colour codes
    target_path: Path | None

    def artifact(self, name: str) -> dict:
        """One of dbt's JSON artifacts (run_results.json, manifest.json) of this run."""
        if self.target_path is None:
            raise ValueError("this dbt run kept dbt's default target path")
        return json.loads((self.target_path / name).read_text(encoding="utf-8"))


def dbt_command(args: Sequence[str], work: Path | None = None,
                project_dir: Path | str = DBT_DIR) -> list[str]:
    """`dbt --no-use-colors <args>` on the project; with `work`, its target/ and logs/ go
    there (never into the repo tree)."""
    command = [str(DBT_EXECUTABLE), "--no-use-colors", *args,
               "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    if work is not None:
        command += ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    return command


def dbt_environment(lake: Path | str | None = None, extra: Mapping[str, str] | None = None,
                    base: Mapping[str, str] | None = None,
                    project_dir: Path | str = DBT_DIR) -> dict[str, str]:
    """The process environment dbt runs with: no usage statistics sent, the profiles in
    project folder, WEBEVENTS_LAKE for the local target's DuckDB file, then `extra`."""
    environment = {
        **(os.environ if base is None else base),
        "DBT_PROFILES_DIR": str(project_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if lake is not None:
        environment["WEBEVENTS_LAKE"] = str(Path(lake).resolve())
    return environment | dict(extra or {})


def run_dbt(args: Sequence[str], work: Path | None = None, lake: Path | str | None = None,
            env: Mapping[str, str] | None = None, cwd: Path | None = None,
            timeout: float | None = None, **popen: Any) -> DbtResult:
    """`dbt <args>` to the end; the caller decides what a non-zero exit means."""
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        dbt_command(args, work), env=dbt_environment(lake, env), cwd=cwd or work or DBT_DIR,
        capture_output=True, text=True, timeout=timeout, check=False, **popen,
    )
    return DbtResult(completed.returncode, completed.stdout + completed.stderr,
                     work / "target" if work is not None else None)
