"""Every table of a lake as sorted rows, and the differences between two lakes."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb

# written by dbt or the enrichment at run time; everything else must be identical on re-run
RUN_TIME_COLUMNS = {"processed_timestamp", "processed_at", "logged_at", "loaded_at",
                    "error_file"}  # error_file: the error output's name has a random part


def _without_lake(value, lake: str):
    return value.replace(lake, "<lake>") if isinstance(value, str) else value


def table_rows(lake: Path) -> dict[str, list[tuple]]:
    """Every row of every table in the lake, sorted, without the run-time columns.

    The lake's own folder in a value (a sample file's path) reads as `<lake>`, so lakes in
    two folders compare equal.
    """
    con = duckdb.connect(str(lake / "lake.duckdb"), read_only=True)
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where schema_name in ('raw', 'analytics', 'marts', 'ledger') order by all"
        ).fetchall()
        result = {}
        for schema, table in tables:
            columns = [f'"{name}"' for (name,) in con.execute(
                "select column_name from duckdb_columns() where schema_name = ? "
                "and table_name = ? order by column_index", [schema, table]).fetchall()
                if name not in RUN_TIME_COLUMNS]
            rows = con.execute(
                f'select {", ".join(columns)} from "{schema}"."{table}" order by all'
            ).fetchall()
            result[f"{schema}.{table}"] = sorted(
                (tuple(_without_lake(value, str(lake)) for value in row) for row in rows),
                key=repr)
        return result
    finally:
        con.close()


def same_value(a, b) -> bool:
    """Equal, except doubles: sums of doubles depend on the order rows are added in."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def differences(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> list[str]:
    """Tables whose rows changed, with the first changed row."""
    changed = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, []), after.get(table, [])
        if len(old) != len(new):
            changed.append(f"{table}: {len(old)} rows -> {len(new)}")
            continue
        for old_row, new_row in zip(old, new, strict=True):
            if not same_value(old_row, new_row):
                changed.append(f"{table}: {old_row} -> {new_row}")
                break
    return changed
