"""Lint-time stand-ins for dbt's context, used by sqlfluff's jinja templater (.sqlfluff).

The dbt templater needs a live Athena connection, so dbt/ is linted with the jinja
templater: sqlfluff supplies ref/source/config/this/is_incremental; these names cover the
rest. Package-qualified macro calls (`adapter.dispatch(...)(...)`, `webevents.x(...)`,
`dbt.x(...)`) render as the SQL call `x(...)`, so the model around them parses and is
linted; the macro bodies themselves are linted in dbt/macros.
"""

import datetime as _datetime
import re as _re
import types as _types
from pathlib import Path as _Path

import yaml as _yaml


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


class _MacroNamespace:
    """`namespace.macro(args)` -> `macro(args)`."""

    def __init__(self, name):
        self.name = name

    def __getattr__(self, macro_name):
        return _call(macro_name)


class _Adapter:
    """dbt's `adapter`: dispatch renders the dispatched macro's name as a call."""

    def dispatch(self, macro_name, macro_namespace=None):
        return _call(macro_name)

    def quote(self, identifier):
        return f'"{identifier}"'


def var(name, default=None):
    """dbt's var(): the project's value, else the default, else the name."""
    if name in DBT_VARS:
        return DBT_VARS[name]
    return default if default is not None else name


def env_var(name, default=None):
    """dbt's env_var(): the default, else a placeholder named after the variable."""
    return default if default is not None else name.lower()


adapter = _Adapter()
# Lint as the Athena target (sqlfluff's dialect is athena).
target = _types.SimpleNamespace(
    type="athena", name="lint", schema="marts", database="awsdatacatalog", threads=1
)
modules = _types.SimpleNamespace(datetime=_datetime, re=_re)
webevents = _MacroNamespace("webevents")
dbt = _MacroNamespace("dbt")
