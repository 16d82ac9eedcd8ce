"""The `webevents` command (cli.py) and the project's paths. The package, by role:

engines/  where SQL runs: athena, local (DuckDB, with transpile: Athena SQL to DuckDB), trino
jobs/     what runs against a deployed lake on any engine: the daily job's steps, operator commands
aws/      the deployed stack and its tooling: outputs, migrate, adopt, smoke, the endpoint contract
local/    the local stand-ins for AWS: ingest (Firehose), lake, ledger, run, serve, report
dev/      developer tooling: sample traffic, the Trino fidelity-tier server, the scan budget
clock.py and failpoints.py, at the top, are shared by every role.
"""

import importlib
import sys
from pathlib import Path
from types import ModuleType

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = PROJECT_ROOT / "sql"
DBT_DIR = PROJECT_ROOT / "dbt"
LAMBDA_DIR = PROJECT_ROOT / "transform_lambda"


def lambda_module(name: str) -> ModuleType:
    """A module of transform_lambda/, imported as Lambda imports it: its folder is the root
    of its imports (it is not a package)."""
    if str(LAMBDA_DIR) not in sys.path:
        sys.path.insert(0, str(LAMBDA_DIR))
    return importlib.import_module(name)
