"""Rows in and out of either engine: Athena SQL literals for INSERT, and comparable values."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence

import landing_contract

LANDING = [name for name, _, _ in landing_contract.LANDING_COLUMNS]
LANDING_TYPES = {name: kind for name, kind, _ in landing_contract.ANALYTICS_COLUMNS}


def literal(value, kind: str) -> str:
    """An Athena SQL literal of `value` for a column of Iceberg type `kind`."""
    if value is None:
        return "null"
    if kind == "string":
        return "'" + str(value).replace("'", "''") + "'"
    if kind == "timestamp":
        return f"timestamp '{value.isoformat(sep=' ', timespec='microseconds')}'"
    if kind == "date":
        return f"date '{value.isoformat()}'"
    if kind in ("double", "int"):
        return f"cast({value!r} as {'double' if kind == 'double' else 'integer'})"
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "array<string>":
        items = ", ".join(literal(v, "string") for v in value)
        return f"cast(array[{items}] as array(varchar))"
    if kind == landing_contract.COORDINATES_TYPE:
        parts = ", ".join(literal(v, "double") for v in _fields(value))
        return f"cast(row({parts}) as row(pitch double, yaw double, hfov double))"
    raise ValueError(f"no literal for type {kind}")


def _fields(value) -> tuple:
    if isinstance(value, dict):
        return tuple(value.get(k) for k in ("pitch", "yaw", "hfov"))
    return tuple(value)


def insert_sql(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> str:
    """One Athena INSERT ... VALUES statement for `rows` (tuples in `columns` order)."""
    values = ",\n".join(
        "("
        + ", ".join(literal(v, LANDING_TYPES[c]) for c, v in zip(columns, row, strict=True))
        + ")"
        for row in rows
    )
    return f"insert into {table} ({', '.join(columns)}) values\n{values}"


def copy_table(source, target, table: str, columns: Sequence[str], batch: int = 400) -> int:
    """Copy every row of `table` from one engine to the other (same Athena SQL both sides)."""
    _, rows = source.query(f"select {', '.join(columns)} from {table}")
    for start in range(0, len(rows), batch):
        target.execute(insert_sql(table, columns, rows[start : start + batch]))
    return len(rows)


def comparable(value):
    """A value both engines' Python clients agree on: rows and arrays as tuples, JSON parsed."""
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 9)
    if isinstance(value, dict):
        return tuple(comparable(v) for v in value.values())
    if isinstance(value, list | tuple):
        return tuple(comparable(v) for v in value)
    if isinstance(value, dt.datetime):
        return (
            value.replace(tzinfo=None)
            if value.tzinfo is None
            else (value.astimezone(dt.UTC).replace(tzinfo=None))
        )
    return value


JSON_TEXT_COLUMNS = frozenset(
    ("properties", "context", "traits", "extra")
    + ("properties_json", "context_json", "traits_json", "extra_json")
)


def comparable_row(columns: Sequence[str], row: Sequence) -> tuple:
    out = []
    for column, value in zip(columns, row, strict=True):
        if column in JSON_TEXT_COLUMNS and isinstance(value, str):
            # docs/landing-normalisation.md §6: JSON columns compare as parsed JSON (Trino
            # writes a map's keys sorted, DuckDB in the order the producer sent them)
            out.append(json.dumps(json.loads(value), sort_keys=True))
        elif column == "source_file" and isinstance(value, str):
            # Trino's "$path" carries the file system scheme (local:// here, s3:// on AWS).
            out.append(value.split("://", 1)[-1])
        else:
            out.append(comparable(value))
    return tuple(out)


def table_snapshot(engine, table: str, columns: Sequence[str]) -> list[tuple]:
    """Every row of `table` as comparable tuples, sorted (engines return rows in any order)."""
    _, rows = engine.query(f"select {', '.join(columns)} from {table}")
    return sorted((comparable_row(columns, row) for row in rows), key=repr)


def assert_same_rows(actual: list[tuple], expected: list[tuple], columns: Sequence[str]) -> None:
    """Same rows on Trino (`actual`) as on DuckDB (`expected`), doubles within float noise.

    On failure the message pairs the rows found on one side only and names the columns
    that differ, so an engine difference reads as "column: (duckdb, trino)".
    """
    only_duckdb = sorted((Counter(expected) - Counter(actual)).elements(), key=repr)
    only_trino = sorted((Counter(actual) - Counter(expected)).elements(), key=repr)
    if len(only_duckdb) == len(only_trino) and all(
        same_value(a, b) for a, b in zip(only_duckdb, only_trino, strict=True)
    ):
        return  # equal up to floating-point noise in the last digits
    lines = [
        f"{len(expected)} rows on DuckDB, {len(actual)} on Trino; "
        f"{len(only_duckdb)} only on DuckDB, {len(only_trino)} only on Trino"
    ]
    for want, got in list(zip(only_duckdb, only_trino, strict=False))[:5]:
        diffs = {
            c: (w, g) for c, w, g in zip(columns, want, got, strict=True) if not same_value(w, g)
        }
        lines.append(f"  {columns[0]}={want[0]!r}: (duckdb, trino) {diffs}")
    extra = only_duckdb[len(only_trino) :] or only_trino[len(only_duckdb) :]
    lines += [f"  unpaired: {dict(zip(columns, row, strict=True))}" for row in extra[:3]]
    raise AssertionError("\n".join(lines))


def same_value(left, right) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        # abs 1e-6: durations are differences of seconds since 1970 as doubles, whose last
        # bit there is 2.4e-7 s; Trino's to_unixtime (millis + fraction) and DuckDB's epoch
        # (microseconds) round microsecond event times differently within that
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-6)
    if isinstance(left, tuple) and isinstance(right, tuple) and len(left) == len(right):
        return all(same_value(a, b) for a, b in zip(left, right, strict=True))
    return left == right
