"""`webevents migrate`'s SQL half on Trino's Iceberg connector (Athena engine v3 is Trino).

Tables of the first deployed schema (27 landing columns) with a row in them, migrated by the
real `migrate()` through the trino engine: the lossless columns are appended with the
contract's types, the old row keeps its values, new rows fill the new columns, a second run
changes nothing, and the check against template.yaml passes.
"""

from __future__ import annotations

import landing_contract
import pytest

from tests.trino.test_ddl_on_trino import TRINO_TYPES, table_columns
from webevents.aws.migrate import TABLES, migrate

pytestmark = pytest.mark.trino

FIRST_ANALYTICS = landing_contract._FIRST_LANDING_COLUMNS + landing_contract.ANALYTICS_EXTRA_COLUMNS
FIRST_SCHEMAS = {
    "raw": (landing_contract._FIRST_LANDING_COLUMNS, "day(event_timestamp)"),
    "analytics": (FIRST_ANALYTICS, "event_date, space_type"),
}


@pytest.fixture(scope="module")
def first_schema_tables(trino_engine):
    for schema, (columns, partitioning) in FIRST_SCHEMAS.items():
        trino_engine.execute(f"create schema if not exists {schema}")
        declared = ",\n    ".join(f"{name} {kind}" for name, kind, _ in columns)
        trino_engine.execute(
            f"create table {schema}.web_events (\n    {declared}\n)\n"
            f"partitioned by ({partitioning})\ntblproperties ('table_type' = 'iceberg')"
        )
        trino_engine.execute(
            f"insert into {schema}.web_events (event_id, event_timestamp, event_date) "
            "values ('old-1', timestamp '2026-11-20 10:00:00.123456', date '2026-11-20')"
        )
    return trino_engine


def test_migrate_appends_the_lossless_columns_and_agrees_with_the_template(
    first_schema_tables, capsys
):
    engine = first_schema_tables
    assert migrate(engine, None, None) == 0
    out = capsys.readouterr().out
    assert out.count("ran: alter table") == 2 * len(landing_contract.LOSSLESS_COLUMNS)
    for table in TABLES:
        expected = [(name, TRINO_TYPES[kind]) for name, kind, _ in table.columns]
        assert table_columns(engine, table.schema, table.name) == expected

    # the row written before the migration keeps its values; the new columns read null
    _, [(event_id, context, sent_at)] = engine.query(
        "select event_id, context, sent_at from raw.web_events"
    )
    assert (event_id, context, sent_at) == ("old-1", None, None)
    engine.execute(
        "insert into raw.web_events (event_id, event_timestamp, event_date, context, "
        "sent_at, redacted_field_count) values ('new-1', timestamp '2026-11-21 00:00:00', "
        "date '2026-11-21', '{}', timestamp '2026-11-21 00:00:00.000001', 2)"
    )
    _, rows = engine.query(
        "select event_id, redacted_field_count from raw.web_events order by event_id"
    )
    assert rows == [("new-1", 2), ("old-1", None)]


def test_a_second_run_has_nothing_to_add(first_schema_tables, capsys):
    assert migrate(first_schema_tables, None, None) == 0
    out = capsys.readouterr().out
    assert "ran: alter" not in out and "already have every contract column" in out
