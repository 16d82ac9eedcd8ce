"""get_engine: one interface, engines imported only when asked for."""

from __future__ import annotations

import subprocess
import sys

import pytest

from webevents.engines import ENGINE_MODULES, get_engine
from webevents.engines.local import LocalEngine


def test_local_engine_on_a_lake_folder(tmp_path):
    engine = get_engine("local", lake=tmp_path)
    try:
        assert isinstance(engine, LocalEngine)
        assert engine.query("select count(*) from analytics.web_events") == (
            ["count_star()"],
            [(0,)],
        )
    finally:
        engine.close()
    assert (tmp_path / "lake.duckdb").exists()


def test_unknown_engine_names_the_choices():
    with pytest.raises(ValueError, match="athena, local, trino"):
        get_engine("presto")


def test_trino_dispatches_to_the_trino_module():
    assert ENGINE_MODULES["trino"] == "webevents.engines.trino:TrinoEngine"


def test_engines_package_does_not_import_boto3_or_trino():
    code = (
        "import sys, webevents.engines, webevents.jobs.sql; "
        "print('boto3' in sys.modules, 'trino' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
