"""The local engine: Athena-dialect SQL transpiled by sqlglot and run on the DuckDB lake."""

from __future__ import annotations

import contextlib
from typing import Any

import duckdb
from sqlglot import exp

from webevents.engines import AthenaOnlyStatement, EngineError, statement_excerpt, transpile
from webevents.jobs import sql as sql_runner
from webevents.local.lake import open_database

_WRITES = (exp.Insert, exp.Update, exp.Delete, exp.Merge)
_SCHEMA_CHANGES = (exp.Create, exp.Drop, exp.Alter)


class LocalEngine:
    """DuckDB in-process on the lake file (or on a connection the caller already holds)."""

    name = "local"

    def __init__(
        self,
        lake: Any = None,
        connection: duckdb.DuckDBPyConnection | None = None,
        check_merge_sources: bool = True,
        merge_in_steps: bool = True,
        read_only: bool = False,
        **_options: Any,
    ):
        if connection is None:
            connection = connect(lake, read_only=read_only)
            self._owns_connection = True
        else:
            self._owns_connection = False
        self.connection = connection
        self.check_merge_sources = check_merge_sources
        self.merge_in_steps = merge_in_steps  # False: DuckDB's own MERGE (tests compare)
        self.last_row_count: int | None = None
        self.last_skip_reason: str | None = None
        self.in_transaction = False
        self._date_columns: frozenset[str] | None = None
        self._schema: dict | None = None
        # Athena runs in UTC: timestamptz <-> timestamp casts must use UTC, not the host zone.
        connection.execute("set TimeZone = 'UTC'")
        for macro in transpile.DUCKDB_MACROS:
            connection.execute(macro)
        _register_text_lines(connection)

    # --- the engine interface ---------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self):
        """Statements run inside commit together, or not at all (a unit of work and its
        bookkeeping); an error or an interrupt rolls the whole unit back."""
        self.connection.execute("begin transaction")
        self.in_transaction = True
        try:
            yield self
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                self.connection.execute("rollback")
            raise
        else:
            self.connection.execute("commit")
        finally:
            self.in_transaction = False

    def execute(self, sql: str) -> None:
        """Run one Athena statement; `last_row_count` = rows written by INSERT/MERGE/..."""
        self.last_row_count = None
        self.last_skip_reason = None
        tree = self._parse(sql)
        skip = transpile.local_noop_reason(tree)
        if skip:
            # The local external table is a view over the folder: nothing to register.
            self.last_skip_reason = f"{skip}; not needed locally"
            return
        if isinstance(tree, exp.Merge) and self.merge_in_steps:
            count = self._merge_in_steps(tree, sql)
            if count is not None:
                self.last_row_count = count
                return
        if isinstance(tree, exp.Merge) and self.check_merge_sources:
            self._check_merge_source(tree, sql)
        if isinstance(tree, exp.Drop):
            tree = self._drop_view_for_external_table(tree)
        duck_sql = self._to_duckdb(tree, sql)
        if isinstance(tree, exp.Create) and tree.find(exp.ExternalProperty):
            # External tables live in Glue databases (e.g. archive) that sql/ddl does not
            # create; locally the schema appears with the table.
            schema = tree.this.find(exp.Table).db
            if schema:
                self._run(f'create schema if not exists "{schema}"', sql)
        cursor = self._run(duck_sql, sql)
        if isinstance(tree, _WRITES):
            row = cursor.fetchone()
            self.last_row_count = int(row[0]) if row and row[0] is not None else None
        if isinstance(tree, _SCHEMA_CHANGES):
            self._date_columns = None
            self._schema = None

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Run one Athena query and return (column names, rows)."""
        self.last_row_count = None
        tree = self._parse(sql)
        cursor = self._run(self._to_duckdb(tree, sql), sql)
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall()
        self.last_row_count = len(rows)
        return columns, rows

    def close(self) -> None:
        if self._owns_connection:
            self.connection.close()

    def to_duckdb(self, sql: str) -> str:
        """The DuckDB SQL this engine would run for `sql` (for debugging and tests)."""
        return self._to_duckdb(self._parse(sql), sql)

    # --- helpers ----------------------------------------------------------------------

    def _parse(self, sql: str) -> exp.Expression:
        try:
            tree = transpile.parse_athena(sql)
        except transpile.TranspileError as error:
            raise EngineError(f"{error}\n{statement_excerpt(sql)}") from None
        reason = transpile.athena_only_reason(tree)
        if reason:
            raise AthenaOnlyStatement(
                f"{reason} runs on Athena/Trino only, not on the local DuckDB engine; "
                "run it with --engine athena or --engine trino"
            )
        return tree

    def _to_duckdb(self, tree: exp.Expression, sql: str) -> str:
        # Column types matter only for date arithmetic and division; skip the catalog
        # lookups otherwise (sql/ddl runs on every lake connect).
        typed = tree.find(exp.Div, exp.DateAdd, exp.DateSub, exp.Interval) is not None
        try:
            if not typed:
                return _untyped_duckdb(tree, sql)
            return transpile.to_duckdb(tree, self.date_columns(), self.schema())
        except transpile.TranspileError as error:
            raise EngineError(f"cannot run locally: {error}\n{statement_excerpt(sql)}") from None

    def _run(self, duck_sql: str, sql: str) -> duckdb.DuckDBPyConnection:
        try:
            return self.connection.execute(duck_sql)
        except duckdb.InterruptException:
            raise KeyboardInterrupt from None  # Ctrl-C: an interrupt, not a SQL error
        except duckdb.Error as error:
            raise EngineError(
                f"DuckDB: {error}\n--- statement (Athena SQL) ---\n{statement_excerpt(sql)}"
                f"\n--- as run on DuckDB ---\n{statement_excerpt(duck_sql)}"
            ) from None

    def date_columns(self) -> frozenset[str]:
        """Column names that are DATE in every lake table holding them (for date_add)."""
        if self._date_columns is None:
            rows = self.connection.execute(
                "select lower(column_name), bool_and(data_type = 'DATE') "
                "from information_schema.columns group by 1"
            ).fetchall()
            self._date_columns = frozenset(name for name, all_dates in rows if all_dates)
        return self._date_columns

    def schema(self) -> dict:
        """{schema: {table: {column: type}}} of the lake, for sqlglot's type annotation."""
        if self._schema is None:
            rows = self.connection.execute(
                "select table_schema, table_name, column_name, data_type "
                "from information_schema.columns where table_catalog = current_database() "
                "order by table_schema, table_name, ordinal_position"
            ).fetchall()
            schema: dict = {}
            for db, table, column, kind in rows:
                schema.setdefault(db, {}).setdefault(table, {})[column] = kind
            self._schema = schema
        return self._schema

    def _check_merge_source(self, tree: exp.Merge, sql: str) -> None:
        """Fail like Athena when one target row matches several source rows.

        DuckDB applies such a MERGE silently; Athena (Trino) rejects it, so the local
        engine checks first and dedupe mistakes show up before they reach AWS.
        """
        target = tree.this
        target_name = target.alias_or_name
        matches = (
            exp.select(exp.column("rowid", table=target_name).as_("target_row"))
            .from_(target.copy())
            .join(tree.args["using"].copy(), on=tree.args["on"].copy())
        )
        check = exp.select("count(*)").from_(
            exp.select("target_row")
            .from_(matches.subquery("matches"))
            .group_by("target_row")
            .having("count(*) > 1")
            .subquery("ambiguous")
        )
        duck_sql = transpile.to_duckdb(check, self.date_columns(), self.schema())
        (ambiguous,) = self._run(duck_sql, sql).fetchone()
        if ambiguous:
            raise EngineError(
                f"MERGE: {ambiguous} target row(s) matched more than one source row; Athena "
                "rejects such a MERGE, so deduplicate the source deterministically\n"
                + statement_excerpt(sql)
            )

    def _merge_in_steps(self, tree: exp.Merge, sql: str) -> int | None:
        """Run a MERGE as the statements it stands for; rows written, or None when the
        MERGE has a shape this does not cover (DuckDB's own MERGE runs it then).

        DuckDB's MERGE with an UPDATE clause is several times slower than an INSERT of the
        same rows, even when nothing matches (the enrich MERGE into an empty table at 1M
        events: ~7 s from a materialised source, ~1.6 s without its UPDATE clause), and
        that MERGE writes a whole lake on a first run. So, in one transaction: the source
        into a temp table (evaluated once, also for Athena's one-source-row-per-target-row
        check); its matches with the target, found before anything is written; the matched
        rows UPDATEd where the clause's condition holds; the unmatched source rows INSERTed.
        That is what MERGE does (every row's action is decided on the target as it was
        before the statement), and `current_timestamp` is the transaction's start, the same
        for both writes as in one statement.
        Covered: at most one WHEN MATCHED [AND ...] THEN UPDATE and at most one WHEN NOT
        MATCHED [AND ...] THEN INSERT (what sql/ writes); DELETE, several clauses of a kind
        or BY SOURCE go to DuckDB's MERGE.
        """
        whens = tree.args.get("whens")
        clauses = whens.expressions if whens else []
        update = insert = None
        for clause in clauses:
            action = clause.args.get("then")
            if clause.args.get("source"):
                return None
            if clause.args.get("matched") and isinstance(action, exp.Update) and not update:
                update = clause
            elif (not clause.args.get("matched") and isinstance(action, exp.Insert)
                  and not insert and isinstance(action.expression, exp.Tuple)):
                insert = clause
            else:
                return None
        if not clauses:
            return None
        try:
            merge = transpile.to_duckdb_tree(tree, self.date_columns(), self.schema())
        except transpile.TranspileError as error:
            raise EngineError(f"cannot run locally: {error}\n{statement_excerpt(sql)}") from None
        target = merge.this
        using = merge.args["using"]
        source_alias = using.alias_or_name
        if isinstance(using, exp.Subquery):
            source_query = transpile.duckdb_sql(using.this)
        elif isinstance(using, exp.Table):
            bare = using.copy()
            bare.set("alias", None)
            source_query = f"select * from {transpile.duckdb_sql(bare)}"
        else:
            return None
        target_ref = target.alias_or_name
        target_sql = transpile.duckdb_sql(target)
        on_sql = transpile.duckdb_sql(merge.args["on"])
        source_table, matches_table = "__webevents_merge_source", "__webevents_merge_matches"
        own_transaction = not self.in_transaction  # else the caller's commits it all
        if own_transaction:
            self.connection.execute("begin transaction")
        written: int | None = 0
        try:
            self._run(f"create temp table {source_table} as {source_query}", sql)
            self._run(
                f"create temp table {matches_table} as "
                f"select {target_ref}.rowid as target_row, {source_alias}.rowid as source_row "
                f"from {target_sql} join {source_table} as {source_alias} on {on_sql}",
                sql,
            )
            (ambiguous,) = self._run(
                f"select count(*) from (select target_row from {matches_table} "
                "group by target_row having count(*) > 1)", sql
            ).fetchone()
            if ambiguous and self.check_merge_sources:
                raise EngineError(
                    f"MERGE: {ambiguous} target row(s) matched more than one source row; "
                    "Athena rejects such a MERGE, so deduplicate the source "
                    "deterministically\n" + statement_excerpt(sql)
                )
            if ambiguous:
                written = None  # DuckDB's MERGE decides what such a statement does
            if written is not None and update is not None:
                action = update.args["then"]
                condition = update.args.get("condition")
                assignments = ", ".join(transpile.duckdb_sql(e) for e in action.expressions)
                where = on_sql + (f" and ({transpile.duckdb_sql(condition)})" if condition else "")
                (count,) = self._run(
                    f"update {target_sql} set {assignments} "
                    f"from {source_table} as {source_alias} where {where}", sql
                ).fetchone()
                written += int(count or 0)
            if written is not None and insert is not None:
                action = insert.args["then"]
                condition = insert.args.get("condition")
                columns = transpile.duckdb_sql(action.this) if action.this else ""
                values = ", ".join(transpile.duckdb_sql(e) for e in action.expression.expressions)
                bare_target = target.copy()
                bare_target.set("alias", None)
                where = (f"{source_alias}.rowid not in (select source_row from {matches_table})"
                         + (f" and ({transpile.duckdb_sql(condition)})" if condition else ""))
                (count,) = self._run(
                    f"insert into {transpile.duckdb_sql(bare_target)} {columns} "
                    f"select {values} from {source_table} as {source_alias} where {where}", sql
                ).fetchone()
                written += int(count or 0)
            if written is not None or not own_transaction:
                self._run(f"drop table {matches_table}", sql)
                self._run(f"drop table {source_table}", sql)
        except BaseException:
            if own_transaction:
                self.connection.execute("rollback")
            raise
        # the rollback also drops the temp tables
        if own_transaction:
            self.connection.execute("commit" if written is not None else "rollback")
        return written

    def _drop_view_for_external_table(self, tree: exp.Drop) -> exp.Expression:
        """DROP TABLE of an external table: locally that table is a view."""
        if (tree.args.get("kind") or "").upper() != "TABLE":
            return tree
        table = tree.find(exp.Table)
        if table is None:
            return tree
        found = self.connection.execute(
            "select 1 from duckdb_views() where schema_name = ? and view_name = ?",
            [table.db or "main", table.name],
        ).fetchone()
        if found:
            tree = tree.copy()
            tree.set("kind", "VIEW")
        return tree


_UNTYPED_CACHE: dict[str, str] = {}
_UNTYPED_CACHE_SIZE = 256


def _untyped_duckdb(tree: exp.Expression, sql: str) -> str:
    """DuckDB SQL of a statement that needs no column types (cached per process by its
    Athena text: the tree is already parsed, so a miss costs no second parse)."""
    # A DROP's tree depends on the lake (TABLE becomes VIEW for an external table).
    key = tree.sql(transpile.READ_DIALECT) if isinstance(tree, exp.Drop) else sql
    cached = _UNTYPED_CACHE.get(key)
    if cached is None:
        cached = transpile.to_duckdb(tree)  # works on a copy of the tree
        if len(_UNTYPED_CACHE) >= _UNTYPED_CACHE_SIZE:
            _UNTYPED_CACHE.pop(next(iter(_UNTYPED_CACHE)))
        _UNTYPED_CACHE[key] = cached
    return cached


def _register_text_lines(connection: duckdb.DuckDBPyConnection) -> None:
    """Python functions the transforms call: `athena_text_lines(path)` (the lines of a
    text file, read as Athena reads them) and `athena_from_utf8(blob, replacement)`."""
    registered = connection.execute(
        "select 1 from duckdb_functions() where function_name = 'athena_text_lines'"
    ).fetchone()
    if registered:  # by another engine object on this connection
        return
    connection.create_function(
        "athena_text_lines",
        transpile.text_lines,
        [duckdb.sqltypes.VARCHAR],
        duckdb.list_type(duckdb.sqltypes.VARCHAR),
        side_effects=False,
    )
    # Trino's hmac_sha256(binary, key), which DuckDB lacks (the backfill's §6b IP hashing).
    connection.create_function(
        "hmac_sha256",
        transpile.hmac_sha256,
        [duckdb.sqltypes.BLOB, duckdb.sqltypes.BLOB],
        duckdb.sqltypes.BLOB,
        side_effects=False,
    )
    connection.create_function(
        "athena_from_utf8",
        transpile.from_utf8,
        [duckdb.sqltypes.BLOB, duckdb.sqltypes.VARCHAR],
        duckdb.sqltypes.VARCHAR,
        null_handling="special",
        side_effects=False,
    )


def connect(lake: Any = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the lake's database with its tables in place (DuckDB allows one writer process).

    read_only opens an existing lake for reading only: nothing is created or changed, and
    it works on a lake in a read-only folder too.
    """
    con = open_database(lake, read_only=read_only)
    if not read_only:
        ensure_tables(con)
    return con


_DDL_CACHE: dict[tuple, list[str]] = {}


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the lake's schemas and tables by running sql/ddl/ on the local engine.

    Every lake connection runs this, so the DuckDB statements are kept per process
    (keyed by the files' names and modification times) after the first run.
    """
    files = sql_runner.collect_files([sql_runner.DDL_DIR])
    key = tuple((str(f), f.stat().st_mtime_ns) for f in files)
    engine = LocalEngine(connection=con)
    if key in _DDL_CACHE:
        for duck_sql in _DDL_CACHE[key]:
            con.execute(duck_sql)
        return
    values = sql_runner.default_params()
    statements = [sql_runner.single_statement(f, sql_runner.render(f, values)) for f in files]
    sql_runner.run_files(files, engine=engine, echo=None)
    _DDL_CACHE[key] = [engine.to_duckdb(sql) for sql in statements]
