"""Local runner for the web-events pipeline: Firehose stand-in, SQL runner, dbt, report."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = PROJECT_ROOT / "sql"
DBT_DIR = PROJECT_ROOT / "dbt"
LAMBDA_DIR = PROJECT_ROOT / "transform_lambda"
