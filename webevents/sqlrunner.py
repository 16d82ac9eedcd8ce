"""INTERIM (replaced by the SQL-layer work): creates the local tables from the landing contract."""

from __future__ import annotations

import sys

from webevents import LAMBDA_DIR

sys.path.insert(0, str(LAMBDA_DIR))
import landing_contract  # noqa: E402

_DUCKDB_TYPES = {
    "string": "varchar",
    "timestamp": "timestamp",
    "date": "date",
    "double": "double",
    "boolean": "boolean",
    "int": "integer",
    "array<string>": "varchar[]",
    landing_contract.COORDINATES_TYPE: "struct(pitch double, yaw double, hfov double)",
}


def run_ddl_locally(con) -> None:
    for schema, columns in (
        ("raw", landing_contract.LANDING_COLUMNS),
        ("analytics", landing_contract.ANALYTICS_COLUMNS),
    ):
        con.execute(f"create schema if not exists {schema}")
        body = ", ".join(f"{name} {_DUCKDB_TYPES[kind]}" for name, kind, _ in columns)
        con.execute(f"create table if not exists {schema}.web_events ({body})")
