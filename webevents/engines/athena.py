"""The Athena engine: boto3 StartQueryExecution, polling, results; Iceberg commit retries.

Settings come from options or the environment: ATHENA_WORKGROUP (default primary),
ATHENA_OUTPUT_LOCATION (optional when the workgroup enforces one), S3_TABLES_CATALOG
(`s3tablescatalog/<table bucket>`), ATHENA_GLUE_CATALOG (default AwsDataCatalog),
ATHENA_DATABASE (default analytics), AWS_REGION.

Schemas map to catalogs: `raw` and `analytics` are S3 Tables namespaces, every other
schema (the `archive` external table, dbt's marts) is a Glue database. DDL cannot name
an S3 Tables catalog in the statement, so each statement runs with the catalog and
database of its target in the QueryExecutionContext; a query that reads a table of the
other catalog gets that table qualified with its catalog (Athena runs cross-catalog
queries). https://docs.aws.amazon.com/athena/latest/ug/gdc-register-s3-table-bucket-cat.html

Tests use moto, which records submissions and serves injected results but does not
execute SQL; see tests/webevents/test_engines_athena.py.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from sqlglot import exp
from sqlglot.tokens import TokenType

from webevents.engines import EngineError, statement_excerpt, transpile

RUNNING_STATES = ("QUEUED", "RUNNING")
# Firehose commits to the same Iceberg tables; a concurrent commit fails the statement
# with one of these, and running it again is safe (each sql/ file is re-runnable).
COMMIT_CONFLICT_MARKERS = (
    "ICEBERG_COMMIT_ERROR",
    "CommitFailedException",
    "Commit failed",
    "ConcurrentModificationException",
    "ICEBERG_CONCURRENT_MODIFICATION",
)
_DDL = (exp.Create, exp.Drop, exp.Alter, exp.Command)
# sql/ says `archive.x` and `marts.x`; each stack has its own Glue databases (template.yaml).
SCHEMA_NAME_VARIABLES = {"archive": "ARCHIVE_DATABASE", "marts": "DBT_MARTS_DATABASE"}
_WRITES = (exp.Insert, exp.Update, exp.Delete, exp.Merge)


class AthenaQueryError(EngineError):
    """Athena ran the statement and it failed (or was cancelled, or timed out)."""

    def __init__(self, message: str, query_execution_id: str | None, reason: str | None):
        super().__init__(message)
        self.query_execution_id = query_execution_id
        self.reason = reason


@dataclass(frozen=True)
class AthenaSettings:
    """Where statements run; from_env() reads the environment, options override it."""

    workgroup: str = "primary"
    output_location: str | None = None
    s3_tables_catalog: str | None = None
    glue_catalog: str = "AwsDataCatalog"
    database: str = "analytics"
    region: str | None = None
    s3_tables_schemas: tuple[str, ...] = ("raw", "analytics")
    # Logical schema in sql/ -> the Glue database of this stack (two stacks share an account).
    schema_names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides: Any) -> AthenaSettings:
        env = os.environ
        settings = cls(
            workgroup=env.get("ATHENA_WORKGROUP") or cls.workgroup,
            output_location=env.get("ATHENA_OUTPUT_LOCATION") or None,
            s3_tables_catalog=env.get("S3_TABLES_CATALOG") or None,
            glue_catalog=env.get("ATHENA_GLUE_CATALOG") or cls.glue_catalog,
            database=env.get("ATHENA_DATABASE") or cls.database,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            schema_names={
                logical: env[variable]
                for logical, variable in SCHEMA_NAME_VARIABLES.items()
                if env.get(variable)
            },
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    def physical(self, schema: str) -> str:
        """The database name on Athena for a schema as sql/ names it."""
        return self.schema_names.get(schema.lower(), schema)

    def catalog_for(self, schema: str | None) -> str:
        """The catalog holding `schema` (S3 Tables for raw/analytics when configured)."""
        name = (schema or self.database).lower()
        if self.s3_tables_catalog and name in self.s3_tables_schemas:
            return self.s3_tables_catalog
        return self.glue_catalog


@dataclass
class _Polling:
    first_delay: float = 0.5
    max_delay: float = 10.0
    growth: float = 1.6
    timeout: float = 6 * 3600.0


@dataclass
class _Retry:
    attempts: int = 6
    first_delay: float = 2.0
    max_delay: float = 60.0
    reasons: tuple[str, ...] = field(default=COMMIT_CONFLICT_MARKERS)


class AthenaEngine:
    """Runs Athena-dialect statements on Amazon Athena (engine v3)."""

    name = "athena"

    def __init__(
        self,
        lake: Any = None,
        client: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        poll_first_delay: float = 0.5,
        poll_max_delay: float = 10.0,
        timeout_seconds: float = 6 * 3600.0,
        commit_retry_attempts: int = 6,
        commit_retry_first_delay: float = 2.0,
        **settings: Any,
    ):
        del lake  # Athena has no local lake
        self.settings = AthenaSettings.from_env(**settings)
        if client is None:
            client = boto3.client(
                "athena",
                region_name=self.settings.region,
                # API throttling (TooManyRequestsException) is retried by botocore.
                config=Config(retries={"mode": "adaptive", "max_attempts": 10}),
            )
        self.client = client
        self.sleep = sleep
        self.polling = _Polling(poll_first_delay, poll_max_delay, timeout=timeout_seconds)
        self.retry = _Retry(commit_retry_attempts, commit_retry_first_delay)
        self.last_row_count: int | None = None
        self.last_query_execution_id: str | None = None

    # --- the engine interface ---------------------------------------------------------

    def execute(self, sql: str) -> None:
        """Run one statement to completion; `last_row_count` = Athena's UpdateCount."""
        self.last_row_count = None
        query_id = self._run(sql)
        if _statement_kind(sql) in _WRITES:
            update_count = self.client.get_query_results(
                QueryExecutionId=query_id, MaxResults=1
            ).get("UpdateCount")
            self.last_row_count = int(update_count) if update_count is not None else None

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Run one query; all result pages as (column names, typed rows)."""
        query_id = self._run(sql)
        columns: list[str] = []
        types: list[str] = []
        rows: list[tuple] = []
        token: str | None = None
        first_page = True
        while True:
            page_args: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": 1000}
            if token:
                page_args["NextToken"] = token
            page = self.client.get_query_results(**page_args)
            result_set = page["ResultSet"]
            if first_page:
                info = result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
                columns = [c.get("Label") or c["Name"] for c in info]
                types = [c.get("Type", "varchar").lower() for c in info]
            raw_rows = [
                [cell.get("VarCharValue") for cell in row.get("Data", [])]
                for row in result_set.get("Rows", [])
            ]
            # SELECT results repeat the column names as their first row.
            if first_page and raw_rows and raw_rows[0] == columns:
                raw_rows = raw_rows[1:]
            rows += [tuple(_typed(v, t) for v, t in zip(r, types, strict=False)) for r in raw_rows]
            first_page = False
            token = page.get("NextToken")
            if not token:
                break
        self.last_row_count = len(rows)
        return columns, rows

    def close(self) -> None:
        """Nothing to release: boto3 clients hold no open session."""

    # --- submission, polling, retries -------------------------------------------------

    def context_for(self, sql: str) -> dict[str, str]:
        """QueryExecutionContext: catalog and database of the statement's target."""
        schema = _target_schema(sql) or self.settings.database
        return {
            "Catalog": self.settings.catalog_for(schema),
            "Database": self.settings.physical(schema),
        }

    def prepare(self, sql: str) -> str:
        """The statement as submitted: this stack's database names, other catalogs named."""
        context_catalog = self.settings.catalog_for(_target_schema(sql) or self.settings.database)
        return rewrite_table_references(sql, self.settings, context_catalog)

    def _run(self, sql: str) -> str:
        statement = self.prepare(sql.strip().rstrip(";"))
        context = self.context_for(sql)
        delay = self.retry.first_delay
        for attempt in range(1, self.retry.attempts + 1):
            query_id = self._start(statement, context)
            self.last_query_execution_id = query_id
            state, reason = self._wait(query_id, statement)
            if state == "SUCCEEDED":
                return query_id
            conflict = state == "FAILED" and any(m in (reason or "") for m in self.retry.reasons)
            if conflict and attempt < self.retry.attempts:
                self.sleep(delay)  # another writer committed first: run again
                delay = min(delay * 2, self.retry.max_delay)
                continue
            tried = f" after {attempt} attempts" if conflict else ""
            raise AthenaQueryError(
                f"Athena query {query_id} {state}{tried}: {reason or 'no reason given'}\n"
                f"--- statement ---\n{statement_excerpt(statement)}",
                query_id,
                reason,
            )
        raise AssertionError("unreachable")

    def _start(self, statement: str, context: dict[str, str]) -> str:
        request: dict[str, Any] = {
            "QueryString": statement,
            "QueryExecutionContext": context,
            "WorkGroup": self.settings.workgroup,
            # Idempotent submission: a retried API call cannot start the statement twice.
            "ClientRequestToken": uuid.uuid4().hex,
        }
        if self.settings.output_location:
            request["ResultConfiguration"] = {"OutputLocation": self.settings.output_location}
        try:
            return self.client.start_query_execution(**request)["QueryExecutionId"]
        except ClientError as error:
            message = error.response.get("Error", {}).get("Message", str(error))
            raise AthenaQueryError(
                f"Athena rejected the statement: {message}\n"
                f"--- statement ---\n{statement_excerpt(statement)}",
                None,
                message,
            ) from None

    def _wait(self, query_id: str, statement: str) -> tuple[str, str | None]:
        delay = self.polling.first_delay
        waited = 0.0
        while True:
            execution = self.client.get_query_execution(QueryExecutionId=query_id)
            status = execution["QueryExecution"]["Status"]
            state = status["State"]
            if state not in RUNNING_STATES:
                reason = status.get("StateChangeReason")
                error = status.get("AthenaError") or {}
                if error.get("ErrorMessage") and not reason:
                    reason = error["ErrorMessage"]
                return state, reason
            if waited >= self.polling.timeout:
                self.client.stop_query_execution(QueryExecutionId=query_id)
                return "CANCELLED", f"timed out after {waited:.0f} s (stopped by the runner)"
            self.sleep(delay)
            waited += delay
            delay = min(delay * self.polling.growth, self.polling.max_delay)


# --- statement analysis ---------------------------------------------------------------------


def _parse(sql: str) -> exp.Expression | None:
    try:
        return transpile.parse_athena(sql)
    except transpile.TranspileError:
        return None


def _statement_kind(sql: str) -> type | None:
    tree = _parse(sql)
    return type(tree) if tree is not None else None


def _target_schema(sql: str) -> str | None:
    """The schema a statement writes to or defines (None for plain queries)."""
    tree = _parse(sql)
    if tree is None:
        return None
    if isinstance(tree, exp.Command):
        # OPTIMIZE db.t ... / VACUUM db.t / MSCK REPAIR TABLE db.t
        words = str(tree.expression.name if tree.expression else "").split()
        while words and words[0].upper() in {"REPAIR", "TABLE"}:
            words = words[1:]
        name = words[0] if words else ""
        return name.split(".")[0].strip('"') if "." in name else None
    if isinstance(tree, exp.Create) and (tree.args.get("kind") or "").upper() in {
        "DATABASE",
        "SCHEMA",
    }:
        return tree.this.name or tree.this.db
    if isinstance(tree, _DDL + _WRITES):
        # sqlglot keeps a DROP's tables in `tables`, not `this`
        target = tree.this if tree.this is not None else (tree.args.get("tables") or [None])[0]
        table = target if isinstance(target, exp.Table) or target is None \
            else target.find(exp.Table)
        if table is not None and table.db:
            return table.db
    return None


def rewrite_table_references(sql: str, settings: AthenaSettings, context_catalog: str) -> str:
    """Rename schemas to this stack's databases and name the catalog of foreign tables.

    `archive.x` / `marts.x` become the stack's Glue databases; in queries, a table of
    the catalog the statement does not run in gets that catalog's name in front.
    Edits the original text at token positions, so Athena receives the analyst's SQL
    rather than a regenerated one.
    """
    tree = _parse(sql)
    is_ddl = tree is None or isinstance(tree, _DDL)
    if tree is not None and not isinstance(tree, exp.Command):
        references = {
            (t.db.lower(), t.name.lower())
            for t in tree.find_all(exp.Table)
            if t.db and not t.catalog
        }
    else:  # OPTIMIZE / VACUUM / MSCK: sqlglot keeps the text; any schema.table counts
        references = None
    tokenizer = transpile.sqlglot.Dialect.get_or_raise("athena")
    try:
        tokens = tokenizer.tokenize(sql)
        if tokens and tokens[0].token_type == TokenType.COMMAND:
            # OPTIMIZE/VACUUM/MSCK: the tokenizer keeps the rest as one string; split it.
            offset = tokens[0].end + 1
            tokens = tokens[:1] + [
                _shifted(token, offset) for token in tokenizer.tokenize(sql[offset:])
            ]
    except Exception:
        return sql
    edits: list[tuple[int, int, str]] = []
    for i in range(len(tokens) - 2):
        first, dot, second = tokens[i], tokens[i + 1], tokens[i + 2]
        if dot.token_type != TokenType.DOT or (i > 0 and tokens[i - 1].token_type == TokenType.DOT):
            continue
        if i + 3 < len(tokens) and tokens[i + 3].token_type == TokenType.DOT:
            continue  # catalog.schema.table: already explicit
        pair = (first.text.lower(), second.text.lower())
        if references is not None and pair not in references:
            continue
        if references is None and first.token_type not in (TokenType.VAR, TokenType.IDENTIFIER):
            continue
        name = settings.physical(first.text)
        catalog = settings.catalog_for(first.text)
        prefix = "" if is_ddl or catalog == context_catalog else f'"{catalog}".'
        if name == first.text and not prefix:
            continue
        quoted = sql[first.start] == '"'
        edits.append((first.start, first.end + 1, prefix + (f'"{name}"' if quoted else name)))
    if isinstance(tree, exp.Create) and (tree.args.get("kind") or "").upper() in {
        "DATABASE",
        "SCHEMA",
    }:
        # CREATE DATABASE archive -> the stack's database name
        schema = tree.this.name or tree.this.db
        for token in tokens:
            if token.text.lower() == schema.lower() and settings.physical(schema) != schema:
                edits.append((token.start, token.end + 1, settings.physical(schema)))
                break
    for start, end, text in sorted(edits, reverse=True):
        sql = sql[:start] + text + sql[end:]
    return sql


def _shifted(token, offset: int):
    token.start += offset
    token.end += offset
    return token


# --- result values --------------------------------------------------------------------------


def _typed(value: str | None, athena_type: str) -> Any:
    """An Athena result cell (always text) as a Python value of its column type."""
    if value is None:
        return None
    kind = athena_type.split("(")[0].strip()
    if kind in {"tinyint", "smallint", "integer", "int", "bigint"}:
        return int(value)
    if kind in {"double", "float", "real"}:
        return float(value)
    if kind == "decimal":
        return decimal.Decimal(value)
    if kind == "boolean":
        return value.lower() == "true"
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind.startswith("timestamp"):
        text = value.replace(" UTC", "").strip()
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            return value
    return value
