"""dbt for the tests: the project's runner (webevents/local/dbt_runner.py) on a lake under a
temporary folder, never writing into the repo tree; a failed run fails the test."""

from __future__ import annotations

from pathlib import Path

import pytest

from webevents.local import dbt_runner
from webevents.local.dbt_runner import DbtResult

__all__ = ["DUMMY_PROD_ENV", "DbtResult", "run_dbt"]

# dbt-athena renders these at parse time; dummy values keep `dbt parse` offline.
DUMMY_PROD_ENV = {
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "DBT_MARTS_DATABASE": "webevents_marts",
    "DBT_MARTS_S3_LOCATION": "s3://example-marts-bucket/dbt",
    "ATHENA_WORKGROUP": "primary",
    "S3_TABLES_CATALOG": "s3tablescatalog/example-table-bucket",
}


def run_dbt(args: list[str], work: Path, lake: Path | None = None, env: dict | None = None,
            check: bool = True) -> DbtResult:
    """`dbt <args>` on the repo's project; artifacts and logs go under `work`."""
    result = dbt_runner.run_dbt(args, work, lake=lake, env=env, timeout=300)
    if check and result.returncode != 0:
        pytest.fail(f"dbt {' '.join(args)} failed:\n{result.output[-6000:]}")
    return result
