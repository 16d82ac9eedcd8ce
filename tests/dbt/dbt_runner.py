"""Run dbt as a subprocess on a lake under a temporary folder, never writing into the repo tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from webevents import DBT_DIR

DBT = Path(sys.executable).with_name("dbt")

# dbt-athena renders these at parse time; dummy values keep `dbt parse` offline.
DUMMY_PROD_ENV = {
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "DBT_MARTS_DATABASE": "webevents_marts",
    "DBT_MARTS_S3_LOCATION": "s3://example-marts-bucket/dbt",
    "ATHENA_WORKGROUP": "primary",
    "S3_TABLES_CATALOG": "s3tablescatalog/example-table-bucket",
}


@dataclass
class DbtResult:
    returncode: int
    output: str
    target_path: Path

    def artifact(self, name: str) -> dict:
        return json.loads((self.target_path / name).read_text())


def run_dbt(args: list[str], work: Path, lake: Path | None = None, env: dict | None = None,
            check: bool = True) -> DbtResult:
    """`dbt <args>` on the repo's project; artifacts and logs go under `work`."""
    work.mkdir(parents=True, exist_ok=True)
    target_path = work / "target"
    environment = {
        **os.environ,
        "DBT_PROFILES_DIR": str(DBT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **(env or {}),
    }
    if lake is not None:
        environment["WEBEVENTS_LAKE"] = str(lake)
    completed = subprocess.run(
        [str(DBT), *args, "--project-dir", str(DBT_DIR), "--target-path", str(target_path),
         "--log-path", str(work / "logs")],
        cwd=work, env=environment, capture_output=True, text=True, timeout=300,
    )
    result = DbtResult(completed.returncode, completed.stdout + completed.stderr, target_path)
    if check and completed.returncode != 0:
        pytest.fail(f"dbt {' '.join(args)} failed:\n{result.output[-6000:]}")
    return result
