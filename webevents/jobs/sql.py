"""Run sql/ files: render their Jinja parameters, then execute each statement on an engine.

Python API (what `webevents sql` and the pipeline use):

    from webevents.jobs.sql import run_files
    results = run_files(["sql/enrich"], engine="local", params={"run_date": "2026-11-24"})

Files run in the order given; a folder runs in the order its `run_order.yml` lists (every
sql/ folder has one: see docs/sql-runner.md, "Run order"), a folder without one in path
order. Each file holds one Athena-dialect statement. Parameters are Jinja variables rendered with
StrictUndefined: a missing one is an error naming the file and the parameter.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import jinja2.nodes
import yaml
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from webevents import SQL_DIR, clock
from webevents.engines import Engine, EngineError, get_engine, transpile
from webevents.jobs.query import format_rows
from webevents.jobs.windows import window_chunks
from webevents.local.lake import locked, resolve_lake

DDL_DIR = SQL_DIR / "ddl"
DATE_PARAMS = ("run_date", "date_from", "date_to", "event_date_from", "event_date_to")
INTEGER_PARAMS = ("lookback_days", "snapshot_id")
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?( ?(UTC|Z|[+-]\d{2}:?\d{2}))?")
_QUERY_STARTS = {TokenType.SELECT, TokenType.WITH, TokenType.VALUES, TokenType.L_PAREN}
_QUERY_WORDS = {"SHOW", "DESCRIBE", "EXPLAIN"}


class SqlRunError(RuntimeError):
    """A sql/ file could not be rendered or run; the message names the file."""


@dataclass
class StatementResult:
    """What running one file did."""

    path: Path
    sql: str
    seconds: float
    row_count: int | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    skipped: str | None = None
    # The row of the folder's `for_each` table this statement ran for ({} = none).
    bindings: dict[str, str] = field(default_factory=dict)

    @property
    def is_query(self) -> bool:
        return bool(self.columns)


# Parameters the deployed job gets from its environment (template.yaml -> CodeBuild).
ENV_PARAMS = {
    "archive_location": "ARCHIVE_S3_LOCATION",
    # §6b pseudonymisation of the backfill (template.yaml IpHandling), as the Lambda's.
    "ip_handling": "IP_HANDLING",
    "ip_hash_key": "IP_HASH_KEY",
    # template.yaml PiiQueryParameters; unset, the SQL removes the contract's list
    "pii_query_parameters": "PII_QUERY_PARAMETERS",
}
IP_HANDLINGS = ("truncate", "drop", "hash")  # transform_lambda/landing_contract.py
# A name the backfill may remove from URL queries, as transform_lambda/privacy.py allows it.
_PII_NAME = re.compile(r"[a-z0-9_.~\[\]-]+")


def default_params(today: dt.date | None = None) -> dict[str, str]:
    """run_date = yesterday (UTC), lookback_days = 3, plus ENV_PARAMS found in the environment."""
    today = today or clock.today()
    params = {"run_date": (today - dt.timedelta(days=1)).isoformat(), "lookback_days": "3"}
    params |= {name: os.environ[var] for name, var in ENV_PARAMS.items()
               if os.environ.get(var, "").strip()}
    return params


def environment_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """default_params (the environment's IP_HANDLING, IP_HASH_KEY, PII_QUERY_PARAMETERS, ...)
    under params, checked as run_files checks them: for code that renders a file itself."""
    values: dict[str, Any] = {**default_params(), **params}
    _check_params(values)
    return values


def parse_params(pairs: Iterable[str]) -> dict[str, str]:
    """`name=value` strings (from --param) as a dict."""
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_]\w*", name.strip()):
            raise SqlRunError(f"--param {pair!r}: expected name=value, e.g. run_date=2026-11-24")
        if "'" in value or ";" in value:  # a value, never SQL text, from the command line
            raise SqlRunError(f"--param {pair!r}: quotes and semicolons are not allowed in "
                              "parameter values")
        params[name.strip()] = value.strip()
    return params


def _check_params(params: Mapping[str, Any]) -> None:
    """Every parameter of a known kind has the shape its files expect."""
    handling = str(params.get("ip_handling", "truncate"))
    if handling not in IP_HANDLINGS:
        raise SqlRunError(f"parameter ip_handling={handling!r} is not one of "
                          f"{', '.join(IP_HANDLINGS)}")
    if handling == "hash" and not params.get("ip_hash_key"):
        # never land an IP whole: hashing without a key stops the run
        raise SqlRunError("ip_handling=hash needs a key: set IP_HASH_KEY (or --param "
                          "ip_hash_key=...); none is set")
    if "'" in str(params.get("ip_hash_key", "")):
        raise SqlRunError("parameter ip_hash_key must not hold a quote")
    listed = params.get("pii_query_parameters")
    for part in str(listed).split(",") if listed is not None else ():
        if not _PII_NAME.fullmatch(part.strip().lower()):
            raise SqlRunError(f"parameter pii_query_parameters={listed!r}: {part.strip()!r} is "
                              "not a query parameter name (letters, digits, _ . ~ - [ ]; "
                              "names separated by commas)")
    for name, value in params.items():
        text = str(value)
        if name in DATE_PARAMS or name.endswith("_date"):
            try:
                dt.date.fromisoformat(text)
            except ValueError:
                raise SqlRunError(f"parameter {name}={text!r} is not a date (YYYY-MM-DD)"
                                  ) from None
        elif (name in INTEGER_PARAMS or name.startswith(("max_", "min_")) or name.endswith(
                ("_days", "_count", "_seconds", "_minutes"))) and not re.fullmatch(r"\d+", text):
            raise SqlRunError(f"parameter {name}={text!r} is not a whole number >= 0")
        elif name.endswith("_share") and (
                not re.fullmatch(r"(0|1)?(\.\d+)?|1\.0*", text) or text in ("", ".")):
            raise SqlRunError(f"parameter {name}={text!r} is not a share between 0 and 1")
        elif name.endswith(("_at", "_timestamp")) and not _TIMESTAMP.fullmatch(text):
            raise SqlRunError(f"parameter {name}={text!r} is not a timestamp "
                              "(YYYY-MM-DD HH:MM:SS, optionally with UTC)")


ORDER_FILE = "run_order.yml"
# run_order.yml keys that are not lists of files: the table `run` repeats for, and the
# command that runs a folder with no `run` list.
_ORDER_SETTINGS = ("for_each", "runs_through")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


@dataclass(frozen=True)
class Step:
    """One file to run, with the parameters of its `for_each` table row (if any)."""

    path: Path
    bindings: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        """What the progress line and errors call it: the file, plus its row."""
        if not self.bindings:
            return _display(self.path)
        row = ", ".join(f"{name}={value}" for name, value in self.bindings)
        return f"{_display(self.path)} ({row})"


def _read_order(folder: Path) -> dict[str, Any]:
    manifest = folder / ORDER_FILE
    try:
        order = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise SqlRunError(f"{manifest}: not valid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(order, dict) or not order:
        raise SqlRunError(f"{manifest}: expected named lists of .sql files, e.g. run: [a.sql]")
    return order


def run_order(folder: Path, sequence: str = "run") -> list[Path]:
    """The files of `sequence` in `folder`'s run_order.yml, in order, each checked to exist.

    Every .sql file of the folder must be named exactly once in the manifest (over all of
    its lists), so a new file cannot be left out of the run by accident.
    """
    folder = Path(folder)
    manifest = folder / ORDER_FILE
    order = _read_order(folder)
    listed: list[str] = []
    for name, files in order.items():
        if name in _ORDER_SETTINGS:
            continue
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise SqlRunError(f"{manifest}: {name} must be a list of .sql file names")
        listed += files
    twice = sorted({f for f in listed if listed.count(f) > 1})
    if twice:
        raise SqlRunError(f"{manifest}: {', '.join(twice)} listed more than once")
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*.sql")}
    missing = sorted(set(listed) - present)
    if missing:
        raise SqlRunError(f"{manifest}: lists {', '.join(missing)}, which the folder "
                          "does not hold")
    unlisted = sorted(present - set(listed))
    if unlisted:
        raise SqlRunError(f"{manifest}: does not list {', '.join(unlisted)}; add each file "
                          "on the line where it should run")
    if sequence not in order:
        lists = ", ".join(n for n in order if n not in _ORDER_SETTINGS)
        raise SqlRunError(f"{folder}: {ORDER_FILE} has no `{sequence}` list (it has {lists}); "
                          f"{order.get('runs_through', 'its own command')} runs this folder")
    return [folder / name for name in order[sequence]]


def for_each_rows(folder: Path) -> list[dict[str, str]]:
    """The rows of the CSV table named by `for_each` in the folder's run_order.yml.

    Each row's columns become parameters of every file of the `run` list, run once per
    row; values are SQL identifiers (table and column names) or empty, checked here.
    """
    folder = Path(folder)
    order = _read_order(folder)
    table = folder / str(order["for_each"])
    try:
        lines = table.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise SqlRunError(f"{folder / ORDER_FILE}: for_each table {table.name}: "
                          f"{error.strerror}") from None
    reader = csv.reader(line for line in lines if line.strip() and not line.startswith("#"))
    header = next(reader, None)
    if not header:
        raise SqlRunError(f"{table}: no header row")
    rows = []
    for number, values in enumerate(reader, start=2):
        if len(values) != len(header):
            raise SqlRunError(f"{table}: row {number} has {len(values)} values, the header "
                              f"{len(header)}")
        bad = [v for v in values if v.strip() and not _IDENTIFIER.fullmatch(v.strip())]
        if bad:
            raise SqlRunError(f"{table}: row {number}: {bad[0]!r} is not a lowercase SQL "
                              "name (letters, digits, _)")
        rows.append({k.strip(): v.strip() for k, v in zip(header, values, strict=True)})
    if not rows:
        raise SqlRunError(f"{table}: the table has no rows")
    return rows


def collect_steps(paths: Iterable[str | Path | Step]) -> list[Step]:
    """Files as given; folders expanded to their run order (run_order.yml's `run` list, per
    `for_each` row when it names a table), or to their *.sql files in path order."""
    steps: list[Step] = []
    for raw in paths:
        if isinstance(raw, Step):
            steps.append(raw)
            continue
        path = Path(raw)
        if path.is_dir() and (path / ORDER_FILE).is_file():
            files = run_order(path)
            if "for_each" in _read_order(path):
                steps += [Step(f, tuple(row.items())) for row in for_each_rows(path)
                          for f in files]
            else:
                steps += [Step(f) for f in files]
        elif path.is_dir():
            found = sorted(path.rglob("*.sql"), key=lambda p: p.relative_to(path).as_posix())
            if not found:
                raise SqlRunError(f"{path}: folder holds no .sql files")
            steps += [Step(f) for f in found]
        elif path.is_file():
            steps.append(Step(path))
        else:
            raise SqlRunError(f"{path}: no such file or folder")
    return steps


def collect_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files collect_steps runs, in order (a `for_each` file once per row)."""
    return [step.path for step in collect_steps(paths)]


_JINJA = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def _optional_names(template_ast: jinja2.nodes.Template) -> set[str]:
    """Names only ever used as `name | default(...)` or in `name is defined`: optional."""
    guarded = {
        id(node.node)
        for node in template_ast.find_all((jinja2.nodes.Filter, jinja2.nodes.Test))
        if node.name in {"default", "d", "defined", "undefined"}
        and isinstance(node.node, jinja2.nodes.Name)
    }
    uses: dict[str, list[bool]] = {}
    assigned: set[str] = set()
    for name in template_ast.find_all(jinja2.nodes.Name):
        if name.ctx == "load":
            uses.setdefault(name.name, []).append(id(name) in guarded)
        else:
            assigned.add(name.name)
    # `{% set x = x | default(40) %}` then `{{ x }}`: later loads read the assigned x.
    return {name for name, flags in uses.items() if all(flags) or (any(flags) and name in assigned)}


def render(path: Path, params: Mapping[str, Any]) -> str:
    """The file's SQL with parameters filled in; missing parameters are named."""
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise SqlRunError(f"{path}: not UTF-8 text (byte {error.start}: {error.reason}); "
                          "save the file as UTF-8") from None
    try:
        template_ast = _JINJA.parse(source)
    except jinja2.TemplateSyntaxError as error:
        raise SqlRunError(f"{path}:{error.lineno}: template error: {error.message}") from None
    missing = sorted(
        jinja2.meta.find_undeclared_variables(template_ast)
        - set(params)
        - _optional_names(template_ast)
    )
    if missing:
        flags = " ".join(f"--param {name}=..." for name in missing)
        raise SqlRunError(f"{path}: missing parameter(s) {', '.join(missing)} (pass {flags})")
    try:
        return _JINJA.from_string(source).render(**params)
    except jinja2.UndefinedError as error:  # e.g. an attribute of a parameter
        raise SqlRunError(f"{path}: {error.message}") from None


def is_query(sql: str) -> bool:
    """Whether the statement returns rows (SELECT / WITH / VALUES / SHOW ...)."""
    try:
        tokens = transpile.tokenize_athena(sql)
    except TokenError:  # an untokenizable text is no query; the engine reports why
        return False
    if not tokens:
        return False
    first = tokens[0]
    return first.token_type in _QUERY_STARTS or first.text.upper() in _QUERY_WORDS


def single_statement(path: Path, sql: str) -> str:
    # Counted on the text the engine receives: it is then tokenized only once.
    statement = sql.strip().rstrip(";").rstrip()
    count = transpile.count_statements(statement)
    if count == 0:
        raise SqlRunError(f"{path}: holds no SQL statement")
    if count > 1:
        raise SqlRunError(
            f"{path}: holds {count} statements; sql/ files hold exactly one "
            "(split it into one file per statement, named after target and action)"
        )
    return statement


def _describe(result: StatementResult) -> str:
    if result.skipped:
        return f"skipped: {result.skipped}"
    if result.is_query:
        return f"{len(result.rows):,} rows returned"
    if result.row_count is not None:
        return f"{result.row_count:,} rows written"
    return "done"


def run_files(
    paths: Iterable[str | Path | Step],
    engine: str | Engine = "local",
    params: Mapping[str, Any] | None = None,
    lake: Any = None,
    echo: Callable[[str], None] | None = print,
    **engine_options: Any,
) -> list[StatementResult]:
    """Render and run each file in order on `engine` (a name or an open engine).

    Stops at the first failure with a SqlRunError naming the file and showing the statement.
    `echo` gets one progress line per statement (None = quiet).
    """
    values = environment_params(params or {})
    files = collect_steps(paths)
    _check_landing_settings(engine, values, files)
    owns_engine = isinstance(engine, str)
    active = get_engine(engine, lake=lake, **engine_options) if owns_engine else engine
    results: list[StatementResult] = []
    try:
        for number, step, chunk, note in _statements(files, values):
            path = step.path
            sql = single_statement(path, render(path, chunk))
            started = time.perf_counter()
            try:
                if is_query(sql):
                    columns, rows = active.query(sql)
                    result = StatementResult(path, sql, 0.0, len(rows), list(columns), rows)
                else:
                    active.execute(sql)
                    result = StatementResult(
                        path,
                        sql,
                        0.0,
                        row_count=getattr(active, "last_row_count", None),
                        skipped=getattr(active, "last_skip_reason", None),
                    )
            except EngineError as error:
                raise SqlRunError(f"{step.label} failed on {active.name}:\n{error}") from error
            result.seconds = time.perf_counter() - started
            result.bindings = dict(step.bindings)
            results.append(result)
            if echo:
                echo(
                    f"[{number}/{len(files)}] {step.label}{note}  {result.seconds:.2f} s  "
                    f"{_describe(result)}"
                )
    finally:
        if owns_engine:
            active.close()
    return results


def _check_landing_settings(engine: str | Engine, values: Mapping[str, Any],
                            files: list[Step]) -> None:
    """On Athena, a file that pseudonymises what it lands (sql/backfill's stage) needs the
    stack's IpHandling said out loud: a workstation without IP_HANDLING would silently
    land under the default, not the environment's choice (docs/operations.md)."""
    name = engine if isinstance(engine, str) else getattr(engine, "name", "")
    if name != "athena" or "ip_handling" in values:
        return
    for step in files:
        if "ip_handling" in step.path.read_text(encoding="utf-8", errors="replace"):
            raise SqlRunError(
                f"{step.label} lands rows on Athena: set IP_HANDLING (and PII_QUERY_PARAMETERS,"
                " IP_HASH_KEY) as the stack's IpHandling / PiiQueryParameters / IpHashKeySecret"
                " give them to the daily job, or --param ip_handling=truncate|drop|hash")


_WRITES = {TokenType.MERGE, TokenType.INSERT}


def _statements(files: list[Step], values: dict[str, Any]):
    """(number, step, params, note) per statement: a windowed write runs once per chunk.

    A MERGE / INSERT over [run_date - lookback_days, run_date] longer than
    windows.MAX_WINDOW_DAYS would write over Athena's 100 partitions in one statement;
    it runs as consecutive shorter windows instead (webevents/jobs/windows.py).
    """
    for number, step in enumerate(files, start=1):
        path = step.path
        values_here = {**values, **dict(step.bindings)}
        chunks = [values_here]
        if "lookback_days" in values and _is_windowed_write(path, values_here):
            try:
                chunks = window_chunks(values_here)
            except ValueError as error:
                raise SqlRunError(f"{path}: {error}") from None
        for index, chunk in enumerate(chunks, start=1):
            note = ""
            if len(chunks) > 1:
                first = dt.date.fromisoformat(chunk["run_date"]) - dt.timedelta(
                    days=int(chunk["lookback_days"])
                )
                note = f" (window {index}/{len(chunks)}: {first}..{chunk['run_date']})"
            yield number, step, chunk, note


def _is_windowed_write(path: Path, values: Mapping[str, Any]) -> bool:
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return False  # render() names the file
    try:
        names = jinja2.meta.find_undeclared_variables(_JINJA.parse(source))
    except jinja2.TemplateSyntaxError:
        return False  # render() reports it with the file and line
    if not {"run_date", "lookback_days"} <= names:
        return False
    tokens = transpile.tokenize_athena(render(path, values))
    return bool(tokens) and tokens[0].token_type in _WRITES


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def sql_command(args) -> int:
    """`webevents sql FILES... [--param name=value] [--engine ...] [--lake DIR]`."""
    try:
        params = parse_params(args.param)
        if args.engine == "local":  # a writer: hold the lake, as run and ingest do
            lake = resolve_lake(args.lake)
            with locked(lake, "sql"):
                results = run_files(args.files, engine="local", params=params, lake=lake)
        else:
            results = run_files(args.files, engine=args.engine, params=params, lake=args.lake)
    except (SqlRunError, EngineError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for result in results:
        if result.is_query:
            print(f"\n-- {_display(result.path)}")
            print(format_rows(result.columns, result.rows, "table"))
    return 0
