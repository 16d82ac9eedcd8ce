"""The daily job's scan budget on the Trino tier: bytes read per statement, step and dbt model.

Athena bills and slows down by bytes scanned, so a daily run must read about the rebuild
window, not the history behind it. Trino reports each query's physical input bytes (what
its connectors read from the files: Parquet pages and footers, after partition pruning)
in the coordinator's query statistics, `GET /v1/query` (`queryStats.physicalInputDataSize`).

"Bytes in the rebuild window" is measured, not estimated: the same daily run (sql/enrich,
sql/bots, the buildspec's `dbt build`, sql/maintenance) runs on two lakes built from the
same archive, one holding `history_days` of history and one holding only the rebuild
window's days. A step that reads by window reads the same files in both (ratio about 1);
a step that reads a whole table reads about history / window times more. Column choice
and Parquet overheads are the same on both sides, so they cancel out of the ratio.

Statements are told apart by step with the coordinator's query ids (new ids while a step
runs) and by dbt node with the query comment dbt puts in front of every statement.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

_UNITS = {"B": 1, "kB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40, "PB": 2**50}
_DATA_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(B|kB|MB|GB|TB|PB)\s*$")
_DBT_NODE = re.compile(r'"node_id":\s*"([^"]+)"')
_LEADING_COMMENT = re.compile(r"^\s*/\*.*?\*/\s*", re.S)
_TERMINAL = {"FINISHED", "FAILED"}
# Steps named so are extra queries a test measures, not part of the daily job's budget.
PROBE = "probe: "


def data_size_bytes(text: str) -> int:
    """Trino's (airlift) data size, e.g. `1.25MB`, in bytes (its units are powers of 1024)."""
    match = _DATA_SIZE.match(str(text))
    if not match:
        raise ValueError(f"not a Trino data size: {text!r}")
    return round(float(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class Statement:
    """One finished query of a step: what it read, and which dbt node sent it (if any)."""

    query_id: str
    step: str
    physical_input_bytes: int
    state: str
    text: str

    @property
    def summary(self) -> str:
        body = " ".join(_LEADING_COMMENT.sub("", self.text).split())
        return body[:110]


def dbt_step(query: str) -> str:
    """`dbt <model>` for a model's statements, `dbt tests` for data and unit tests."""
    match = _DBT_NODE.search(query[:2000])
    if not match:
        return "dbt other"
    kind, *_, name = match.group(1).split(".")
    if kind == "model":
        return f"dbt {name}"
    if kind in ("test", "unit_test"):
        return "dbt tests"
    return f"dbt {kind}s"


def coordinator_queries(port: int, catalog: str) -> dict[str, dict]:
    """Every query the coordinator still holds whose session catalog is `catalog`, by id."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/query", headers={"X-Trino-User": "scan-budget"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        queries = json.load(response)
    return {
        q["queryId"]: q for q in queries if q.get("session", {}).get("catalog") == catalog
    }


class Meter:
    """Runs steps and keeps the statements each one sent, from the coordinator's statistics.

    The server must keep every query of a step (`query.max-history`, set by
    webevents/dev/trino_server.py); queries are read right after each step.
    """

    def __init__(self, port: int, catalog: str):
        self.port = port
        self.catalog = catalog
        self.seen = set(coordinator_queries(port, catalog))
        self.statements: list[Statement] = []

    def run(self, step: str, action: Callable[[], object]) -> list[Statement]:
        action()
        new = {
            query_id: query
            for query_id, query in coordinator_queries(self.port, self.catalog).items()
            if query_id not in self.seen
        }
        self.seen |= set(new)
        running = [query_id for query_id, q in new.items() if q["state"] not in _TERMINAL]
        if running:
            raise RuntimeError(f"{step}: queries still running after the step: {running}")
        statements = [
            Statement(
                query_id=query_id,
                step=dbt_step(q["query"]) if step == "dbt" else step,
                physical_input_bytes=data_size_bytes(q["queryStats"]["physicalInputDataSize"]),
                state=q["state"],
                text=q["query"],
            )
            for query_id, q in sorted(new.items())
        ]
        self.statements += statements
        return statements

    def bytes_by_step(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for statement in self.statements:
            if statement.step.startswith(PROBE):
                continue
            totals[statement.step] = totals.get(statement.step, 0) + statement.physical_input_bytes
        return totals


@dataclass
class Budget:
    """Bytes the daily run read, per step, on the history lake and on the window lake."""

    run_date: dt.date
    history_days: int
    window_days: int
    history: Meter
    window: Meter

    def rows(self) -> list[tuple[str, int, int, float]]:
        """(step, bytes with history, bytes in the rebuild window, ratio), steps in run order."""
        history, window = self.history.bytes_by_step(), self.window.bytes_by_step()
        statements = self.history.statements + self.window.statements
        order = list(dict.fromkeys(
            statement.step for statement in statements if not statement.step.startswith(PROBE)
        ))
        return [(step, history.get(step, 0), window.get(step, 0),
                 ratio(history.get(step, 0), window.get(step, 0))) for step in order]

    def step(self, name: str) -> tuple[int, int, float]:
        """(bytes with history, bytes in the window, ratio) of one step, probes included."""
        history = sum(s.physical_input_bytes for s in self.history.statements if s.step == name)
        window = sum(s.physical_input_bytes for s in self.window.statements if s.step == name)
        return history, window, ratio(history, window)

    def total(self) -> tuple[int, int, float]:
        history = sum(self.history.bytes_by_step().values())
        window = sum(self.window.bytes_by_step().values())
        return history, window, ratio(history, window)


def ratio(history_bytes: int, window_bytes: int) -> float:
    """history / window; a step that reads nothing in either lake is 1 (it reads no history)."""
    if window_bytes == 0:
        return 1.0 if history_bytes == 0 else float("inf")
    return history_bytes / window_bytes
