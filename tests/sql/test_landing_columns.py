"""Every copy of the landing column list agrees with transform_lambda/landing_contract.py.

The list is written out wherever SQL must name each column (Athena has no `insert ...
select *` by name, and analysts read these files), so this one test names every copy.
Adding a landing column is one edit to landing_contract.py, then each place this test
names: it fails, with the place and the column, until every copy carries it.
"""

from __future__ import annotations

import re
from pathlib import Path

import landing_contract
import pytest
import sqlglot
from sqlglot import exp

from webevents import DBT_DIR, SQL_DIR
from webevents.jobs.sql import render

LANDING = [name for name, _, _ in landing_contract.LANDING_COLUMNS]
ANALYTICS = [name for name, _, _ in landing_contract.ANALYTICS_COLUMNS]
# Filled by the raw insert, not by the backfill's normalisation.
NOT_STAGED = {"received_at", "load_source"}
# Analytics columns the dbt staging model does not read: the (pseudonymised) client IP
# stays in analytics.web_events for the bot rules; no mart holds it.
NOT_IN_STAGING = {"ip_address"}
# Landing columns fct_web_events does not carry (staging names): the raw JSON payloads,
# the campaign and client fields, the producer's own clock. A new landing column must be
# carried by fct_web_events or named here.
NOT_IN_FCT_WEB_EVENTS = {
    "context_json", "traits_json", "extra_json", "redacted_field_count", "utm_source",
    "utm_medium", "utm_campaign", "utm_term", "utm_content", "locale", "sent_at",
    "original_event_timestamp",
}
PARAMS = {
    "run_date": "2026-11-24", "lookback_days": "3", "date_from": "2026-11-01",
    "date_to": "2026-11-24", "event_date_from": "2026-11-01", "event_date_to": "2026-11-24",
    "loaded_at": "2026-11-25 02:00:00", "archive_location": "s3://archive/events/",
    "scratch_table": "web_events_replay_rows_x", "scratch_location": "s3://scratch/x/",
}


def parse_sql(path: Path) -> exp.Expression:
    return sqlglot.parse_one(render(path, PARAMS), read="athena")


def parse_model(path: Path) -> exp.Expression:
    """A dbt model as SQL: config dropped, refs as tables, other Jinja as literals."""
    text = re.sub(r"\{\{\s*config\(.*?\)\s*\}\}", "", path.read_text(), flags=re.S)
    text = re.sub(r"\{\{\s*(?:ref|source)\(([^)]*)\)\s*\}\}",
                  lambda m: m.group(1).replace("'", "").replace(",", "__").replace(" ", ""),
                  text)
    text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)
    text = re.sub(r"\{%.*?%\}", "", text, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}", "0", text, flags=re.S)
    return sqlglot.parse_one(text, read="athena")


def insert_columns(tree: exp.Expression) -> list[str]:
    insert = tree if isinstance(tree, exp.Insert) else tree.find(exp.Insert)
    return [column.name for column in insert.this.expressions]


def created_columns(tree: exp.Expression) -> list[str]:
    return [c.name for c in tree.this.expressions if isinstance(c, exp.ColumnDef)]


def outermost_select(tree: exp.Expression) -> exp.Select:
    return tree.expression if isinstance(tree, exp.Insert) else tree


def final_cte_columns(tree: exp.Expression, cte: str) -> list[str]:
    select = next(c for c in tree.find_all(exp.CTE) if c.alias == cte).this
    return [e.alias_or_name for e in select.expressions]


def columns_read(tree: exp.Expression, cte: str) -> set[str]:
    """Source columns the CTE's select list reads (`coordinates.pitch` reads coordinates)."""
    select = next(c for c in tree.find_all(exp.CTE) if c.alias == cte).this
    return {column.table or column.name
            for e in select.expressions for column in e.find_all(exp.Column)}


def subsequence(wanted: list[str], found: list[str]) -> list[str]:
    """`found` restricted to `wanted`'s names: equal to `wanted` when all are there in order."""
    return [name for name in found if name in set(wanted)]


STAGING = DBT_DIR / "models" / "staging" / "stg_analytics__web_events.sql"
FCT_WEB_EVENTS = DBT_DIR / "models" / "marts" / "core" / "fct_web_events.sql"


def staging_columns() -> list[str]:
    return final_cte_columns(parse_model(STAGING), "renamed")


# (place, what it holds, what the contract says it must hold), one per copy of the list.
def places():
    ddl, backfill = SQL_DIR / "ddl", SQL_DIR / "backfill"
    raw_insert = parse_sql(backfill / "web_events_insert.sql")
    merge = parse_sql(SQL_DIR / "enrich" / "analytics_web_events_merge.sql")
    merge_insert = next(w for w in merge.find_all(exp.When)
                        if not w.args.get("matched")).args["then"]
    staged = [name for name in LANDING if name not in NOT_STAGED]
    return [
        ("sql/ddl/raw_web_events_create.sql",
         created_columns(parse_sql(ddl / "raw_web_events_create.sql")), LANDING),
        ("sql/ddl/raw_web_events_backfill_stage_create.sql",
         subsequence(staged, created_columns(
             parse_sql(ddl / "raw_web_events_backfill_stage_create.sql"))), staged),
        ("sql/ddl/analytics_web_events_create.sql",
         created_columns(parse_sql(ddl / "analytics_web_events_create.sql")), ANALYTICS),
        ("sql/backfill/web_events_backfill_stage_insert.sql (insert list)",
         subsequence(staged, insert_columns(
             parse_sql(backfill / "web_events_backfill_stage_insert.sql"))), staged),
        ("sql/backfill/web_events_insert.sql (insert list)", insert_columns(raw_insert),
         LANDING),
        ("sql/backfill/web_events_insert.sql (select list)",
         [e.alias_or_name for e in outermost_select(raw_insert).expressions], LANDING),
        ("sql/replay/raw_web_events_replay_rows_insert.sql (insert list)",
         insert_columns(parse_sql(SQL_DIR / "replay" / "raw_web_events_replay_rows_insert.sql")),
         LANDING),
        ("sql/enrich/analytics_web_events_merge.sql (insert list)",
         sorted(column.name for column in merge_insert.this.expressions), sorted(ANALYTICS)),
        ("dbt staging stg_analytics__web_events (columns read, or named NOT_IN_STAGING)",
         sorted(columns_read(parse_model(STAGING), "renamed") | NOT_IN_STAGING),
         sorted(ANALYTICS)),
        ("dbt fct_web_events (staging columns carried, or named NOT_IN_FCT_WEB_EVENTS)",
         sorted(set(staging_columns()) & (set(final_cte_columns(
             parse_model(FCT_WEB_EVENTS), "final")) | NOT_IN_FCT_WEB_EVENTS)),
         sorted(staging_columns())),
    ]


PLACES = places()


@pytest.mark.parametrize(("place", "holds", "contract"), PLACES, ids=[p[0] for p in PLACES])
def test_every_copy_of_the_landing_column_list_matches_landing_contract(place, holds, contract):
    missing = [name for name in contract if name not in holds]
    extra = [name for name in holds if name not in contract]
    assert not missing and not extra, f"{place}: missing {missing}, not in the contract {extra}"
    assert holds == contract, f"{place}: the columns are not in landing_contract.py's order"


def test_fct_web_events_names_no_column_it_does_carry_as_left_out():
    carried = set(final_cte_columns(parse_model(FCT_WEB_EVENTS), "final"))
    assert not carried & NOT_IN_FCT_WEB_EVENTS
    assert set(staging_columns()) >= NOT_IN_FCT_WEB_EVENTS
