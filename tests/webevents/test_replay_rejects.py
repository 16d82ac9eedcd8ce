"""`webevents replay backfill-rejects`: after a rule change, rejected lines that now land move.

The rule change is made the way an analyst makes it: an edited copy of sql/backfill whose
stage insert accepts timestamps from 1990 on (the shipped rule starts at 2000-01-01).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import hmac
import json
import shutil
from pathlib import Path

import duckdb
import pytest

import webevents.jobs.replay as replay_module
from webevents import SQL_DIR
from webevents.cli import main
from webevents.jobs.backfill import backfill_files
from webevents.jobs.replay import replay_figures, replay_rejects

OLD = '{"type":"page","messageId":"m-old","timestamp":"1999-06-01T10:00:00Z"}'
LINES = {
    "2024-01-31": [
        '{"type":"page","messageId":"m-1","timestamp":"2024-01-31T10:00:00Z"}',
        OLD,
        OLD,  # an exact copy: both copies move, as both were rejected
        "not json",
        "",
    ],
    "2024-02-01": [
        '{"type":"page","messageId":"m-older","timestamp":"1998-01-01T00:00:00Z"}',
        '{"type":"page"}',
    ],
}
CLOCK = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)


def rows(lake: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(lake / "lake.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def lake(tmp_path) -> Path:
    files = []
    for day, lines in LINES.items():
        folder = tmp_path / "archive" / f"dt={day}"
        folder.mkdir(parents=True)
        path = folder / "events.jsonl.gz"
        path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
        files.append(path)
    lake = tmp_path / "lake"
    summary = backfill_files(files, lake=lake)
    assert summary.total("rejected_lines") == 5
    return lake


@pytest.fixture
def rule_changed(tmp_path, monkeypatch) -> Path:
    """sql/backfill with the event-time window opened to 1990."""
    folder = tmp_path / "sql-backfill"
    shutil.copytree(SQL_DIR / "backfill", folder)
    stage = folder / "web_events_backfill_stage_insert.sql"
    text = stage.read_text()
    assert text.count("timestamp '2000-01-01 00:00:00'") == 1
    stage.write_text(text.replace("timestamp '2000-01-01 00:00:00'",
                                  "timestamp '1990-01-01 00:00:00'"))
    monkeypatch.setattr(replay_module, "BACKFILL_SQL", folder)
    return folder


def snapshot(lake: Path) -> dict[str, list[tuple]]:
    return {
        table: rows(lake, f"select * from raw.{table} order by all")
        for table in ("web_events", "web_events_backfill_rejects", "web_events_backfill_stage",
                      "web_events_backfill_loads")
    }


def test_lines_that_now_land_move_out_of_the_rejects(lake, rule_changed):
    figures = replay_rejects(lake, [dt.date(2024, 1, 31)], clock=lambda: CLOCK)
    assert (figures["records_in"], figures["landed"], figures["failed_again"]) == (3, 2, 1)
    assert figures["failed_again_by_reason"] == {"invalid_json": 1}
    # both copies landed in raw as backfill rows with the id the line gives
    assert rows(lake, "select event_id, event_timestamp, load_source from raw.web_events "
                      "where event_id = 'm-old'") == [
        ("m-old", dt.datetime(1999, 6, 1, 10, 0), "backfill")] * 2
    # out of the rejects; the other archive day is untouched (not chosen)
    assert rows(lake, "select archive_date, reason, line from "
                      "raw.web_events_backfill_rejects order by all") == [
        (dt.date(2024, 1, 31), "invalid_json", "not json"),
        (dt.date(2024, 2, 1), "invalid_timestamp", LINES["2024-02-01"][0]),
        (dt.date(2024, 2, 1), "missing_timestamp", '{"type":"page"}'),
    ]


def test_the_chunk_still_reconciles_after_the_move(lake, rule_changed):
    replay_rejects(lake, clock=lambda: CLOCK)
    check = (SQL_DIR / "backfill" / "web_events_backfill_loads_check.sql").read_text()
    for date_from, date_to in rows(lake, "select date_from, date_to from "
                                         "raw.web_events_backfill_loads"):
        sql = check.replace("{{ date_from }}", str(date_from)).replace(
            "{{ date_to }}", str(date_to)).split("\n", 2)[2]
        ((*_, source, landed, rejected, dropped, unaccounted),) = rows(lake, sql)
        assert unaccounted == 0 and source == landed + rejected + dropped
    assert rows(lake, "select sum(landed_lines), sum(rejected_lines) "
                      "from raw.web_events_backfill_loads") == [(4, 2)]


def test_a_dry_run_and_a_second_run_change_nothing(lake, rule_changed):
    before = snapshot(lake)
    dry = replay_rejects(lake, dry_run=True, clock=lambda: CLOCK)
    assert dry["landed"] == 3
    assert snapshot(lake) == before
    replay_rejects(lake, clock=lambda: CLOCK)
    after_first = snapshot(lake)
    again = replay_rejects(lake, clock=lambda: CLOCK)
    assert (again["records_in"], again["landed"]) == (2, 0)
    assert snapshot(lake) == after_first


def test_without_a_rule_change_nothing_moves(lake):
    before = snapshot(lake)
    figures = replay_rejects(lake, clock=lambda: CLOCK)
    assert (figures["landed"], figures["failed_again"]) == (0, 5)
    assert snapshot(lake)["web_events_backfill_rejects"] == before["web_events_backfill_rejects"]
    assert snapshot(lake)["web_events"] == before["web_events"]


def test_reason_filter_and_the_bookkeeping_figures(lake, rule_changed):
    figures = replay_rejects(lake, reasons=["invalid_timestamp"], clock=lambda: CLOCK)
    assert (figures["records_in"], figures["landed"]) == (3, 3)
    con = duckdb.connect(str(lake / "lake.duckdb"), read_only=True)
    try:
        by_source = {f.source_object: f for f in replay_figures(con)}
    finally:
        con.close()
    first = by_source["backfill-rejects/archive_date=2024-01-31"]
    assert (first.records_in, first.landed, first.adds_up) == (2, 2, True)
    assert by_source["backfill-rejects/archive_date=2024-02-01"].landed == 1


def test_the_command_with_archive_date_and_summary(lake, rule_changed, tmp_path, capsys):
    out = tmp_path / "rejects.json"
    code = main(["replay", "backfill-rejects", "--archive-date", "2024-02-01",
                 "--lake", str(lake), "--summary", str(out)])
    assert code == 0
    assert ("replay: backfill-rejects 2 lines = 1 landed + 1 rejected again + 0 dropped; "
            "rejected again by reason: missing_timestamp 1") in capsys.readouterr().out
    assert json.loads(out.read_text())["by_archive_date"]["2024-02-01"]["landed"] == 1


# A rejected line carrying an address and a URL query, rejected for its date (1999).
PERSONAL = ('{"type":"page","messageId":"m-ip","timestamp":"1999-06-01T10:00:00Z",'
            '"context":{"ip":"198.51.100.77","traits":{"ip":"198.51.100.77"},'
            '"page":{"url":"https://x.test/p?q=1&email=a&k=v"}}}')


@pytest.fixture
def personal_lake(tmp_path) -> Path:
    folder = tmp_path / "archive" / "dt=2024-01-31"
    folder.mkdir(parents=True)
    (folder / "events.jsonl").write_text(PERSONAL + "\n")
    lake = tmp_path / "lake"
    assert backfill_files([folder / "events.jsonl"], lake=lake).total("rejected_lines") == 1
    return lake


@pytest.mark.parametrize(("environment", "ip", "url"), [
    ({"IP_HANDLING": "drop"}, None, "https://x.test/p?q=1&k=v"),
    ({"IP_HANDLING": "truncate", "PII_QUERY_PARAMETERS": "q,K"}, "198.51.100.0",
     "https://x.test/p?email=a"),
    ({"IP_HANDLING": "hash", "IP_HASH_KEY": "k3y"},
     hmac.new(b"k3y", b"198.51.100.77", hashlib.sha256).hexdigest(), "https://x.test/p?q=1&k=v"),
])
def test_replayed_lines_are_pseudonymised_by_the_environment_s_setting(
        personal_lake, rule_changed, monkeypatch, environment, ip, url):
    for variable in ("IP_HANDLING", "IP_HASH_KEY", "PII_QUERY_PARAMETERS"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    assert replay_rejects(personal_lake, clock=lambda: CLOCK)["landed"] == 1
    [(landed_ip, page_url, context, traits)] = rows(
        personal_lake, "select ip_address, page_url, context, traits from raw.web_events")
    assert (landed_ip, page_url) == (ip, url)
    assert "198.51.100.77" not in context + traits
    assert json.loads(traits)["ip"] == ip


def test_replaying_rejects_with_hashing_but_no_key_is_a_one_line_error(
        personal_lake, rule_changed, monkeypatch, capsys):
    monkeypatch.setenv("IP_HANDLING", "hash")
    monkeypatch.delenv("IP_HASH_KEY", raising=False)
    before = snapshot(personal_lake)
    assert main(["replay", "backfill-rejects", "--lake", str(personal_lake)]) == 1
    assert capsys.readouterr().err.strip() == (
        "webevents replay: ip_handling=hash needs a key: set IP_HASH_KEY (or --param "
        "ip_hash_key=...); none is set")
    assert snapshot(personal_lake) == before
