"""SQL engines: one interface over DuckDB (local), Athena and Trino, all fed Athena-dialect SQL.

Every engine has `execute(sql) -> None`, `query(sql) -> (columns, rows)` and `close()`.
`last_row_count` holds the rows written by the last `execute` when the engine knows it.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

ENGINE_MODULES = {
    "local": "webevents.engines.local:LocalEngine",
    "athena": "webevents.engines.athena:AthenaEngine",
    "trino": "webevents.engines.trino:TrinoEngine",
}


class EngineError(RuntimeError):
    """A statement failed on an engine; the message names the statement and the cause."""


class AthenaOnlyStatement(EngineError):
    """The statement needs Athena/Trino (Iceberg time travel, metadata tables, OPTIMIZE, ...)."""


class Engine(Protocol):
    name: str
    last_row_count: int | None

    def execute(self, sql: str) -> None: ...

    def query(self, sql: str) -> tuple[list[str], list[tuple]]: ...

    def close(self) -> None: ...


def get_engine(name: str, lake: Any = None, **options: Any) -> Engine:
    """The engine called `name`; its module is imported only now (boto3/trino stay unloaded)."""
    try:
        target = ENGINE_MODULES[name]
    except KeyError:
        known = ", ".join(sorted(ENGINE_MODULES))
        raise ValueError(f"unknown engine {name!r}; choose one of {known}") from None
    module_name, class_name = target.split(":")
    engine_class = getattr(importlib.import_module(module_name), class_name)
    return engine_class(lake=lake, **options)


def statement_excerpt(sql: str, limit: int = 2000) -> str:
    """The statement as shown in error messages, cut to `limit` characters."""
    text = sql.strip()
    return text if len(text) <= limit else text[:limit] + "\n... (statement cut)"
