"""The project's sqlglot transforms: each Athena behaviour, run for real on DuckDB."""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import hashlib

import duckdb
import pytest

from webevents.engines import AthenaOnlyStatement, EngineError
from webevents.engines.local import LocalEngine
from webevents.engines.transpile import (
    TranspileError,
    count_statements,
    joda_to_strftime,
    text_lines,
    to_duckdb,
)


@pytest.fixture
def engine():
    local = LocalEngine(connection=duckdb.connect())
    yield local
    local.connection.close()


def value(engine: LocalEngine, expression: str):
    """One Athena expression evaluated on the local engine."""
    _, rows = engine.query(f"select {expression}")
    return rows[0][0]


# --- parse_datetime / format_datetime (Joda-Time patterns) --------------------------------


@pytest.mark.parametrize(
    ("joda", "strftime"),
    [
        ("yyyy-MM-dd HH:mm:ss", "%Y-%m-%d %H:%M:%S"),
        ("yyyy-MM-dd'T'HH:mm:ss.SSSZ", "%Y-%m-%dT%H:%M:%S.%g%z"),
        ("dd/MMM/yyyy:HH:mm:ss", "%d/%b/%Y:%H:%M:%S"),
        ("EEEE, MMMM d yy hh a", "%A, %B %d %y %I %p"),
        ("yyyy.SSSSSS 'o''clock' 100%", "%Y.%f o'clock 100%%"),
    ],
)
def test_joda_patterns_become_strftime_directives(joda, strftime):
    assert joda_to_strftime(joda) == strftime


def test_joda_letter_without_duckdb_equivalent_is_a_clear_error():
    with pytest.raises(TranspileError, match="'ww'"):
        joda_to_strftime("yyyy-ww")


def test_parse_datetime_uses_joda_format(engine):
    parsed = value(
        engine, "parse_datetime('2024-03-05T07:08:09.123', 'yyyy-MM-dd''T''HH:mm:ss.SSS')"
    )
    assert parsed == dt.datetime(2024, 3, 5, 7, 8, 9, 123000)


def test_format_datetime_uses_joda_format(engine):
    formatted = value(
        engine, "format_datetime(timestamp '2024-03-05 07:08:09', 'dd.MM.yyyy HH:mm')"
    )
    assert formatted == "05.03.2024 07:08"


# --- time zones -------------------------------------------------------------------------------


def test_at_timezone_converts_a_utc_timestamp(engine):
    # A plain timestamp is UTC in Athena; 07:00 UTC is 08:00 in Berlin in winter.
    local = value(engine, "at_timezone(timestamp '2024-01-05 07:00:00', 'Europe/Berlin')")
    assert (local.hour, local.day) == (8, 5)


def test_at_time_zone_operator_converts_like_athena(engine):
    local = value(engine, "timestamp '2024-07-05 23:30:00' at time zone 'Europe/Berlin'")
    assert (local.day, local.hour, local.minute) == (6, 1, 30)


def test_with_timezone_reads_wall_clock_time_in_the_zone(engine):
    instant = value(engine, "with_timezone(timestamp '2024-01-05 08:00:00', 'Europe/Berlin')")
    assert instant.astimezone(dt.UTC).hour == 7


def test_session_time_zone_is_utc(engine):
    instant = value(
        engine, "cast(from_iso8601_timestamp('2024-01-05T23:30:00-02:00') as timestamp)"
    )
    assert instant == dt.datetime(2024, 1, 6, 1, 30)


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2024-01-05T10:00:00Z", dt.datetime(2024, 1, 5, 10, 0)),
        ("2024-01-05T10:00:00.250+02:00", dt.datetime(2024, 1, 5, 8, 0, 0, 250000)),
        ("2024-01-05T10:00:00-05:30", dt.datetime(2024, 1, 5, 15, 30)),
        ("2024-01-05T10:00:00", dt.datetime(2024, 1, 5, 10, 0)),
    ],
)
def test_from_iso8601_timestamp_normalises_offsets_to_utc(engine, text, utc):
    got = value(engine, f"from_iso8601_timestamp('{text}')")
    assert got.astimezone(dt.UTC).replace(tzinfo=None) == utc


def test_from_iso8601_timestamp_nanos_keeps_microseconds(engine):
    got = value(engine, "from_iso8601_timestamp_nanos('2024-01-05T10:00:00.123456789Z')")
    assert got.microsecond == 123456


# --- URLs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "url", "expected"),
    [
        (
            "url_extract_host",
            "https://user@tours.example.com:8443/a/b?x=1#top",
            "tours.example.com",
        ),
        ("url_extract_host", "/relative/path", None),
        ("url_extract_host", None, None),
        ("url_extract_path", "https://tours.example.com/a/b?x=1#top", "/a/b"),
        ("url_extract_path", "https://tours.example.com", ""),
        ("url_extract_path", "/relative/path?x=1", "/relative/path"),
        ("url_extract_query", "https://tours.example.com/a?x=1&y=2#top", "x=1&y=2"),
        ("url_extract_query", "https://tours.example.com/a", None),
        ("url_extract_fragment", "https://tours.example.com/a#top", "top"),
        ("url_extract_protocol", "https://tours.example.com/a", "https"),
    ],
)
def test_url_functions_match_trino(engine, function, url, expected):
    literal = "cast(null as varchar)" if url is None else f"'{url}'"
    assert value(engine, f"{function}({literal})") == expected


# --- date arithmetic stays a date -------------------------------------------------------------


def test_date_add_on_a_date_literal_is_a_date(engine):
    assert value(engine, "date_add('day', -3, date '2024-03-01')") == dt.date(2024, 2, 27)


def test_date_minus_interval_is_a_date(engine):
    assert value(engine, "date '2024-03-01' - interval '1' month") == dt.date(2024, 2, 1)


def test_date_add_on_a_date_column_is_a_date(engine):
    engine.execute("create database if not exists raw")
    engine.execute("create table raw.days (event_date date, ts timestamp)")
    engine.execute(
        "insert into raw.days values (date '2024-03-01', timestamp '2024-03-01 10:00:00')"
    )
    _, rows = engine.query(
        "select date_add('day', 1, event_date) as d, date_add('hour', 1, ts) as t from raw.days"
    )
    assert rows == [(dt.date(2024, 3, 2), dt.datetime(2024, 3, 1, 11, 0))]


def test_date_add_on_a_timestamp_stays_a_timestamp(engine):
    got = value(engine, "date_add('day', 1, timestamp '2024-03-01 10:00:00')")
    assert got == dt.datetime(2024, 3, 2, 10, 0)


# --- JSON -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "path", "expected"),
    [
        ('{"a": {"b": "x"}}', "$.a.b", "x"),
        ('{"a": {"b": "x"}}', "$.a", None),  # object -> NULL, as in Trino
        ('{"a": [1, 2]}', "$.a", None),  # array -> NULL
        ('{"a": 42}', "$.a", "42"),
        ('{"a": true}', "$.a", "true"),
        ('{"a": null}', "$.a", None),
        ('{"a": 1}', "$.missing", None),
        ("{not json", "$.a", None),  # malformed -> NULL, not an error
    ],
)
def test_json_extract_scalar_matches_trino(engine, document, path, expected):
    assert value(engine, f"json_extract_scalar('{document}', '{path}')") == expected


@pytest.mark.parametrize(
    "text",
    ['"x"', '"caf\\u00e9 \\"q\\""', '"unterminated', '"a" "b"', '{"a": 1}', "[1]",
     ' "x"', "1.50", "null", None],
)
def test_json_extract_scalar_of_a_quoted_column_reads_the_string_in_one_parse(engine, text):
    # the one-parse form a column operand takes must agree with the general form
    engine.connection.execute("create table texts (j varchar)")
    engine.connection.execute("insert into texts values (?)", [text])
    athena = "select json_extract_scalar(j, '$') from texts"
    assert "->>" in engine.to_duckdb(athena)
    _, rows = engine.query(athena)
    general = engine.connection.execute(
        "select athena_json_extract_scalar(j, '$') from texts"
    ).fetchall()
    assert rows == general
    if text in ('"x"', ' "x"'):
        assert rows == [("x",)]
    if text in ('"unterminated', '{"a": 1}', "[1]", "null", None):
        assert rows == [(None,)]  # malformed, object, array, null -> NULL (Trino)


def test_json_paths_with_dollar_keys_are_carried(engine):
    document = '{"_id": {"$oid": "65f0c0ffee"}, "eventTimestamp": {"$date": 1700000000000}}'
    assert (
        value(engine, f"""json_extract_scalar('{document}', '$["_id"]["$oid"]')""") == "65f0c0ffee"
    )
    assert (
        value(engine, f"""json_extract_scalar('{document}', '$.eventTimestamp["$date"]')""")
        == "1700000000000"
    )


def test_json_extract_of_malformed_json_is_null(engine):
    assert value(engine, "json_extract('{oops', '$.a')") is None


def test_cast_json_string_to_varchar_gives_its_value(engine):
    assert value(engine, """cast(json_extract('{"a": "x", "n": 7}', '$.a') as varchar)""") == "x"
    assert value(engine, """cast(json_extract('{"a": "x", "n": 7}', '$.n') as varchar)""") == "7"


def test_map_filter_over_a_json_object(engine):
    got = value(
        engine,
        """map_filter(cast(json_parse('{"a": 1, "b": null, "c": "x"}') as map(varchar, json)),
                      (k, v) -> k <> 'a' and v is not null)""",
    )
    assert got == {"c": '"x"'}


# --- JSON fast paths (same answers, less parsing) ----------------------------------------------


def test_json_format_of_duckdb_written_json_is_its_text(engine):
    doc = """'{"a": {"b" : 1.0e5, "c": "\u00e9"}, "n": [1, 2]}'"""
    as_map = f"cast(json_parse({doc}) as map(varchar, json))"
    assert value(engine, f"json_format(element_at({as_map}, 'a'))") == '{"b":100000.0,"c":"é"}'
    assert value(engine, f"json_format(json_extract({doc}, '$.n'))") == "[1,2]"
    assert value(engine, f"json_format(element_at({as_map}, 'missing'))") is None
    assert value(engine, f"json_format(cast(map_filter({as_map}, (k, v) -> k = 'n') as json))") \
        == '{"n":[1,2]}'
    # JSON text DuckDB did not write is still re-serialised, as Trino's json_format does
    assert value(engine, f"json_format(json_parse({doc}))") == \
        '{"a":{"b":100000.0,"c":"é"},"n":[1,2]}'
    duck = to_duckdb(f"select json_format(element_at({as_map}, 'a'))")
    assert "TO_JSON" not in duck.upper()


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ('{"a": 1, "b": {"c": "x"}}', {"a": "1", "b": '{"c":"x"}'}),
        ('{"a": 1, "a": 2}', None),  # duplicate keys: no map in Trino either
        ("[1, 2]", None),
        ('"text"', None),
        ("null", None),
        ("{oops", None),
    ],
)
def test_try_cast_json_to_map_is_null_where_trino_fails(engine, document, expected):
    got = value(engine, f"try(cast(json_parse('{document}') as map(varchar, json)))")
    assert got == expected
    nested = f"""try(cast(element_at(cast(json_parse('{{"x": {document}}}') as map(varchar, json)),
                 'x') as map(varchar, json)))"""
    if document != "{oops":
        assert value(engine, nested) == expected
    duck = to_duckdb(f"select try(cast(json_parse('{document}') as map(varchar, json)))")
    assert "JSON_TRANSFORM" in duck.upper()


@pytest.mark.parametrize(
    ("text", "expected"),
    [('{"a": 1}', True), ("[1]", True), ("{oops", False), ("", False), (None, False)],
)
def test_try_json_parse_is_null_checks_validity_only(engine, text, expected):
    literal = "cast(null as varchar)" if text is None else f"'{text}'"
    assert value(engine, f"try(json_parse({literal})) is not null") is expected
    assert value(engine, f"try(json_parse({literal})) is null") is (not expected)
    assert "JSON_VALID" in to_duckdb("select try(json_parse(x)) is null from t").upper()


TRIM_WHITESPACE = r"regexp_replace(s, '^[ \t\n\r]+|[ \t\n\r]+$', '')"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abc", "abc"),
        ("  abc\t", "abc"),
        ("\r\n abc", "abc"),
        ("a b", "a b"),
        (" \t ", ""),
        ("", ""),
        ("\u00a0x\u00a0", "\u00a0x\u00a0"),  # only the four characters of the pattern
        (None, None),
    ],
)
def test_whitespace_trim_regexp_on_a_column_runs_only_when_needed(engine, text, expected):
    engine.connection.execute("create or replace temp table trim_cases (s varchar)")
    engine.connection.execute("insert into trim_cases values (?)", [text])
    _, rows = engine.query(f"select {TRIM_WHITESPACE} from trim_cases")
    assert rows[0][0] == expected
    assert to_duckdb(f"select {TRIM_WHITESPACE} from t").upper().startswith(
        "SELECT CASE WHEN ASCII(S)"
    )


def test_json_extract_scalar_of_a_nested_json_extract_is_null_on_malformed_json(engine):
    assert value(engine, "json_extract_scalar(json_format(json_extract('{oops', '$.a')), '$')") \
        is None
    assert value(
        engine, """json_extract_scalar(json_format(json_extract('{"a": "x"}', '$.a')), '$')"""
    ) == "x"


# --- hashing, bytes ---------------------------------------------------------------------------


def test_sha256_hex_of_utf8_matches_python(engine):
    text = '{"type": "page", "name": "Café"}'
    expected = hashlib.sha256(text.encode()).hexdigest()
    assert value(engine, f"lower(to_hex(sha256(to_utf8('{text}'))))") == expected


def test_length_of_to_utf8_is_the_byte_length(engine):
    assert value(engine, "length(to_utf8('Café'))") == 5


# --- arrays, try, regexp ----------------------------------------------------------------------


def test_array_functions(engine):
    _, rows = engine.query(
        "select array_agg(x order by x) as xs, cardinality(array_agg(x)) as n, "
        "contains(array_agg(x), 2) as has_two, filter(array_agg(x), v -> v > 1) as big "
        "from (values (3), (1), (2)) as t (x)"
    )
    xs, n, has_two, big = rows[0]
    assert (xs, n, has_two, sorted(big)) == ([1, 2, 3], 3, True, [2, 3])


def test_try_and_try_cast_give_null_on_failure(engine):
    assert value(engine, "try(cast('x' as integer))") is None
    assert value(engine, "try_cast('12' as integer)") == 12
    assert value(engine, "try_cast('x' as integer)") is None


def test_regexp_like_is_a_partial_match(engine):
    assert (
        value(engine, "regexp_like('Mozilla/5.0 (compatible; Googlebot/2.1)', 'googlebot|bingbot')")
        is False
    )
    assert value(engine, "regexp_like(lower('Mozilla/5.0 Googlebot/2.1'), 'googlebot')") is True


# --- MERGE --------------------------------------------------------------------------------------


@pytest.fixture
def merge_tables(engine):
    engine.execute("create database if not exists analytics")
    engine.execute("create table analytics.target (event_id string, n int)")
    engine.execute("insert into analytics.target values ('a', 1), ('b', 1)")
    return engine


def test_merge_updates_and_inserts(merge_tables):
    merge_tables.execute(
        "merge into analytics.target as t "
        "using (select * from (values ('b', 5), ('c', 7)) as s (event_id, n)) as s "
        "on t.event_id = s.event_id "
        "when matched then update set n = s.n "
        "when not matched then insert (event_id, n) values (s.event_id, s.n)"
    )
    assert merge_tables.last_row_count == 2
    _, rows = merge_tables.query("select event_id, n from analytics.target order by event_id")
    assert rows == [("a", 1), ("b", 5), ("c", 7)]


def test_merge_with_two_source_rows_for_one_target_row_fails_like_athena(merge_tables):
    with pytest.raises(EngineError, match="matched more than one source row"):
        merge_tables.execute(
            "merge into analytics.target as t "
            "using (select * from (values ('b', 5), ('b', 6)) as s (event_id, n)) as s "
            "on t.event_id = s.event_id when matched then update set n = s.n"
        )
    _, rows = merge_tables.query("select n from analytics.target where event_id = 'b'")
    assert rows == [(1,)]


# The local engine runs a MERGE as source, matches, UPDATE and INSERT in one transaction
# (DuckDB's MERGE is slow with an UPDATE clause); each shape must do what DuckDB's does.
MERGE_SHAPES = {
    "update_and_insert": (
        "merge into analytics.target as t "
        "using (select * from (values ('b', 5), ('c', 7)) as s (event_id, n)) as s "
        "on t.event_id = s.event_id "
        "when matched then update set n = s.n "
        "when not matched then insert (event_id, n) values (s.event_id, s.n)"
    ),
    "conditions_on_both_clauses": (
        "merge into analytics.target as t "
        "using (select * from (values ('a', 1), ('b', 5), ('c', 7), ('d', -1)) "
        "as s (event_id, n)) as s "
        "on t.event_id = s.event_id "
        "when matched and t.n is distinct from s.n then update set n = s.n + t.n "
        "when not matched and s.n > 0 then insert (event_id, n) values (s.event_id, s.n)"
    ),
    # matched / not matched is decided on the target as it was before the statement:
    # 'a' is renamed to 'c', and the source row 'c' is still not matched, so inserted
    "update_moves_a_row_onto_another_source_key": (
        "merge into analytics.target as t "
        "using (select * from (values ('a', 'c', 2), ('x', 'c', 3)) "
        "as s (event_id, new_id, n)) as s "
        "on t.event_id = s.event_id "
        "when matched then update set event_id = s.new_id, n = s.n "
        "when not matched then insert values (s.new_id, s.n)"
    ),
    "insert_only_from_a_table": (
        "merge into analytics.target as t using analytics.source as s "
        "on t.event_id = s.event_id "
        "when not matched then insert (event_id, n) values (s.event_id, s.n * 10)"
    ),
    "update_only_with_a_filter_in_on": (
        "merge into analytics.target as t using analytics.source as s "
        "on t.event_id = s.event_id and t.n < 2 "
        "when matched then update set n = s.n"
    ),
    "delete_goes_to_duckdbs_merge": (
        "merge into analytics.target as t using analytics.source as s "
        "on t.event_id = s.event_id when matched then delete"
    ),
}


@pytest.mark.parametrize("shape", sorted(MERGE_SHAPES))
def test_merge_in_steps_does_what_duckdbs_merge_does(shape):
    results = []
    for in_steps in (True, False):
        engine = LocalEngine(connection=duckdb.connect(), merge_in_steps=in_steps)
        engine.execute("create database if not exists analytics")
        engine.execute("create table analytics.target (event_id string, n int)")
        engine.execute("insert into analytics.target values ('a', 1), ('b', 1)")
        engine.execute("create table analytics.source (event_id string, n int)")
        engine.execute("insert into analytics.source values ('b', 4), ('e', 6)")
        engine.execute(MERGE_SHAPES[shape])
        _, rows = engine.query("select event_id, n from analytics.target order by 1, 2")
        results.append((engine.last_row_count, rows))
        engine.connection.close()
    assert results[0] == results[1]


def test_merge_in_steps_stamps_one_current_timestamp_and_cleans_up(engine):
    engine.execute("create database if not exists analytics")
    engine.execute("create table analytics.target (event_id string, at timestamp)")
    engine.execute("insert into analytics.target values ('a', null)")
    merge = (
        "merge into analytics.target as t "
        "using (select * from (values ('a'), ('b')) as s (event_id)) as s "
        "on t.event_id = s.event_id "
        "when matched then update set at = cast(current_timestamp as timestamp(6)) "
        "when not matched then insert values (s.event_id, "
        "cast(current_timestamp as timestamp(6)))"
    )
    engine.execute(merge)
    _, rows = engine.query("select count(*), count(distinct at) from analytics.target")
    assert rows == [(2, 1)]
    # a failing MERGE writes nothing and leaves no temp tables behind
    with pytest.raises(EngineError):
        engine.execute(merge.replace("at = cast(current_timestamp", "at = cast(s.event_id"))
    _, rows = engine.query("select count(*) from analytics.target")
    assert rows == [(2,)]
    engine.execute(merge)
    assert engine.last_row_count == 2


# --- DDL ------------------------------------------------------------------------------------------


def test_create_database_becomes_a_schema(engine):
    engine.execute("create database if not exists raw")
    engine.execute("create database if not exists raw")  # re-runnable
    _, rows = engine.query(
        "select count(*) from information_schema.schemata where schema_name = 'raw'"
    )
    assert rows == [(1,)]


def test_iceberg_table_ddl_runs_without_partitioning_and_properties(engine):
    engine.execute("create database if not exists raw")
    engine.execute(
        "create table if not exists raw.events (event_id string, event_timestamp timestamp, "
        "coordinates struct<pitch: double, yaw: double, hfov: double>, tags array<string>, n int) "
        "partitioned by (day(event_timestamp)) tblproperties ('table_type' = 'iceberg')"
    )
    _, rows = engine.query(
        "select column_name, data_type from information_schema.columns "
        "where table_name = 'events' order by ordinal_position"
    )
    assert rows == [
        ("event_id", "VARCHAR"),
        ("event_timestamp", "TIMESTAMP"),
        ("coordinates", "STRUCT(pitch DOUBLE, yaw DOUBLE, hfov DOUBLE)"),
        ("tags", "VARCHAR[]"),
        ("n", "INTEGER"),
    ]


def test_catalog_qualified_names_address_the_one_local_lake(engine):
    sql = to_duckdb('select * from "s3tablescatalog/webevents".raw.web_events')
    assert sql == "SELECT * FROM raw.web_events"


@pytest.fixture
def archive(tmp_path):
    day = tmp_path / "archive" / "dt=2024-01-02"
    day.mkdir(parents=True)
    with gzip.open(day / "events.jsonl.gz", "wb") as handle:
        handle.write(b'{"type": "page"}\r\n\n{"title": "Caf\xe9"}\n{broken')
    (day / "_SUCCESS").write_text("marker, not data\n")
    (tmp_path / "archive" / "dt=2024-01-03").mkdir()
    (tmp_path / "archive" / "dt=2024-01-03" / "more.jsonl").write_text('{"type": "track"}\n')
    return tmp_path / "archive"


def test_external_text_table_reads_lines_as_athena_does(engine, archive):
    engine.execute(
        "create external table if not exists archive.lines (line string) "
        "partitioned by (dt string) row format delimited fields terminated by '\\u0001' "
        f"stored as textfile location '{archive}/'"
    )
    _, rows = engine.query('select dt, line, "$path" from archive.lines order by dt, line')
    assert [(d, line) for d, line, _ in rows] == [
        ("2024-01-02", ""),  # a blank line is a row
        ("2024-01-02", '{"title": "Caf\ufffd"}'),  # invalid UTF-8 byte -> U+FFFD
        ("2024-01-02", '{"type": "page"}'),  # \r\n ends the line
        ("2024-01-02", "{broken"),  # last line without newline
        ("2024-01-03", '{"type": "track"}'),
    ]
    assert {path.rsplit("/", 1)[-1] for _, _, path in rows} == {"events.jsonl.gz", "more.jsonl"}


def test_external_table_drop_and_partition_repair_work_locally(engine, archive):
    engine.execute(f"create external table archive.lines (line string) location '{archive}/'")
    engine.execute("msck repair table archive.lines")
    assert engine.last_skip_reason and "not needed locally" in engine.last_skip_reason
    engine.execute("drop table if exists archive.lines")
    _, rows = engine.query("select count(*) from duckdb_views() where view_name = 'lines'")
    assert rows == [(0,)]


def test_external_table_with_a_serde_is_refused_clearly(engine):
    with pytest.raises(EngineError, match="text files only"):
        engine.execute(
            "create external table archive.j (a string) row format serde "
            "'org.openx.data.jsonserde.JsonSerDe' location '/tmp/nowhere/'"
        )


def test_text_lines_splits_like_hadoop(tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_bytes(b"a\r\nb\rc\n\nd\xff")
    assert text_lines(str(path)) == ["a", "b", "c", "", "d\ufffd"]


# --- Athena-only statements ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "what"),
    [
        (
            "select * from analytics.web_events "
            "for timestamp as of timestamp '2024-01-01 00:00:00 UTC'",
            "time travel",
        ),
        ("select * from analytics.web_events for version as of 4417180931405546745", "time travel"),
        ('select * from analytics."web_events$snapshots"', "metadata table"),
        ('select * from analytics."web_events$history"', "metadata table"),
        ("optimize marts.fct_web_events rewrite data using bin_pack", "OPTIMIZE"),
        ("vacuum marts.fct_web_events", "VACUUM"),
        (
            "alter table marts.fct_web_events "
            "set tblproperties ('vacuum_max_snapshot_age_seconds' = '1')",
            "TBLPROPERTIES",
        ),
    ],
)
def test_athena_only_statements_say_so_locally(engine, sql, what):
    with pytest.raises(AthenaOnlyStatement, match=f"(?s){what}.*runs on Athena/Trino only"):
        engine.execute(sql)


def test_count_statements_ignores_comments_and_final_semicolon():
    assert count_statements("-- a; comment\nselect ';' ;\n") == 1
    assert count_statements("select 1; select 2") == 2
    assert count_statements("-- nothing\n") == 0


# --- integer division ---------------------------------------------------------------------------


def test_integer_division_truncates_like_athena(engine):
    engine.execute("create database if not exists raw")
    engine.execute("create table raw.numbers (n bigint, x double, line string)")
    engine.execute("""insert into raw.numbers values (-7, 7.0, '{"ms": 1732406400123}')""")
    _, rows = engine.query(
        "with parsed as (select n, x, cast(json_extract_scalar(line, '$.ms') as bigint) as ms "
        "from raw.numbers) "
        "select 7 / 2, n / 2, x / 2, ms / 86400000, sum(n) / count(*) "
        "from parsed group by 1, 2, 3, 4"
    )
    assert rows == [(3, -3, 3.5, 20051, -7)]


def test_spelled_out_types_need_no_annotation(engine, monkeypatch):
    import sqlglot.optimizer.annotate_types as annotate_module

    def refuse(*_args, **_kwargs):
        raise AssertionError("annotated although every operand type is spelled out")

    monkeypatch.setattr(annotate_module, "annotate_types", refuse)
    _, rows = engine.query(
        "select cast(-7 as bigint) / 2, 7.0 / 2, cast(n as integer) / 86400000, "
        "date_add('day', 1, date '2024-02-28'), "
        "date_add('minute', 90, date_add('day', 1, timestamp '2024-02-28 00:00:00')) "
        "from (values 1732406400) as t (n)"
    )
    assert rows == [
        (-3, 3.5, 20, dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 1, 30)),
    ]


def test_from_utf8_replaces_invalid_bytes_like_athena(engine):
    assert value(engine, "from_utf8(from_hex('43e9'))") == "C\ufffd"
    assert value(engine, "from_utf8(from_hex('43e9'), '?')") == "C?"
    assert value(engine, "from_utf8(to_utf8('Café')) <> 'Café'") is False


def test_date_add_on_a_date_computed_in_a_cte_is_a_date(engine):
    _, rows = engine.query(
        "with days as (select cast(from_iso8601_timestamp('2024-03-01T23:00:00-02:00') as date) "
        "as first_day) select date_add('day', 1, first_day) as next_day, "
        "first_day + interval '1' month as next_month from days"
    )
    assert rows == [(dt.date(2024, 3, 3), dt.date(2024, 4, 2))]


def test_avg_of_decimal_literals_is_a_rounded_decimal_like_athena(engine):
    # 13 of 20 events qualify: Athena's avg(decimal(2,1)) is decimal(2,1) = 0.7, not 0.65.
    _, rows = engine.query(
        "select avg(case when x <= 13 then 1.0 else 0.0 end) as share, avg(x) as mean "
        "from unnest(sequence(1, 20)) as t (x)"
    )
    assert [(str(share), mean) for share, mean in rows] == [("0.7", 10.5)]
    assert value(
        engine, "avg(cast(x as decimal(10, 2))) from unnest(array[-0.015, -0.005]) as t (x)"
    ) == decimal.Decimal("-0.02")
