"""`webevents query "SQL"`: one Athena-dialect query on the lake (or Athena / Trino), printed."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import sys
from collections.abc import Sequence
from typing import Any

from webevents.engines import EngineError, get_engine
from webevents.local.lake import LakeError

FORMATS = ("table", "csv", "json")


def _plain(value: Any) -> Any:
    """A JSON-ready value: dates and timestamps as ISO-8601, decimals as numbers."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    plain = _plain(value)
    if isinstance(plain, dict | list):
        return json.dumps(plain, ensure_ascii=False, separators=(",", ":"))
    return str(plain)


def format_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str) -> str:
    """Rows as an aligned text table, CSV, or one JSON array of objects."""
    if fmt == "json":
        records = [dict(zip(columns, (_plain(v) for v in row), strict=True)) for row in rows]
        return json.dumps(records, ensure_ascii=False, indent=1)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_text(v) for v in row] for row in rows)
        return out.getvalue().rstrip("\n")
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    cells = [[_text(v) for v in row] for row in rows]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(columns)]
    numeric = [
        all(isinstance(row[i], int | float | decimal.Decimal) or row[i] is None for row in rows)
        and bool(rows)
        for i in range(len(columns))
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    body = [line(columns), "  ".join("-" * w for w in widths)]
    body += [line(row) for row in cells]
    body.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(body)


def query_command(args) -> int:
    """`webevents query "SQL" [--format table|csv|json] [--engine ...] [--lake DIR] [--write]`.

    On the local lake the query reads only, unless --write: a stray DELETE in an analyst's
    query must not change the lake, and reading works on a lake another run is writing
    (DuckDB allows readers beside no writer only) or on a read-only copy.
    """
    options = {"read_only": not args.write} if args.engine == "local" else {}
    try:
        engine = get_engine(args.engine, lake=args.lake, **options)
    except (EngineError, ValueError, LakeError) as error:
        print(f"webevents query: {error}", file=sys.stderr)
        return 2
    try:
        columns, rows = engine.query(args.sql)
    except EngineError as error:
        if "read-only" in str(error) and not args.write:
            print("webevents query: the lake is opened read-only; add --write to change it",
                  file=sys.stderr)
        else:
            print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        engine.close()
    print(format_rows(columns, rows, args.format))
    return 0
