"""§6b pseudonymisation in sql/backfill on Trino: the privacy fixture (IPv4, IPv6, v4-mapped,
garbage; copies inside the JSON columns) staged row for row as DuckDB stages it, under every
IpHandling setting. DuckDB's rows equal the Lambda's (tests/sql/backfill/test_privacy_parity.py),
so Trino, standing in for Athena, lands what the Lambda lands."""

from __future__ import annotations

import shutil

import pytest

from tests.sql.backfill.test_privacy_parity import ENVIRONMENTS, PRIVACY_FIXTURE, whole_ips
from tests.trino.rows import assert_same_rows, table_snapshot
from tests.trino.test_backfill_parity import STAGE
from webevents import SQL_DIR
from webevents.engines import get_engine
from webevents.jobs.backfill import backfill_files
from webevents.jobs.sql import run_files

pytestmark = pytest.mark.trino

# One archive day per setting, so each run stages its own rows.
DAYS = dict(zip(ENVIRONMENTS, ("2024-03-10", "2024-03-11", "2024-03-12", "2024-03-13"),
                strict=True))


def archive(root) -> dict[str, object]:
    files = {}
    for setting, day in DAYS.items():
        folder = root / "archive" / f"dt={day}"
        folder.mkdir(parents=True)
        files[setting] = folder / "privacy.jsonl"
        shutil.copyfile(PRIVACY_FIXTURE, files[setting])
    return files


def stage_all(files, engine) -> None:
    for setting, file in files.items():
        with pytest.MonkeyPatch.context() as patch:
            for variable in ("IP_HANDLING", "IP_HASH_KEY", "PII_QUERY_PARAMETERS"):
                patch.delenv(variable, raising=False)
            for variable, value in ENVIRONMENTS[setting].items():
                patch.setenv(variable, value)
            backfill_files([file], engine=engine)


@pytest.fixture(scope="module")
def pair(trino_engine, tmp_path_factory):
    files = archive(tmp_path_factory.mktemp("privacy-archive"))
    local = get_engine("local", lake=tmp_path_factory.mktemp("privacy-lake") / "lake")
    stage_all(files, local)
    run_files([SQL_DIR / "ddl"], engine=trino_engine, echo=None)
    stage_all(files, trino_engine)
    yield local, trino_engine
    local.close()


@pytest.mark.parametrize("setting", list(DAYS))
def test_the_stage_rows_match_duckdb_s_under_every_setting(pair, setting):
    local, trino = pair
    table = f"(select * from raw.web_events_backfill_stage where archive_date = " \
        f"date '{DAYS[setting]}')"
    expected = table_snapshot(local, table, STAGE)
    assert len(expected) == len(PRIVACY_FIXTURE.read_text().splitlines())
    assert_same_rows(table_snapshot(trino, table, STAGE), expected, STAGE)


def test_the_json_copies_are_pseudonymised_on_trino(pair):
    _, trino = pair
    _, rows = trino.query(
        "select properties, traits, extra, redacted_field_count "
        "from raw.web_events_backfill_stage where event_id = 'priv-json-ip-4' "
        f"and archive_date = date '{DAYS['truncate']}'")
    [(properties, traits, extra, count)] = rows
    assert '"2001:db8:85a3::"' in properties and '"2001:db8:85a3::"' in traits
    assert "8a2e" not in properties + traits + extra and count == 0


@pytest.mark.parametrize("setting", list(DAYS))
def test_no_whole_ip_is_staged_on_trino_whatever_the_setting(pair, setting):
    _, trino = pair
    columns, rows = trino.query(
        "select * from raw.web_events_backfill_stage where outcome = 'ok' "
        f"and archive_date = date '{DAYS[setting]}'")
    assert rows
    for row in rows:
        text = " ".join(str(value) for value in row)
        assert not whole_ips(text), (setting, row[columns.index("event_id")], whole_ips(text))
