"""Fixtures for the engine-fidelity tier: a catalog per test module on the running Trino server.

`make test-trino` (python -m webevents.dev.trino_server test) starts Trino and exports
TRINO_PORT; by hand, `python -m webevents.dev.trino_server start` and export the port it
prints. Every module gets its own Iceberg + Hive catalog pair in a tmp folder (CREATE
CATALOG), so modules never see each other's tables and nothing lands in the repo tree.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest


def _server_port() -> int:
    if os.environ.get("TRINO_PORT"):
        return int(os.environ["TRINO_PORT"])
    from webevents.dev.trino_server import running_developer_server

    server = running_developer_server()
    if server is None:
        pytest.fail(
            "no Trino server: run `make test-trino`, or start one with "
            "`python -m webevents.dev.trino_server start` and export TRINO_PORT",
            pytrace=False,
        )
    return server.port


@pytest.fixture(scope="session")
def trino_port() -> int:
    return _server_port()


@pytest.fixture(scope="module")
def trino_catalog(request, trino_port, tmp_path_factory):
    """A fresh catalog pair `<name>` (Iceberg) + `<name>_hive` for this module; dropped after."""
    from webevents.dev.trino_server import catalog_properties, create_catalog_sql
    from webevents.engines.trino import TrinoEngine

    module = re.sub(r"\W", "_", request.module.__name__.rsplit(".", 1)[-1])
    name = f"t_{module}_{uuid.uuid4().hex[:6]}"
    warehouse = tmp_path_factory.mktemp(f"warehouse_{module}")
    admin = TrinoEngine(port=trino_port, catalog="system")
    for statement in create_catalog_sql(name, warehouse):
        admin.execute(statement)
    yield name
    for catalog in reversed(list(catalog_properties(name, warehouse))):
        admin.execute(f"drop catalog if exists {catalog}")
    admin.close()


@pytest.fixture(scope="module")
def s3_root(tmp_path_factory) -> Path:
    """The local stand-in for S3 that external-table locations (s3://bucket/key) map into."""
    return tmp_path_factory.mktemp("s3")


@pytest.fixture(scope="module")
def trino_engine(trino_catalog, trino_port, s3_root):
    """The project's trino engine on this module's catalog."""
    from webevents.engines import get_engine

    engine = get_engine("trino", port=trino_port, catalog=trino_catalog, s3_root=s3_root)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def local_lake(tmp_path_factory):
    """The sample through the whole local DuckDB pipeline (the parity reference)."""
    from tests.trino.local_lake import build_local_lake

    return build_local_lake(tmp_path_factory.mktemp("local"))
