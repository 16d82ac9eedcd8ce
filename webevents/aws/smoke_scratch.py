"""The smoke test's scratch scope: one enrich MERGE and one dbt model, then nothing left.

`webevents smoke --scratch` (and `--dbt-model MODEL`, which implies it) works in a Glue
database of its own, `<MartsDatabaseName>_smoke_<tag>`, so no production table is written:
1. creates the database (Glue CreateDatabase) and in it `web_events`, an Iceberg table with
   analytics.web_events' columns, from sql/ddl's own CREATE with only the table name changed
   and a location under the marts bucket's smoke/<tag>/ prefix;
2. runs sql/enrich's MERGE with only its target retargeted to that table, limited to the
   tagged events' day (it still reads raw.web_events and analytics.web_events, read-only),
   and checks the tagged events are rows of the scratch table;
3. with --dbt-model, runs `dbt build --select MODEL --target prod` with the marts database
   and S3 location pointed at the scratch scope;
4. drops every table in the scratch database (Athena DROP TABLE deletes an Iceberg table's
   data) and then deletes the database (Glue DeleteDatabase). A failed drop keeps the
   database, so nothing is orphaned unseen, and the cleanup hop names what was left.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from sqlglot import exp
from sqlglot.tokens import TokenType

from webevents import PROJECT_ROOT
from webevents.aws.stack import StackError
from webevents.engines import transpile
from webevents.jobs.sql import render
from webevents.local import dbt_runner

ANALYTICS_DDL = PROJECT_ROOT / "sql" / "ddl" / "analytics_web_events_create.sql"
DBT_MODELS = PROJECT_ROOT / "dbt" / "models"
DBT_EXECUTABLE = str(dbt_runner.DBT_EXECUTABLE)
DEFAULT_DBT_MODEL = "int_session_boundaries"
SCRATCH_TABLE = "web_events"
ENRICH_SQL = PROJECT_ROOT / "sql" / "enrich" / "analytics_web_events_merge.sql"
_REF = re.compile(r"""\bref\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)""")

DbtRunner = Callable[[list[str], Mapping[str, str], Path], tuple[int, str]]


def enrich_params(day: dt.date) -> dict[str, str]:
    """Today only: the MERGE touches one analytics partition, which the daily run redoes."""
    return {"run_date": day.isoformat(), "lookback_days": "0"}


class ScratchError(ValueError):
    """A scratch-scope request that cannot be run (one line)."""


def scratch_database_name(marts_database: str, tag: str) -> str:
    """`<marts>_smoke_<tag>`: lowercase letters, digits and '_' (Athena and Glue both take it).

    Athena database names may hold only lowercase letters, digits and underscores
    (https://docs.aws.amazon.com/athena/latest/ug/tables-databases-columns-names.html);
    Glue allows up to 255 characters
    (https://docs.aws.amazon.com/glue/latest/webapi/API_DatabaseInput.html).
    """
    run = tag.lower().removeprefix("smoke-")  # the tag's time and suffix
    name = re.sub(r"[^a-z0-9_]", "_", f"{marts_database}_smoke_{run}".lower())
    if len(name) > 255:
        raise ScratchError(f"scratch database name {name[:40]}... is over Glue's 255 characters")
    return name


def retarget_first_table(sql: str, old: str, new: str) -> str:
    """`sql` with only the statement's own target table `old` renamed to `new`.

    sqlglot checks that the statement (a MERGE or CREATE TABLE) writes `old`; the first
    `schema.table` token run naming it is the target (`merge into x`, `create table x`), and
    only those characters change, so Athena gets the file's own text otherwise. Later reads
    of the same table (the MERGE's dedupe lookup) keep their name.
    """
    tree = transpile.parse_athena(sql)
    target = tree.this if isinstance(tree, (exp.Merge, exp.Create)) else None
    table = target if isinstance(target, exp.Table) else (
        target.find(exp.Table) if target is not None else None)
    old_db, old_name = old.split(".")
    if table is None or (table.db.lower(), table.name.lower()) != (old_db, old_name):
        raise ScratchError(f"expected a MERGE or CREATE TABLE writing {old}")
    tokens = transpile.tokenize_athena(sql)
    for first, dot, second in zip(tokens, tokens[1:], tokens[2:], strict=False):
        if (dot.token_type == TokenType.DOT and first.text.lower() == old_db
                and second.text.lower() == old_name):
            return sql[:first.start] + new + sql[second.end + 1:]
    raise ScratchError(f"{old} not found in the statement's text")  # pragma: no cover


def scratch_table_ddl(ddl: str, database: str, location: str) -> str:
    """analytics.web_events' CREATE, as `<database>.web_events` stored at `location`.

    A Glue-catalog Iceberg table needs a LOCATION before TBLPROPERTIES; S3 Tables chooses
    its own, so the sql/ddl file has none (Athena, "Create Iceberg tables":
    https://docs.aws.amazon.com/athena/latest/ug/querying-iceberg-creating-tables.html).
    """
    sql = retarget_first_table(ddl.strip().rstrip(";"), "analytics.web_events",
                               f"{database}.{SCRATCH_TABLE}")
    tokens = transpile.tokenize_athena(sql)
    (properties,) = [t for t in tokens if t.text.lower() == "tblproperties"]
    return f"{sql[:properties.start]}location '{location}'\n{sql[properties.start:]}"


# --- dbt -------------------------------------------------------------------------------------


def model_refs(models: Path = DBT_MODELS) -> dict[str, tuple[set[str], bool]]:
    """Every model: (the models it refs, whether it is a staging model)."""
    found: dict[str, tuple[set[str], bool]] = {}
    for path in sorted(models.rglob("*.sql")):
        staging = "staging" in path.relative_to(models).parts
        found[path.stem] = (set(_REF.findall(path.read_text())), staging)
    return found


def scratch_models(models: Path = DBT_MODELS) -> list[str]:
    """Models buildable alone in a scratch database: every ref is a staging model.

    Staging is ephemeral on Athena (dbt_project.yml), inlined into the model's SQL, so such a
    model reads only the sources; a model that refs another table model would read it from
    the scratch database, where it does not exist.
    """
    refs = model_refs(models)
    return sorted(
        name for name, (used, staging) in refs.items()
        if not staging and all(ref in refs and refs[ref][1] for ref in used)
    )


def check_dbt_model(model: str, models: Path = DBT_MODELS) -> None:
    """A one-line ScratchError unless `model` can be built alone in the scratch database."""
    allowed = scratch_models(models)
    if model not in allowed:
        kind = "is not a model of dbt/" if model not in model_refs(models) else \
            "refs other table models, which the scratch database does not hold"
        raise ScratchError(f"--dbt-model {model} {kind}; choose one of: {', '.join(allowed)}")


def dbt_command(model: str) -> list[str]:
    """The daily job's dbt build (buildspec.yml), for one model."""
    return [DBT_EXECUTABLE, "build", "--select", model, "--target", "prod",
            "--project-dir", "dbt", "--profiles-dir", "dbt"]


def dbt_env(base: Mapping[str, str], *, region: str, workgroup: str, catalog: str,
            database: str, location: str, results: str) -> dict[str, str]:
    """The CodeBuild job's dbt environment (template.yaml PipelineBuild), marts in scratch."""
    return dict(base) | {
        "DBT_TARGET": "prod",
        "AWS_REGION": region,
        "ATHENA_WORKGROUP": workgroup,
        "S3_TABLES_CATALOG": catalog,
        "DBT_MARTS_DATABASE": database,
        "DBT_MARTS_S3_LOCATION": location,
        "DBT_ATHENA_RESULTS_S3": results,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def run_dbt(command: list[str], env: Mapping[str, str], cwd: Path) -> tuple[int, str]:
    """Run dbt; (exit code, the last line of its output that says why, if it failed)."""
    done = subprocess.run(command, env=dict(env), cwd=cwd, capture_output=True, text=True,
                          check=False)
    text = _ANSI.sub("", done.stdout + done.stderr)  # dbt colours its log lines
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return done.returncode, failure_line(lines) if done.returncode else (lines or [""])[-1]


_FAILED_NODE = re.compile(r"\b(Error|Failure) in ")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def failure_line(lines: list[str]) -> str:
    """dbt's first `... Error in model X` / `Failure in test Y` line and the reason under it.

    dbt ends with a `Done. PASS=.. ERROR=1` summary, which says nothing of why.
    """
    for number, line in enumerate(lines):
        if _FAILED_NODE.search(line):
            reason = lines[number + 1] if number + 1 < len(lines) else ""
            return f"{line} {reason}".strip()
    errors = [line for line in lines if "error" in line.lower() and "Done." not in line]
    return (errors or lines or [""])[-1]


def default_env() -> Mapping[str, str]:
    return os.environ


# --- the hops ---------------------------------------------------------------------------------

_SAFE_TABLE = re.compile(r"[a-z0-9_]+")


class ScratchScope:
    """The scratch hops of one smoke run: create, MERGE, dbt, then drop everything created."""

    def __init__(self, run, stack, day, runner: DbtRunner | None = None) -> None:
        self.run_ = run
        self.stack = stack
        self.day = day
        self.runner = runner or run.dbt_runner or run_dbt
        self.database: str | None = None

    def run(self, expected: list[str]) -> None:
        if not self._create():
            return
        try:
            if self._table():
                self._merge(expected)
                if self.run_.dbt_model:
                    self._dbt(self.run_.dbt_model)
        finally:  # a failed MERGE or dbt build still leaves nothing behind
            self._cleanup()

    # each hop --------------------------------------------------------------------------------

    def _create(self) -> bool:
        run, started = self.run_, self.run_.clock.now()
        try:
            name = scratch_database_name(self.stack.output("MartsDatabaseName"), run.tag)
            self.prefix = f"{self.stack.output('MartsS3Location').rstrip('/')}/smoke/{run.tag}"
            # https://docs.aws.amazon.com/glue/latest/webapi/API_CreateDatabase.html
            run.clients.glue.create_database(DatabaseInput={
                "Name": name,
                "Description": f"webevents smoke test {run.tag}: dropped at the end of the run",
                "LocationUri": f"{self.prefix}/",
            })
        except (StackError, ScratchError) as error:
            run._fail("scratch database", started, str(error), "scratch_db")
            return False
        except Exception as error:  # ClientError, e.g. AccessDenied / AlreadyExists
            run._fail("scratch database", started, error_text(error), "scratch_db")
            return False
        self.database = name
        run._pass("scratch database", started, f"Glue database {name} created")
        return True

    def _table(self) -> bool:
        run, started = self.run_, self.run_.clock.now()
        location = f"{self.prefix}/{SCRATCH_TABLE}/"
        try:
            ddl = scratch_table_ddl(render(ANALYTICS_DDL, {}), self.database, location)
            self.engine = run._engine(self.stack, timeout=3600, commit_retries=6)
            self.engine.execute(ddl)
        except Exception as error:
            run._fail("scratch table", started, error_text(error), "scratch_table")
            return False
        run._pass("scratch table", started,
                  f"{self.database}.{SCRATCH_TABLE} created with analytics.web_events' columns")
        return True

    def _merge(self, expected: list[str]) -> None:
        run, started = self.run_, self.run_.clock.now()
        target = f"{self.database}.{SCRATCH_TABLE}"
        try:
            merge = retarget_first_table(render(ENRICH_SQL, enrich_params(self.day)),
                                         "analytics.web_events", target)
            self.engine.execute(merge)
            _, rows = self.engine.query(scratch_enriched_query(target, run.tag, self.day))
        except Exception as error:
            run._fail("scratch enrich", started, error_text(error), "scratch_merge")
            return
        found = {row[0] for row in rows} & set(expected)
        if found == set(expected):
            run._pass("scratch enrich", started,
                      f"{len(found)} tagged events merged into {target} ({self.day})")
        else:
            missing = f"{len(expected) - len(found)} of {len(expected)} tagged events missing"
            run._fail("scratch enrich", started, f"{missing} from {target} after the MERGE",
                      "scratch_merge")

    def _dbt(self, model: str) -> None:
        run, started = self.run_, self.run_.clock.now()
        hop = f"dbt {model}"
        output = self.stack.output("AthenaOutputLocation").rstrip("/")
        env = dbt_env(
            run.environ if run.environ is not None else default_env(),
            region=run.clients.athena.meta.region_name,
            workgroup=self.stack.output("AthenaWorkGroupName"),
            catalog=self.stack.output("S3TablesCatalog"),
            database=self.database,
            location=f"{self.prefix}/dbt",
            results=f"{output}/dbt/",
        )
        command = dbt_command(model)
        try:
            code, last = self.runner(command, env, PROJECT_ROOT)
        except OSError as error:
            code, last = 127, f"cannot run {command[0]}: {error.strerror or error}"
        if code == 0:
            run._pass(hop, started, f"dbt build --select {model} into {self.database}")
        else:
            run._fail(hop, started, f"dbt exited {code}: {last[:160]}", "dbt")

    def _cleanup(self) -> None:
        """Drop each table of the scratch database, then the database; name what is left."""
        run, started = self.run_, self.run_.clock.now()
        glue, database = run.clients.glue, self.database
        left: list[str] = []
        try:
            # https://docs.aws.amazon.com/glue/latest/webapi/API_GetTables.html
            tables, token = [], None
            while True:
                page = glue.get_tables(DatabaseName=database, **({"NextToken": token} if token
                                                                 else {}))
                tables += [table["Name"] for table in page.get("TableList", [])]
                token = page.get("NextToken")
                if not token:
                    break
        except Exception as error:
            run._fail("scratch cleanup", started, f"cannot list the tables of {database} "
                      f"({error_text(error)}); left: database {database}", "cleanup")
            return
        engine = getattr(self, "engine", None) or run._engine(self.stack, timeout=3600)
        for table in tables:
            if not _SAFE_TABLE.fullmatch(table):
                left.append(table)
                continue
            try:
                # An Iceberg table is managed in Athena: DROP TABLE deletes its data too
                # (https://docs.aws.amazon.com/athena/latest/ug/querying-iceberg-drop-table.html).
                engine.execute(f"drop table if exists {database}.{table}")
            except Exception:
                left.append(table)
        if left:
            # Deleting the database now would orphan the tables' data in S3 unseen.
            run._fail("scratch cleanup", started, f"left: database {database} with tables "
                      f"{', '.join(left)} (Athena DROP TABLE failed)", "cleanup")
            return
        try:
            # https://docs.aws.amazon.com/glue/latest/webapi/API_DeleteDatabase.html
            glue.delete_database(Name=database)
        except Exception as error:
            run._fail("scratch cleanup", started, f"left: empty database {database} "
                      f"({error_text(error)})", "cleanup")
            return
        dropped = f"{len(tables)} table(s) dropped" if tables else "no tables"
        run._pass("scratch cleanup", started, f"{dropped}, database {database} deleted")


def scratch_enriched_query(table: str, tag: str, day) -> str:
    return (
        f"select event_id from {table}\n"
        f"where anonymous_id = '{tag}'\n"
        f"    and event_date = date '{day:%Y-%m-%d}'"
    )


def error_text(error: BaseException) -> str:
    """One line for a failed hop: an AWS error's code and message, else the first line."""
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error_part = response["Error"]
        return f"{error_part.get('Code', '')}: {error_part.get('Message', '')}".strip()
    return str(error).splitlines()[0] if str(error) else type(error).__name__
