"""`webevents replay` of landing rows (iceberg-failed / destination-failed error output): a row
written before §6b was deployed, or under another IpHandling, lands as §6b lands it today, on
the local target and on the Athena target (whose scratch upload is asserted with Stubber)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from botocore.stub import ANY

from tests.sql.backfill.test_privacy_parity import whole_ips
from tests.webevents.test_replay import (
    ARRIVAL_MS,
    _line,
    enrich,
    error_record,
    lake_rows,
    write_object,
)
from tests.webevents.test_replay_aws import (
    ARCHIVE_CONTEXT,
    RAW_CONTEXT,
    REPLAY_ID,
    aws,  # noqa: F401 (a fixture)
    expect_athena,
    expect_stack,
    run,
    stubbed_clients,  # noqa: F401 (a fixture)
)
from webevents.jobs.replay import ReplayError, replay

KEY = "k3y"
# A landing row as a Lambda without §6b wrote it: every copy of the address whole.
OLD_ROW = {
    "event_id": "m-old", "event_timestamp": ARRIVAL_MS * 1000, "event_date": "2025-11-24",
    "event_type": "page", "event_name": "page", "anonymous_id": "a-1",
    "page_url": "https://x.test/p?email=a%40b.c&q=1",
    "page_path": "/p", "page_referrer": "https://r.test/?token=t",
    "ip_address": "203.0.113.9",
    "properties": '{"seen":[{"ip":"203.0.113.9"}],"link":"https://y.test/?name=Ann"}',
    "source_format": "legacy", "received_at": ARRIVAL_MS * 1000, "load_source": "firehose",
    "context": '{"page":{"title":"T","url":"https://x.test/p?email=a%40b.c&q=1"}}',
    "traits": '{"ip":"2001:db8:85a3:8d3::7"}', "extra": '{"metadata":{"ip":"203.0.113.9"}}',
    "redacted_field_count": 1,
}


def hashed(address: str) -> str:
    return hmac.new(KEY.encode(), address.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def setting(request, monkeypatch):
    environment = {"truncate": {"IP_HANDLING": "truncate"}, "drop": {"IP_HANDLING": "drop"},
                   "hash": {"IP_HANDLING": "hash", "IP_HASH_KEY": KEY}}[request.param]
    for variable in ("IP_HANDLING", "IP_HASH_KEY", "PII_QUERY_PARAMETERS"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    return request.param


def landing_object(tmp_path, rows: list[dict]):
    return write_object(tmp_path / "errors" / "iceberg-failed" / "obj",
                        [error_record(_line(row), "S3.AccessDenied") for row in rows])


EXPECTED_IP = {"truncate": "203.0.113.0", "drop": None, "hash": hashed("203.0.113.9")}


@pytest.mark.parametrize("setting", ["truncate", "drop", "hash"], indirect=True)
def test_an_old_landing_row_lands_pseudonymised_in_raw_and_analytics(tmp_path, setting):
    lake = tmp_path / "lake"
    summary = replay([str(landing_object(tmp_path, [OLD_ROW]))], lake=lake, progress=False)
    assert summary.total("landed") == 1
    enrich(lake)
    for table in ("raw.web_events", "analytics.web_events"):
        [(row,)] = lake_rows(lake, f"select to_json(r) from {table} r")
        assert not whole_ips(row), f"{setting}: {table} holds {whole_ips(row)}"
        landed = json.loads(row)
        assert landed["ip_address"] == EXPECTED_IP[setting]
        assert landed["page_url"] == "https://x.test/p?q=1"
        assert landed["page_referrer"] == "https://r.test/"
        assert json.loads(landed["properties"]) == {
            "seen": [{"ip": EXPECTED_IP[setting]}], "link": "https://y.test/"}
        # 1 as written + email, token in the columns + email, name in the JSON columns
        assert landed["redacted_field_count"] == 5


@pytest.mark.parametrize("setting", ["truncate", "drop", "hash"], indirect=True)
def test_a_row_that_already_landed_under_the_setting_is_replayed_unchanged(tmp_path, setting):
    lake = tmp_path / "lake"
    replay([str(landing_object(tmp_path, [OLD_ROW]))], lake=lake, progress=False)
    [(first,)] = lake_rows(lake, "select to_json(r) from raw.web_events r")
    again = {**json.loads(first), "event_id": "m-again",
             "event_timestamp": ARRIVAL_MS * 1000, "received_at": ARRIVAL_MS * 1000}
    folder = tmp_path / "second"
    replay([str(landing_object(folder, [again]))], lake=lake, progress=False)
    [(second,)] = lake_rows(lake, "select to_json(r) from raw.web_events r "
                                  "where event_id = 'm-again'")
    assert {**json.loads(second), "event_id": "m-old"} == json.loads(first)


def test_a_landing_row_under_hashing_without_a_key_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("IP_HANDLING", "hash")
    monkeypatch.delenv("IP_HASH_KEY", raising=False)
    with pytest.raises(ReplayError, match="IP_HANDLING=hash needs a key in IP_HASH_KEY"):
        replay([str(landing_object(tmp_path, [OLD_ROW]))], lake=tmp_path / "lake",
               progress=False)
    assert lake_rows(tmp_path / "lake", "select count(*) from raw.web_events") == [(0,)]


@pytest.mark.parametrize("setting", ["truncate", "hash"], indirect=True)
def test_the_athena_target_uploads_the_pseudonymised_row(tmp_path, aws, setting):  # noqa: F811
    clients, stubs = aws
    expect_stack(stubs)
    results = "webevents-dev-athena-results"
    scratch = f"replay-scratch/{REPLAY_ID}/rows.jsonl"
    uploaded: list[bytes] = []

    def capture(params, **_):
        uploaded.append(params["Body"])

    stubs["s3"].add_response("put_object", {}, {"Bucket": results, "Key": scratch, "Body": ANY})
    for query_id, context, write in (("q-create", ARCHIVE_CONTEXT, False),
                                     ("q-insert", RAW_CONTEXT, True),
                                     ("q-drop", ARCHIVE_CONTEXT, False)):
        expect_athena(stubs, query_id, context, write)
    stubs["s3"].add_response("delete_object", {}, {"Bucket": results, "Key": scratch})
    event = "provide-client-params.s3.PutObject"
    clients.s3.meta.events.register(event, capture)
    try:
        summary = run(tmp_path, [str(landing_object(tmp_path, [OLD_ROW]))], clients)
    finally:
        clients.s3.meta.events.unregister(event, capture)
    assert summary.total("landed") == 1
    [body] = uploaded
    assert not whole_ips(body.decode()), whole_ips(body.decode())
    row = json.loads(body)
    assert row["ip_address"] == EXPECTED_IP[setting]
    assert row["page_url"] == "https://x.test/p?q=1" and row["redacted_field_count"] == 5
    assert json.loads(row["traits"]) == {
        "ip": "2001:db8:85a3::" if setting == "truncate" else hashed(
            "2001:0db8:85a3:08d3:0000:0000:0000:0007")}
