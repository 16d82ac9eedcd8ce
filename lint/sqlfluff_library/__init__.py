"""Lint-time stand-ins for dbt's context, used by sqlfluff's jinja templater (.sqlfluff).

The dbt templater needs a live Athena connection, so dbt/ is linted with the jinja
templater: sqlfluff supplies ref/source/config/this/is_incremental and loads
dbt/macros; this package adds the rest of what the project's models use. Dispatched and
package-qualified macros resolve to the project's own macros (the `athena__` variant,
else `default__`, as dbt-athena would pick); dbt's own macros (`dbt.dateadd`, ...) render
as the SQL call `name(args)` so the model around them still parses and is linted.
"""

import datetime as _datetime
import re as _re
import types as _types
from pathlib import Path as _Path

import yaml as _yaml
from jinja2 import pass_context as _pass_context
from sqlfluff.core.templaters.builtins.dbt import MacroReturn as _MacroReturn

# Lint as the Athena target: sqlfluff's dialect is athena.
ADAPTER_PREFIXES = ("athena__", "default__", "")


def _project_vars():
    """The vars of dbt/dbt_project.yml (the values a real dbt run would see)."""
    project = _Path(__file__).resolve().parents[2] / "dbt" / "dbt_project.yml"
    try:
        return dict(_yaml.safe_load(project.read_text()).get("vars") or {})
    except (OSError, AttributeError, _yaml.YAMLError):
        return {}


DBT_VARS = _project_vars()


def _call(name):
    def render(*args, **kwargs):
        values = [str(a) for a in args] + [str(v) for v in kwargs.values()]
        return f"{name}({', '.join(values)})"

    return render


def _resolve(context, macro_name, prefixes=ADAPTER_PREFIXES):
    for prefix in prefixes:
        macro = context.get(prefix + macro_name)
        if callable(macro):
            return macro
    return _call(macro_name)


class _MacroNamespace:
    """`namespace.macro(args)`: the project's macro of that name, else `macro(args)`."""

    def __init__(self, prefixes):
        self.prefixes = prefixes

    def __getattr__(self, macro_name):
        prefixes = self.prefixes

        @_pass_context
        def call(context, *args, **kwargs):
            # dbt's return() unwinds to the enclosing Macro call; this wrapper is not a
            # Macro, so catch it here or it ends the caller's macro with this value.
            try:
                return _resolve(context, macro_name, prefixes)(*args, **kwargs)
            except _MacroReturn as returned:
                return returned.value

        return call


class _Adapter:
    """dbt's `adapter`: dispatch picks athena__/default__ like dbt-athena does."""

    @_pass_context
    def dispatch(self, context, macro_name, macro_namespace=None):
        return _resolve(context, macro_name)

    def quote(self, identifier):
        return f'"{identifier}"'


class _Column:
    def values(self):
        return []


class _EmptyTable:
    """run_query()'s result when nothing runs (lint has no database)."""

    columns = (_Column(),)
    rows = ()

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0


def var(name, default=None):
    """dbt's var(): the project's value, else the default, else the name."""
    if name in DBT_VARS:
        return DBT_VARS[name]
    return default if default is not None else name


def env_var(name, default=None):
    """dbt's env_var(): the default, else a placeholder named after the variable."""
    return default if default is not None else name.lower()


def run_query(sql):
    """dbt's run_query(): an empty result (lint runs no SQL)."""
    return _EmptyTable()


def log(message, info=False):
    return ""


adapter = _Adapter()
webevents = _MacroNamespace(("",))
dbt = _MacroNamespace(("athena__", "default__"))
# dbt's `execute` is False while parsing; models guard introspection with it.
execute = False
target = _types.SimpleNamespace(
    type="athena", name="lint", schema="marts", database="awsdatacatalog", threads=1
)
modules = _types.SimpleNamespace(datetime=_datetime, re=_re)
