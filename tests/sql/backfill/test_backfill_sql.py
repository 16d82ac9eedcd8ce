"""sql/backfill on the local engine: input archive lines -> stage, raw, rejects, load log.

Each case is one archive line with the values the spec (docs/landing-normalisation.md)
says it must get; the files run through `backfill_files`, the same path as the CLI.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections import Counter

import duckdb
import pytest

from webevents.dev.generate import generate_sample
from webevents.engines import get_engine
from webevents.jobs.backfill import BackfillError, backfill_files

NESTED = {
    "_id": {"$oid": "oid-1"},
    "eventTimestamp": {"$date": "2024-03-10T23:30:00.1234569-02:00"},
    "metadata": {"appId": "viewer", "userAgent": "Mozilla/5.0"},
    "eventData": {
        "type": "Track",
        "event": "room_viewed",
        "anonymousId": "a-1",
        "properties": {
            "roomId": 7,
            "spaceType": "loft",
            "coordinates": {"pitch": "1.5", "yaw": "Infinity", "hfov": 80},
            "theme": "dark",
        },
    },
}
LEGACY = {
    "type": "page",
    "messageId": "m-1",
    "sentAt": {"$numberLong": "1710115200000"},
    "context": {"page": {"url": "https://x.io/tour/9?z=1"}, "ip": "192.0.2.7"},
    "properties": {"referrer": "", "spaceId": {"a": 1}},
}
# line -> (outcome, reason, expected columns)
CASES = [
    (json.dumps(NESTED), "ok", None, {
        "event_id": "oid-1",
        "event_timestamp": dt.datetime(2024, 3, 11, 1, 30, 0, 123456),
        "event_date": dt.date(2024, 3, 11),
        "event_type": "track",
        "event_name": "room_viewed",
        "anonymous_id": "a-1",
        "app_id": "viewer",
        "user_agent": "Mozilla/5.0",
        "room_id": "7",
        "space_type": "loft",
        "coordinates": {"pitch": 1.5, "yaw": None, "hfov": 80.0},
        # "Infinity" is no double: the column has the rest, properties the object (§6)
        "properties": {
            "theme": "dark",
            "coordinates": {"pitch": "1.5", "yaw": "Infinity", "hfov": 80},
        },
        "source_format": "nested",
    }),
    (json.dumps(LEGACY), "ok", None, {
        "event_id": "m-1",
        "event_timestamp": dt.datetime(2024, 3, 11, 0, 0),
        "event_type": "page",
        "event_name": "page",
        "page_url": "https://x.io/tour/9?z=1",
        "page_path": "/tour/9",
        "page_referrer": None,
        "ip_address": "192.0.2.0",  # truncated to its /24 (§6b)
        "space_id": None,
        "coordinates": None,
        "properties": {"referrer": "", "spaceId": {"a": 1}},
        "source_format": "legacy",
    }),
    ('{"type":"page","timestamp":"2024-03-10T10:00:00Z"}', "ok", None, {
        "event_id": "h8f0eaf237c5be0620c0111eb4b2b5a3f3b2a6b56ca17c3faa0092bf8b21d70f0",
        "properties": {},
    }),
    ('{"type":"page","timestamp":"2024-03-10T10:00:60Z"}', "rejected", "invalid_timestamp", {}),
    ('{"type":"page"}', "rejected", "missing_timestamp", {}),
    ('{"properties":{},"timestamp":1710064800000}', "rejected", "unknown_shape", {}),
    ("[1]", "rejected", "not_an_object", {}),
    ('{"type":"page","timestamp":1710064800000,"x":[1,]}', "rejected", "invalid_json", {}),
    ('{"type":"page","a":' + "[" * 64 + "]" * 64 + "}", "rejected", "too_deep", {}),
    ('{"type":"page","timestamp":1710064800000,"big":"' + "x" * 1_024_000 + '"}',
     "rejected", "oversized", {}),
    ("  \r", "dropped", "empty_record", {}),
]


def _content_id(line: str) -> str:
    import hashlib

    return "h" + hashlib.sha256(line.strip(" \t\n\r").encode()).hexdigest()


def write_archive(root, days: dict[str, list[str]], gz: bool = True) -> list:
    """Archive files <root>/dt=DAY/events.jsonl[.gz] holding `lines`, one file per day."""
    files = []
    for day, lines in days.items():
        folder = root / f"dt={day}"
        folder.mkdir(parents=True, exist_ok=True)
        data = ("\n".join(lines) + "\n").encode()
        path = folder / ("events.jsonl.gz" if gz else "events.jsonl")
        path.write_bytes(gzip.compress(data) if gz else data)
        files.append(path)
    return files


def query(lake, sql: str) -> list[dict]:
    """Rows of a plain DuckDB query on the lake (assertions need no transpiling)."""
    with duckdb.connect(str(lake / "lake.duckdb"), read_only=True) as con:
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def snapshot(lake) -> dict[str, list]:
    """Every backfill table's rows, sorted, to compare a run with a re-run."""
    tables = ("raw.web_events", "raw.web_events_backfill_rejects",
              "raw.web_events_backfill_loads", "raw.web_events_backfill_stage")
    return {t: sorted(map(repr, query(lake, f"select * from {t}"))) for t in tables}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("cases")
    return write_archive(root / "archive", {"2024-03-10": [line for line, *_ in CASES]})


@pytest.fixture(scope="module")
def backfilled(archive, tmp_path_factory):
    """(lake, summary) of the CASES archive backfilled once."""
    lake = tmp_path_factory.mktemp("lake")
    return lake, backfill_files(archive, lake=lake)


def test_the_hash_case_is_the_content_id():
    assert CASES[2][3]["event_id"] == _content_id(CASES[2][0])


def test_each_line_gets_its_outcome_reason_and_columns(backfilled):
    lake, summary = backfilled
    stage = query(lake, "select * from raw.web_events_backfill_stage")
    assert len(stage) == len(CASES)
    for line, outcome, reason, expected in CASES:
        if outcome == "ok":
            (row,) = [r for r in stage if r["event_id"] == expected["event_id"]]
        else:  # each failure reason occurs once in CASES
            (row,) = [r for r in stage if r["reason"] == reason]
            assert row["line"].strip(" \r") == line.strip(" \r")
        assert (row["outcome"], row["reason"]) == (outcome, reason), line[:80]
        for column, value in expected.items():
            actual = json.loads(row[column]) if column == "properties" else row[column]
            assert actual == value, f"{column} of {line[:60]}"
    (chunk,) = summary.chunks
    assert (chunk.source_lines, chunk.landed_lines, chunk.rejected_lines,
            chunk.dropped_lines) == (11, 3, 7, 1)


def test_landed_rows_and_rejects(backfilled):
    lake, _ = backfilled
    raw = query(lake, "select * from raw.web_events order by event_id")
    assert [r["event_id"] for r in raw] == sorted(
        ["oid-1", "m-1", CASES[2][3]["event_id"]])
    assert {r["load_source"] for r in raw} == {"backfill"}
    rejects = query(lake, "select * from raw.web_events_backfill_rejects")
    assert sorted(r["reason"] for r in rejects) == sorted(
        reason for _, outcome, reason, _ in CASES if outcome == "rejected")
    assert all(r["source_file"].endswith("events.jsonl.gz") for r in rejects)
    assert {r["line"] for r in rejects} >= {"[1]", '{"type":"page"}'}


def test_rerunning_a_chunk_changes_nothing(backfilled, archive):
    lake, first = backfilled
    assert first.chunks[0].inserted_rows == 3
    before = snapshot(lake)
    summary = backfill_files(archive, lake=lake)
    assert summary.chunks[0].inserted_rows == 0
    assert snapshot(lake) == before


def test_chunks_by_month_and_a_replay_in_a_later_chunk_lands_once(tmp_path):
    line = '{"type":"page","messageId":"r-1","timestamp":"2024-01-31T23:00:00Z"}'
    files = write_archive(tmp_path / "archive", {
        "2024-01-31": [line, "{bad"],
        "2024-02-01": [line, '{"type":"page","messageId":"r-2","timestamp":1706745600000}'],
    })
    summary = backfill_files(files, lake=tmp_path / "lake")
    assert [(c.date_from, c.date_to) for c in summary.chunks] == [
        (dt.date(2024, 1, 31), dt.date(2024, 1, 31)), (dt.date(2024, 2, 1), dt.date(2024, 2, 1))]
    assert [(c.source_lines, c.landed_lines, c.rejected_lines, c.inserted_rows)
            for c in summary.chunks] == [(2, 1, 1, 1), (2, 2, 0, 1)]
    raw = query(tmp_path / "lake", "select event_id from raw.web_events order by 1")
    assert [r["event_id"] for r in raw] == ["r-1", "r-2"]
    loads = query(tmp_path / "lake", "select * from raw.web_events_backfill_loads order by 1")
    assert [r["source_lines"] for r in loads] == [2, 2]


def test_from_and_to_choose_archive_days(tmp_path):
    files = write_archive(tmp_path / "archive", {
        "2024-01-01": ['{"type":"page","timestamp":1704067200000}'],
        "2024-01-02": ['{"type":"page","timestamp":1704153600000}'],
    }, gz=False)
    summary = backfill_files(files, lake=tmp_path / "lake", date_from=dt.date(2024, 1, 2))
    assert summary.total("landed_lines") == 1
    assert query(tmp_path / "lake", "select count(*) as n from raw.web_events") == [{"n": 1}]


def test_many_event_dates_are_inserted_in_ranges_below_100(tmp_path):
    start = dt.datetime(2023, 1, 1)
    lines = [json.dumps({"type": "page", "messageId": f"d-{n}",
                         "timestamp": (start + dt.timedelta(days=n)).isoformat() + "Z"})
             for n in range(150)]
    files = write_archive(tmp_path / "archive", {"2024-03-01": lines})
    inserts = []

    class CountingEngine:
        def __init__(self, inner):
            self.inner, self.name = inner, inner.name

        def execute(self, sql):
            self.inner.execute(sql)
            if sql.lstrip().startswith("insert into raw.web_events (") or (
                    "insert into raw.web_events (\n" in sql):
                inserts.append(sql)
            self.last_row_count = self.inner.last_row_count
            self.last_skip_reason = self.inner.last_skip_reason

        def query(self, sql):
            return self.inner.query(sql)

    engine = get_engine("local", lake=tmp_path / "lake")
    try:
        summary = backfill_files(files, engine=CountingEngine(engine))
    finally:
        engine.close()
    assert summary.chunks[0].inserted_rows == 150
    assert len(inserts) == 2  # 90 + 60 event dates


def test_a_chunk_that_does_not_reconcile_fails_loudly(tmp_path, archive):
    class LosingEngine:
        """Skips the landing insert, as a broken statement would."""

        def __init__(self, inner):
            self.inner, self.name = inner, inner.name
            self.last_row_count = self.last_skip_reason = None

        def execute(self, sql):
            if "insert into raw.web_events (" not in sql:
                self.inner.execute(sql)
                self.last_row_count = self.inner.last_row_count

        def query(self, sql):
            return self.inner.query(sql)

    engine = get_engine("local", lake=tmp_path / "lake")
    try:
        with pytest.raises(BackfillError, match="does not reconcile: 11 source lines != 0 landed"):
            backfill_files(archive, engine=LosingEngine(engine))
    finally:
        engine.close()


def test_files_outside_a_day_folder_are_refused(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"type":"page"}\n')
    with pytest.raises(BackfillError, match="no dt=YYYY-MM-DD folder"):
        backfill_files([path], lake=tmp_path / "lake")


def test_invalid_utf8_is_rejected_not_landed(tmp_path):
    folder = tmp_path / "archive" / "dt=2024-03-10"
    folder.mkdir(parents=True)
    path = folder / "events.jsonl"
    path.write_bytes(b'{"type":"page","timestamp":1710064800000,"t":"Caf\xe9"}\n'
                     b'{"type":"page","timestamp":1710064800000,"t":"Caf\xc3\xa9"}\n')
    summary = backfill_files([path], lake=tmp_path / "lake")
    assert (summary.total("landed_lines"), summary.total("rejected_lines")) == (1, 1)
    (reject,) = query(tmp_path / "lake", "select * from raw.web_events_backfill_rejects")
    assert reject["reason"] == "invalid_utf8"


def test_outcomes_match_the_generators_truth(tmp_path):
    """Every archive line of a generated sample ends as the truth file says, reason included."""
    generate_sample(tmp_path / "sample", events=2_000, days=3, seed=11,
                    end_date=dt.date(2026, 11, 20))
    files = sorted((tmp_path / "sample" / "archive").glob("dt=*/*"))
    backfill_files(files, lake=tmp_path / "lake")
    truth = [json.loads(line) for line in (tmp_path / "sample" / "truth.jsonl").open()]
    expected = Counter(
        ({"ok": "ok", "failed": "rejected", "dropped": "dropped"}[t["outcome"]], t["reason"])
        for t in truth if t["location"] == "archive"
    )
    staged = query(tmp_path / "lake", "select outcome, reason, count(*) as n from "
                   "raw.web_events_backfill_stage group by all")
    assert Counter({(r["outcome"], r["reason"]): r["n"] for r in staged}) == expected


# Non-JSON number literals DuckDB reads (nan, inf, infinity in any case, 1e400) next to
# text that merely looks like an exponent (ids with e123): the SQL's strictness pre-filter
# must fire on the first and agree with the Lambda's strict parser either way.
NUMBER_LITERAL_LINES = [
    '{"type":"page","timestamp":1710064800000,"properties":{"v":' + value + "}" + extra + "}"
    for value in ("nan", "-nan", "NaN", "inf", "-INF", "Infinity", "infinity", "[ nan]",
                  "1e400", "1E+400", "-1e400", "1e-400", "1e308", '"x: 1e400"', '"a:inf"')
    for extra in ("", ',"anonymousId":"ab4e123c"')
] + ["nan", "-Infinity", "1e400", "[1e400]"]


def test_non_json_number_literals_are_rejected_like_the_lambda(tmp_path):
    import normalise

    files = write_archive(tmp_path / "archive", {"2024-03-10": NUMBER_LITERAL_LINES}, gz=False)
    backfill_files(files, lake=tmp_path / "lake")
    staged = query(tmp_path / "lake", "select reason from raw.web_events_backfill_stage")
    lambda_reasons = [normalise.normalise_bytes(line.encode(), 0).reason
                      for line in NUMBER_LITERAL_LINES]
    # the stage keeps no line order: compare the reasons as multisets, and per line below
    assert Counter(r["reason"] for r in staged) == Counter(lambda_reasons)
    rejected = {r["line"] for r in query(tmp_path / "lake", "select line from "
                                         "raw.web_events_backfill_stage where reason is not null")}
    assert rejected == {line for line, reason in zip(NUMBER_LITERAL_LINES, lambda_reasons,
                                                     strict=True) if reason}
