"""Every sql/ folder's run order is its run_order.yml, and it names each .sql file once.

Analysts add a file to sql/ and one line to the folder's run_order.yml; these tests fail
until the line is there. What a manifest does to a run: tests/webevents/test_sql.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from webevents import SQL_DIR
from webevents.jobs.sql import ORDER_FILE, SqlRunError, collect_files, for_each_rows, run_order

FOLDERS = sorted(p for p in SQL_DIR.iterdir() if p.is_dir())


def listed(folder: Path) -> list[str]:
    order = yaml.safe_load((folder / ORDER_FILE).read_text())
    return [name for key, files in order.items() if key not in ("for_each", "runs_through")
            for name in files]


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_every_sql_file_is_in_its_folders_run_order_exactly_once(folder):
    assert (folder / ORDER_FILE).is_file(), f"sql/{folder.name} has no {ORDER_FILE}"
    names = listed(folder)
    assert sorted(names) == sorted(p.name for p in folder.glob("*.sql"))
    assert len(names) == len(set(names))
    assert not list(folder.glob("*/*.sql")), "sql/ folders are flat"


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_file_names_carry_no_order_numbers(folder):
    """One convention: order lives in run_order.yml, not in name prefixes."""
    assert not [p.name for p in folder.glob("*.sql") if p.name[:1].isdigit()]


def test_folders_the_daily_job_runs_have_a_run_list():
    for name in ("ddl", "enrich", "bots", "maintenance"):
        assert run_order(SQL_DIR / name), name


def test_folders_run_by_a_command_say_which_when_run_as_a_folder():
    with pytest.raises(SqlRunError, match="webevents backfill runs this folder"):
        collect_files([SQL_DIR / "backfill"])


def test_the_ddl_runs_namespaces_first_in_the_manifest_order():
    names = [p.name for p in collect_files([SQL_DIR / "ddl"])]
    assert names[:2] == ["raw_namespace_create.sql", "analytics_namespace_create.sql"]
    assert names == listed(SQL_DIR / "ddl")


def test_maintenance_marts_are_sql_names():
    marts = [row["mart"] for row in for_each_rows(SQL_DIR / "maintenance")]
    assert marts and len(marts) == len(set(marts))
