"""The trino engine: Athena-dialect SQL on the fidelity-tier Trino server (Iceberg connector).

Athena engine v3 is Trino, so queries and DML (SELECT, INSERT, MERGE, DELETE, time travel,
`$snapshots`) are sent exactly as written. Only statements whose Athena form is Hive DDL or
an Athena-only command are rewritten (see `to_trino`):

- CREATE TABLE (Hive style: PARTITIONED BY, LOCATION, TBLPROPERTIES) becomes Trino DDL with
  WITH (partitioning = ARRAY[...], format = ...); Iceberg tables get their location from the
  catalog, as S3 Tables assigns it.
- CREATE EXTERNAL TABLE goes to the Hive connector catalog `<catalog>_hive`, which shares the
  metastore with the Iceberg catalog (table redirection makes `archive.x` readable from the
  Iceberg catalog); `s3://bucket/key` locations map to `<s3_root>/bucket/key` on local disk.
- MSCK REPAIR TABLE, ALTER TABLE ADD PARTITION, OPTIMIZE and VACUUM become Trino's procedures.

Schemas `raw`, `analytics`, `archive`, `marts` resolve in the session catalog (default `lake`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import sqlglot
import trino
from sqlglot import exp

from webevents.dev.trino_server import running_developer_server
from webevents.engines import EngineError, statement_excerpt

DEFAULT_CATALOG = "lake"
HIVE_CATALOG_SUFFIX = "_hive"

# Athena's Iceberg partition transforms -> Trino's `partitioning` strings.
_TRANSFORM_NAMES = {
    "year": "year",
    "years": "year",
    "month": "month",
    "months": "month",
    "day": "day",
    "days": "day",
    "date": "day",
    "hour": "hour",
    "hours": "hour",
}
# Athena/Iceberg table properties Trino's connector has no counterpart for (Athena-managed
# compaction and snapshot expiry): dropped from CREATE, skipped in ALTER ... SET TBLPROPERTIES.
_ATHENA_ONLY_PROPERTIES = re.compile(
    r"^(table_type|is_external|write_compression|compression_level|vacuum_.*|optimize_.*"
    r"|write_target_data_file_size_bytes|classification|has_encrypted_data)$",
    re.IGNORECASE,
)


# The statements whose Athena form is Hive DDL; everything else is sent as written.
_HIVE_DDL = re.compile(
    r"\s*(create\s+(external\s+)?table|create\s+(database|schema)|alter\s+table)\b",
    re.IGNORECASE,
)


class TrinoEngine:
    """A session on the Trino server; statements in Athena SQL."""

    name = "trino"

    def __init__(
        self,
        lake: Any = None,
        host: str | None = None,
        port: int | None = None,
        catalog: str | None = None,
        user: str = "webevents",
        s3_root: str | os.PathLike | None = None,
        **_options: Any,
    ):
        self.catalog = catalog or os.environ.get("TRINO_CATALOG") or DEFAULT_CATALOG
        self.hive_catalog = self.catalog + HIVE_CATALOG_SUFFIX
        self.s3_root = s3_root or os.environ.get("WEBEVENTS_TRINO_S3_ROOT")
        self.host = host or os.environ.get("TRINO_HOST") or "127.0.0.1"
        self.port = int(port or os.environ.get("TRINO_PORT") or _developer_port() or 8080)
        self.connection = trino.dbapi.connect(
            host=self.host,
            port=self.port,
            user=user,
            catalog=self.catalog,
            # Athena runs every query in UTC.
            timezone="UTC",
        )
        self.last_row_count: int | None = None
        self.last_skip_reason: str | None = None
        self.last_trino_sql: str | None = None

    # --- the engine interface -------------------------------------------------------------

    def execute(self, sql: str) -> None:
        """Run one Athena statement; `last_row_count` = rows written when Trino reports it."""
        self.last_row_count = None
        self.last_skip_reason = None
        trino_sql = self.to_trino(sql)
        if trino_sql is None:
            return
        cursor = self._run(trino_sql, sql)
        cursor.fetchall()
        self.last_row_count = cursor.rowcount if cursor.rowcount >= 0 else None

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Run one Athena query and return (column names, rows)."""
        self.last_row_count = None
        trino_sql = self.to_trino(sql) or sql
        cursor = self._run(trino_sql, sql)
        rows = [tuple(row) for row in cursor.fetchall()]
        columns = [d[0] for d in cursor.description or []]
        self.last_row_count = len(rows)
        return columns, rows

    def close(self) -> None:
        self.connection.close()

    # --- translation ----------------------------------------------------------------------

    def to_trino(self, sql: str) -> str | None:
        """The Trino SQL for one Athena statement (None: nothing to run, see last_skip_reason)."""
        text = sql.strip().rstrip(";").strip()
        command = self._translate_command(_strip_comments(text).strip())
        if command is not _NOT_A_COMMAND:
            return command
        if not _HIVE_DDL.match(_strip_comments(text)):
            return text  # queries and DML: Athena v3 SQL is Trino SQL, sent as written
        try:
            tree = sqlglot.parse_one(text, read="athena")
        except sqlglot.errors.ParseError:
            return text  # not ours to judge: Trino gives the real error
        if isinstance(tree, exp.Create) and (tree.args.get("kind") or "").upper() in (
            "SCHEMA",
            "DATABASE",
        ):
            return (
                f"create schema if not exists {_schema_name(tree)}"
                if tree.args.get("exists")
                else f"create schema {_schema_name(tree)}"
            )
        if isinstance(tree, exp.Create) and (tree.args.get("kind") or "").upper() == "TABLE":
            return self._translate_create_table(tree)
        if isinstance(tree, exp.Alter):
            return self._translate_alter(tree, text)
        return text

    def _translate_create_table(self, tree: exp.Create) -> str:
        properties = list((tree.args.get("properties") or exp.Properties()).expressions)
        is_hive = any(
            isinstance(
                p,
                exp.ExternalProperty | exp.RowFormatSerdeProperty | exp.RowFormatDelimitedProperty,
            )
            or isinstance(p, exp.FileFormatProperty)
            and p.args.get("hive_format")
            for p in properties
        )
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        columns = list(tree.this.expressions) if isinstance(tree.this, exp.Schema) else []
        with_props: list[str] = []
        partition_columns: list[str] = []
        # Athena's partition projection ('projection.<column>.<setting>' table properties)
        # is column properties in Trino's Hive connector.
        column_props: dict[str, list[str]] = {}
        for prop in properties:
            if isinstance(prop, exp.ExternalProperty):
                continue
            if isinstance(prop, exp.PartitionedByProperty):
                for part in prop.this.expressions:
                    if isinstance(part, exp.ColumnDef):  # Hive: partition columns declared here
                        columns.append(part)
                        partition_columns.append(part.name)
                    else:
                        partition_columns.append(_iceberg_transform(part))
            elif isinstance(prop, exp.LocationProperty):
                if is_hive:
                    with_props.append(
                        f"external_location = '{self._local_location(prop.this.name)}'"
                    )
                # Iceberg tables: the catalog places the files (S3 Tables does the same).
            elif isinstance(prop, exp.FileFormatProperty):
                with_props.append(f"format = '{_trino_format(prop.name, is_hive)}'")
            elif isinstance(prop, exp.RowFormatSerdeProperty):
                serde = prop.this.name.lower()
                if "json" in serde:
                    with_props.append("format = 'JSON'")
            elif isinstance(prop, exp.RowFormatDelimitedProperty):
                delimiter = prop.args.get("fields")
                # \001 is Hive's (and Trino's) default separator; others must be said.
                if delimiter is not None and delimiter.name != "\x01":
                    with_props.append(f"textfile_field_separator = {_string(delimiter.name)}")
            elif isinstance(prop, exp.Property):
                key = prop.name
                value = prop.args["value"]
                if _ATHENA_ONLY_PROPERTIES.match(key):
                    continue
                if key.lower() == "format":
                    with_props.append(f"format = '{_trino_format(value.name, is_hive)}'")
                elif key.lower() == "partitioning":
                    partition_columns.extend(e.name for e in value.expressions)
                elif key.lower() == "projection.enabled":
                    with_props.append(f"partition_projection_enabled = {value.name.lower()}")
                elif key.lower() == "storage.location.template":
                    template = self._local_location(value.name)
                    with_props.append(f"partition_projection_location_template = '{template}'")
                elif key.lower().startswith("projection."):
                    column, setting = _projection_setting(key, value.name)
                    column_props.setdefault(column, []).append(setting)
                elif key.lower() == "skip.header.line.count":
                    with_props.append(f"skip_header_line_count = {int(value.name)}")
                elif key.lower() == "location":
                    continue
                else:
                    raise EngineError(
                        f"table property {key!r} has no Trino counterpart in this engine; "
                        "add a mapping to webevents/engines/trino.py"
                    )
        if partition_columns:
            key = "partitioned_by" if is_hive else "partitioning"
            listed = ", ".join(f"'{c}'" for c in partition_columns)
            with_props.append(f"{key} = ARRAY[{listed}]")
        if is_hive and not any(p.startswith("format") for p in with_props):
            with_props.append("format = 'TEXTFILE'")
        name = self._table_name(target, hive=is_hive)
        exists = " if not exists" if tree.args.get("exists") else ""
        body = ""
        if columns:
            declared = (
                f"{c.this.sql('trino')} {_trino_type(c.args['kind'], is_hive)}"
                + (f" with ({', '.join(column_props[c.name])})" if c.name in column_props else "")
                for c in columns
            )
            body = " (" + ", ".join(declared) + ")"
        with_clause = f" with ({', '.join(with_props)})" if with_props else ""
        query = tree.expression
        as_query = f" as {query.sql('trino')}" if query is not None else ""
        return f"create table{exists} {name}{body}{with_clause}{as_query}"

    def _translate_alter(self, tree: exp.Alter, text: str) -> str | None:
        actions = tree.args.get("actions") or []
        if actions and all(isinstance(a, exp.AlterSet) for a in actions):
            keys = [
                p.name
                for a in actions
                for props in a.expressions
                for p in getattr(props, "expressions", [])
            ]
            if keys and all(_ATHENA_ONLY_PROPERTIES.match(k) for k in keys):
                self.last_skip_reason = (
                    f"Athena-only table properties {keys} (Athena's own compaction/expiry "
                    "settings); Trino has no such properties"
                )
                return None
        if (
            len(actions) == 1
            and isinstance(actions[0], exp.Schema)
            and all(isinstance(c, exp.ColumnDef) for c in actions[0].expressions)
        ):
            # Athena's ADD COLUMNS (one column per statement here): Trino's ADD COLUMN
            (column, *more) = actions[0].expressions
            if more:
                raise EngineError("one column per ADD COLUMNS on the trino engine")
            name = self._table_name(tree.this, hive=False)
            kind = _trino_type(column.args["kind"], is_hive=False)
            return f"alter table {name} add column {column.this.sql('trino')} {kind}"
        if actions and all(type(a).__name__ == "AddPartition" for a in actions):
            table = tree.this
            calls = []
            for action in actions:
                spec = action.this.expressions
                names = ", ".join(f"'{eq.this.name}'" for eq in spec)
                values = ", ".join(f"'{eq.expression.name}'" for eq in spec)
                location = action.args.get("location")
                where = f", '{self._local_location(location.this.name)}'" if location else ""
                calls.append(
                    f"call {self.hive_catalog}.system.register_partition("
                    f"'{table.db}', '{table.name}', ARRAY[{names}], ARRAY[{values}]{where})"
                )
            if len(calls) > 1:
                raise EngineError("one ADD PARTITION per statement on the trino engine")
            return calls[0]
        return text

    def _translate_command(self, text: str) -> Any:
        """MSCK / OPTIMIZE / VACUUM: Athena commands with a Trino procedure counterpart."""
        repair = re.fullmatch(r"(?is)msck\s+repair\s+table\s+([\w.\"`]+)", text)
        if repair:
            schema, table = _split_name(repair.group(1))
            return (
                f"call {self.hive_catalog}.system.sync_partition_metadata("
                f"'{schema}', '{table}', 'ADD')"
            )
        optimize = re.fullmatch(
            r"(?is)optimize\s+([\w.\"`]+)\s+rewrite\s+data\s+using\s+bin_pack(\s+where\s+.*)?",
            text,
        )
        if optimize:
            if optimize.group(2):
                self._check_optimize_filter(optimize.group(1), optimize.group(2))
            return f"alter table {optimize.group(1)} execute optimize{optimize.group(2) or ''}"
        vacuum = re.fullmatch(r"(?is)vacuum\s+([\w.\"`]+)", text)
        if vacuum:
            # Athena's VACUUM expires snapshots older than vacuum_max_snapshot_age_seconds
            # (default 5 days) and removes orphan files; Trino splits this in two procedures.
            return (
                f"alter table {vacuum.group(1)} execute "
                "expire_snapshots(retention_threshold => '5d')"
            )
        return _NOT_A_COMMAND

    def _check_optimize_filter(self, table: str, where: str) -> None:
        """Athena's OPTIMIZE WHERE may name partition columns only; Trino is more lenient.

        "Only partition columns are allowed in the WHERE clause predicate"
        (https://docs.aws.amazon.com/athena/latest/ug/optimize-statement.html): on Athena
        engine v3 the source column of a hidden partition (month(d)) fails too, where Trino
        accepts any filter the partitioning enforces. The tier refuses what Athena refuses.
        """
        predicate = sqlglot.parse_one(f"select 1 {where}", read="athena").args["where"]
        named = {column.name.lower() for column in predicate.find_all(exp.Column)}
        _, [(ddl,)] = self.query(f"show create table {table}")
        found = re.search(r"partitioning = ARRAY\[([^\]]*)\]", ddl)
        fields = re.findall(r"'([^']*)'", found.group(1)) if found else []
        identity = {field.strip('"').lower() for field in fields if "(" not in field}
        if named - identity:
            raise TrinoEngineError(
                f"OPTIMIZE {table} WHERE filters on {', '.join(sorted(named - identity))}, "
                f"which is not a partition column (partitioning: {', '.join(fields) or 'none'}); "
                "Athena accepts only partition columns there",
                error_name="OPTIMIZE_WHERE_NOT_ON_PARTITION_COLUMNS",
            )

    def _table_name(self, table: exp.Table, hive: bool) -> str:
        parts = [p.sql("trino") for p in (table.args.get("db"), table.this) if p is not None]
        if hive:
            parts.insert(0, self.hive_catalog)
        elif table.args.get("catalog") is not None:
            parts.insert(0, table.args["catalog"].sql("trino"))
        return ".".join(parts)

    def _local_location(self, location: str) -> str:
        """s3://bucket/key -> local:// path under s3_root (the tier's stand-in for S3)."""
        if location.startswith(("local://", "file://")):
            return "local://" + location.split("://", 1)[1]
        if location.startswith("/"):
            return "local://" + location
        if location.startswith("s3://"):
            if not self.s3_root:
                raise EngineError(
                    f"external table location {location} needs a local stand-in for S3: set "
                    "WEBEVENTS_TRINO_S3_ROOT (or s3_root=) to a folder holding bucket/key"
                )
            local = Path(self.s3_root).resolve() / location[len("s3://") :]
            return "local://" + str(local) + ("/" if location.endswith("/") else "")
        raise EngineError(f"unsupported location {location!r} on the trino engine")

    # --- running ----------------------------------------------------------------------------

    def _run(self, trino_sql: str, sql: str):
        self.last_trino_sql = trino_sql
        cursor = self.connection.cursor()
        try:
            cursor.execute(trino_sql)
        except trino.exceptions.TrinoConnectionError as error:
            raise EngineError(
                f"no Trino server answers at {self.host}:{self.port} ({error}); start one with "
                "`python -m webevents.dev.trino_server start` (or set TRINO_HOST / TRINO_PORT)"
            ) from None
        except trino.exceptions.TrinoQueryError as error:
            shown = (
                f"\n--- as run on Trino ---\n{statement_excerpt(trino_sql)}"
                if (trino_sql.strip() != sql.strip().rstrip(";").strip())
                else ""
            )
            raise TrinoEngineError(
                f"Trino {error.error_name}: {error.message}\n"
                f"--- statement (Athena SQL) ---\n{statement_excerpt(sql)}{shown}",
                error_name=error.error_name,
            ) from None
        return cursor


class TrinoEngineError(EngineError):
    """A failed statement; `error_name` is Trino's, e.g. MERGE_TARGET_ROW_MULTIPLE_MATCHES."""

    def __init__(self, message: str, error_name: str | None = None):
        super().__init__(message)
        self.error_name = error_name


_NOT_A_COMMAND = object()


def _developer_port() -> int | None:
    """The port of the server started by `python -m webevents.dev.trino_server start`, if any."""
    server = running_developer_server()
    return server.port if server else None


def _strip_comments(sql: str) -> str:
    """The statement without leading `--` / `/* */` comments (sql/ files start with them)."""
    return re.sub(r"^(\s*(--[^\n]*(\n|$)|/\*.*?\*/))*", "", sql, flags=re.DOTALL)


def _schema_name(tree: exp.Create) -> str:
    target = tree.this
    if isinstance(target, exp.Table):
        return ".".join(p.sql("trino") for p in (target.args.get("db"), target.this) if p)
    return target.sql("trino")


def _split_name(name: str) -> tuple[str, str]:
    parts = [p.strip('"`') for p in name.split(".")]
    if len(parts) != 2:
        raise EngineError(f"expected schema.table, got {name!r}")
    return parts[0], parts[1]


_PROJECTION_SETTINGS = {
    "type": ("partition_projection_type", "upper"),
    "format": ("partition_projection_format", "string"),
    "range": ("partition_projection_range", "array"),
    "values": ("partition_projection_values", "array"),
    "interval": ("partition_projection_interval", "integer"),
    "interval.unit": ("partition_projection_interval_unit", "upper"),
    "digits": ("partition_projection_digits", "integer"),
}


def _projection_setting(key: str, value: str) -> tuple[str, str]:
    """'projection.dt.range' = 'a,b' -> ('dt', "partition_projection_range = ARRAY['a','b']")."""
    _, column, setting = key.split(".", 2)
    if setting.lower() not in _PROJECTION_SETTINGS:
        raise EngineError(f"partition projection setting {key!r} has no Trino mapping")
    name, kind = _PROJECTION_SETTINGS[setting.lower()]
    if kind == "upper":
        rendered = _string(value.upper())
    elif kind == "array":
        rendered = "ARRAY[" + ", ".join(_string(v.strip()) for v in value.split(",")) + "]"
    elif kind == "integer":
        rendered = str(int(value))
    else:
        rendered = _string(value)
    return column, f"{name} = {rendered}"


def _string(value: str) -> str:
    """A Trino string literal (control characters as U& escapes)."""
    if all(ch.isprintable() for ch in value):
        return "'" + value.replace("'", "''") + "'"
    escaped = "".join(
        ch if ch.isprintable() and ch not in "\\'" else f"\\{ord(ch):04x}" for ch in value
    )
    return f"U&'{escaped}'"


def _iceberg_transform(part: exp.Expression) -> str:
    """Athena's PARTITIONED BY entry -> Trino's partitioning string."""
    if isinstance(part, exp.Identifier | exp.Column):
        return part.name
    if isinstance(part, exp.PartitionedByBucket):
        return f"bucket({part.this.name}, {part.expression.name})"
    if isinstance(part, exp.PartitionByTruncate):
        return f"truncate({part.this.name}, {part.expression.name})"
    if isinstance(part, exp.Func):
        name = (part.sql_name() if not isinstance(part, exp.Anonymous) else part.name).lower()
        transform = _TRANSFORM_NAMES.get(name)
        columns = list(part.find_all(exp.Column))
        if transform and len(columns) == 1:
            return f"{transform}({columns[0].name})"
    raise EngineError(f"partition transform {part.sql('athena')!r} has no Trino mapping")


def _trino_format(name: str, is_hive: bool) -> str:
    upper = name.upper()
    if upper in ("PARQUET", "ORC", "AVRO"):
        return upper
    if is_hive and upper in ("TEXTFILE", "JSON", "CSV"):
        return upper
    raise EngineError(f"file format {name!r} is not supported on the trino engine")


def _trino_type(kind: exp.DataType, is_hive: bool) -> str:
    """Hive/Athena DDL type -> Trino type (timestamp = Iceberg's microsecond timestamp)."""
    if not is_hive and kind.this == exp.DataType.Type.TIMESTAMP and not kind.expressions:
        return "timestamp(6)"
    return kind.sql("trino")
