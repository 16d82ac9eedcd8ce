"""What changed in the code since the lake was built, and what must be rebuilt for it.

The lake records the code each part of it was built from, in `ledger.built_code`:

    kind 'sql'  one row per sql/ step that `webevents run` re-runs (enrich, bots): a hash of
                the step's files, written when the step has run over every event date;
    kind 'dbt'  one row per dbt model and seed: a hash of its SQL, config, the project's
                macros it calls, the vars it reads, and the fingerprints of everything
                upstream of it (its parents, and the sql/ steps writing the sources it
                reads), written when `dbt build` has built it.

Because a model's fingerprint folds in its parents' and its sources' writers', a changed
bot rule changes the fingerprint of every model downstream of analytics.web_events, and a
changed model changes its own and its descendants'. The models whose recorded fingerprint
differs (or is missing) are rebuilt with `--full-refresh`: an incremental model only merges
its lookback window, so an edited rule or model would otherwise reach only the last days,
and a new column would stop the merge ("source and target schemas ... out of sync").
A run killed before the record is written finds the old fingerprints and rebuilds again.

The fingerprints are read from the files (ref(), source(), macro and var names), which
costs milliseconds where a `dbt parse` costs seconds on every run.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from webevents import DBT_DIR, SQL_DIR, clock
from webevents.jobs.sql import collect_files

TABLE = "ledger.built_code"
# the sql/ steps `webevents run` re-runs over every event date, and the tables they write
SQL_STEPS = {"enrich": ("analytics.web_events",),
             "bots": ("analytics.web_events", "analytics.bot_user_agent_patterns")}

_DDL = (
    "create schema if not exists ledger",
    f"""create table if not exists {TABLE} (
        kind varchar not null,          -- 'sql' (a sql/ step) or 'dbt' (a model or seed)
        name varchar not null,          -- the step (enrich, bots) or the dbt node's name
        fingerprint varchar not null,   -- sha256 of the code it was built from
        built_at timestamp not null,
        primary key (kind, name)
    )""",
)
# written at run time (dbt's processed_at and the like), so left out of row comparisons
RUN_TIME_COLUMNS = {"processed_timestamp", "processed_at", "logged_at", "loaded_at"}
_VAR = re.compile(r"""\bvar\(\s*['"]([A-Za-z0-9_]+)['"]""")


def ensure(con) -> None:
    for statement in _DDL:
        con.execute(statement)


def recorded(con, kind: str) -> dict[str, str]:
    """name -> fingerprint of what the lake was last built from."""
    ensure(con)
    return dict(con.execute(f"select name, fingerprint from {TABLE} where kind = ?",
                            [kind]).fetchall())


def record(con, kind: str, fingerprints: dict[str, str]) -> None:
    """Upsert the fingerprints of what was just built (one transaction)."""
    ensure(con)
    now = clock.now().replace(tzinfo=None)
    con.execute("begin transaction")
    try:
        for name, fingerprint in sorted(fingerprints.items()):
            con.execute(f"delete from {TABLE} where kind = ? and name = ?", [kind, name])
            con.execute(f"insert into {TABLE} values (?, ?, ?, ?)",
                        [kind, name, fingerprint, now])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def forget(con, kind: str, names: list[str] | None = None) -> None:
    """Drop records so the next run rebuilds them (`--full-refresh` uses it up front)."""
    ensure(con)
    if names is None:
        con.execute(f"delete from {TABLE} where kind = ?", [kind])
    else:
        for name in names:
            con.execute(f"delete from {TABLE} where kind = ? and name = ?", [kind, name])


def _sha(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def sql_step_fingerprint(step: str, sql_dir: Path = SQL_DIR) -> str:
    """The hash of a sql/ step's files (names and contents, in run order: run_order.yml)."""
    files = collect_files([sql_dir / step])
    return _sha(*(f"{path.name}\n{path.read_text(encoding='utf-8')}" for path in files))


def sql_fingerprints(sql_dir: Path = SQL_DIR) -> dict[str, str]:
    return {step: sql_step_fingerprint(step, sql_dir) for step in SQL_STEPS}


_REF = re.compile(r"""\bref\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)""")
_SOURCE = re.compile(r"""\bsource\(\s*['"]([A-Za-z0-9_]+)['"]\s*,\s*['"]([A-Za-z0-9_]+)['"]""")
_MACRO = re.compile(r"{%-?\s*macro\s+([A-Za-z0-9_]+)\s*\(.*?{%-?\s*endmacro\s*-?%}", re.S)
_ENABLED = re.compile(r"enabled\s*=\s*target\.type\s+in\s+\[([^\]]*)\]")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _project_macros(dbt_dir: Path) -> dict[str, str]:
    """name -> the macro's text, for every macro in the project's macros/ folder."""
    found: dict[str, str] = {}
    for path in sorted((dbt_dir / "macros").rglob("*.sql")):
        for match in _MACRO.finditer(path.read_text(encoding="utf-8")):
            found[match[1]] = match[0]
    return found


def _macros_used(code: str, macros: dict[str, str]) -> list[str]:
    """The project macros some code calls, and theirs; a dispatched macro brings every
    engine's body (default__x, duckdb__x, athena__x ...), as any may run."""
    wanted, queue = set(), [w for w in _WORD.findall(code) if w in macros]
    while queue:
        name = queue.pop()
        if name in wanted:
            continue
        wanted.add(name)
        queue += [other for other in macros if other.endswith(f"__{name}")]
        queue += [w for w in _WORD.findall(macros[name]) if w in macros and w != name]
    return sorted(wanted)


def dbt_fingerprints(sql: dict[str, str], dbt_dir: Path = DBT_DIR,
                     target_type: str = "duckdb") -> dict[str, dict]:
    """Per model and seed enabled on the target: its fingerprint, parents and sources.

    Read from the project's files, so it costs milliseconds (a `dbt parse` costs seconds):
    a model's SQL, the YAML of its folder (config and columns), the `models:`/`seeds:`
    settings of dbt_project.yml, the project macros it calls, the vars it reads, the
    fingerprints of the models it refs and of the sql/ steps writing the sources it reads.
    """
    project = yaml.safe_load((dbt_dir / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    project_vars = project.get("vars") or {}
    settings = json.dumps({k: project.get(k) for k in ("models", "seeds")}, sort_keys=True,
                          default=str)
    macros = _project_macros(dbt_dir)
    files: dict[str, tuple[Path, str]] = {}
    for path in sorted((dbt_dir / "models").rglob("*.sql")):
        code = path.read_text(encoding="utf-8")
        enabled = _ENABLED.search(code)
        if enabled and target_type not in enabled[1]:
            continue  # disabled on this target (time travel needs Iceberg history)
        files[path.stem] = (path, code)
    for path in sorted((dbt_dir / "seeds").rglob("*.csv")):
        files[path.stem] = (path, path.read_text(encoding="utf-8"))

    def folder_yaml(path: Path) -> str:
        return "".join(f"{p.name}\n{p.read_text(encoding='utf-8')}"
                       for p in sorted(path.parent.glob("*.yml")))

    def source_code(schema: str, table: str) -> str:
        writers = [f"sql/{step}={sql[step]}" for step, tables in SQL_STEPS.items()
                   if f"{schema}.{table}" in tables and step in sql]
        return f"source {schema}.{table}: {','.join(writers)}"

    result: dict[str, dict] = {}

    def fingerprint(name: str, path_stack: tuple[str, ...] = ()) -> str:
        if name in result:
            return result[name]["fingerprint"]
        if name in path_stack:
            raise ValueError(f"dbt models ref each other in a cycle: {' -> '.join(path_stack)}")
        path, code = files[name]
        parents = sorted(set(_REF.findall(code)) & files.keys())
        sources = sorted(set(_SOURCE.findall(code)))
        used = _macros_used(code, macros)
        macro_code = [macros[m] for m in used]
        names = sorted(set(_VAR.findall(code + "".join(macro_code))))
        used_vars = json.dumps({n: project_vars.get(n) for n in names}, sort_keys=True,
                               default=str)
        upstream = [fingerprint(p, (*path_stack, name)) for p in parents]
        upstream += [source_code(schema, table) for schema, table in sources]
        value = _sha(name, code, folder_yaml(path), settings, used_vars, *macro_code,
                     *upstream)
        result[name] = {"name": name, "fingerprint": value, "parents": parents,
                        "sources": [f"{s}.{t}" for s, t in sources],
                        "seed": path.suffix == ".csv"}
        return value

    for name in sorted(files):
        fingerprint(name)
    return result


@dataclass
class Plan:
    """What a run rebuilds because the code changed (or `--full-refresh` asked)."""

    sql_changed: list[str] = field(default_factory=list)     # sql/ steps whose files changed
    models_changed: list[str] = field(default_factory=list)  # own code changed (or new)
    rebuild: list[str] = field(default_factory=list)         # changed and everything below
    total_models: int = 0
    forced: bool = False
    first_build: bool = False
    sql_fingerprints: dict[str, str] = field(default_factory=dict)
    dbt_fingerprints: dict[str, str] = field(default_factory=dict)
    models: dict[str, dict] = field(default_factory=dict)    # dbt_fingerprints() entries
    recorded_dbt: dict[str, str] = field(default_factory=dict)

    def line(self, days: int) -> str:
        """The one line that says what changed and what is rebuilt for it."""
        count = len(self.rebuild)
        models = f"{count} model{'s' if count != 1 else ''}"
        if self.forced:
            return (f"--full-refresh: re-running sql/enrich and sql/bots over all {days} days; "
                    f"rebuilding all {models} from scratch")
        if self.first_build:
            return (f"no record of the code this lake was built from: building all {models} "
                    f"from scratch")
        said = []
        if self.sql_changed:
            verbs = {"enrich": "re-enriching", "bots": "re-flagging"}
            said.append(", ".join(f"sql/{s}" for s in self.sql_changed) + " changed: "
                        + " and ".join(verbs[s] for s in self.sql_changed)
                        + f" all {days} days")
        if self.models_changed:
            shown = ", ".join(self.models_changed[:4])
            more = len(self.models_changed) - 4
            said.append(f"{shown}{f' and {more} more' if more > 0 else ''} changed since "
                        "built")
        if not said:
            return ""
        return "; ".join(said) + (f"; rebuilding {models} downstream with --full-refresh"
                                  if count else "")


def plan(recorded_sql: dict[str, str], recorded_dbt: dict[str, str], sql: dict[str, str],
         models: dict[str, dict], forced: bool = False) -> Plan:
    """Compare the code now with what the lake records; the rebuild set is closed downward
    because each fingerprint folds in its parents'."""
    current = {name: entry["fingerprint"] for name, entry in models.items()}
    rebuild = sorted(current) if forced else sorted(
        name for name, value in current.items() if recorded_dbt.get(name) != value)
    changed_sql = [] if forced else [s for s in sql if recorded_sql.get(s) != sql[s]]
    # a model "changed" itself when none of its parents is rebuilt and no sql step changed
    # under it: the others are only downstream of a change
    rebuilt = set(rebuild)
    own = [name for name in rebuild
           if not any(parent in rebuilt for parent in models[name]["parents"])
           and not (changed_sql and models[name]["sources"]
                    and recorded_dbt.get(name) is not None)]
    return Plan(sql_changed=changed_sql, models_changed=[] if forced else own,
                rebuild=rebuild, total_models=len(current), forced=forced,
                first_build=not forced and not recorded_dbt,
                sql_fingerprints=sql, dbt_fingerprints=current, models=models,
                recorded_dbt=dict(recorded_dbt))


def table_digests(con, names: list[str], schema: str = "marts") -> dict[str, dict[int, int]]:
    """Per table (views left out): row hash -> copies, without the run-time columns, so a
    rebuild's changed rows can be counted (an updated row is one removed and one added)."""
    digests: dict[str, dict[int, int]] = {}
    for name in names:
        columns = [column for (column,) in con.execute(
            "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
            "and table_name in (select table_name from duckdb_tables() where schema_name = ?) "
            "order by column_index", [schema, name, schema]).fetchall()
            if column not in RUN_TIME_COLUMNS]
        if not columns:
            continue
        quoted = ", ".join(f'"{column}"' for column in columns)
        rows = con.execute(f'select hash({quoted}), count(*) from "{schema}"."{name}" '
                           "group by 1").fetchall()
        digests[name] = Counter(dict(rows))
    return digests


def rows_changed(before: dict[str, dict[int, int]],
                 after: dict[str, dict[int, int]]) -> dict[str, dict[str, int]]:
    """Per table: rows now, rows added and rows removed between two digests."""
    result = {}
    for name, now in after.items():
        then = Counter(before.get(name, {}))
        now = Counter(now)
        result[name] = {"rows": sum(now.values()), "added": sum((now - then).values()),
                        "removed": sum((then - now).values())}
    return result
