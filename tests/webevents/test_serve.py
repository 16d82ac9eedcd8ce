"""`webevents serve` answers the shared POST /events contract over real HTTP and lands events."""

import json
import threading
import urllib.error
import urllib.request

import pytest

from tests.http_ingest_cases import REQUEST_CASES, case_id, expected_records, request_body
from webevents.engines.local import connect
from webevents.local.serve import make_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    lake = tmp_path_factory.mktemp("serve-lake")
    server = make_server(lake, port=0, allow_origin="https://tours.example.com")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _post(server, content_type, body: bytes):
    host, port = server.server_address[:2]
    request = urllib.request.Request(f"http://{host}:{port}/events", data=body, method="POST")
    if content_type is not None:
        request.add_header("Content-Type", content_type)
    else:
        request.remove_header("Content-type")  # urllib adds a form type by default
        request.add_unredirected_header("Content-Type", "")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def _raw_event_ids(server) -> list[str]:
    con = connect(server.collector.lake)
    try:
        return [row[0] for row in con.execute("select event_id from raw.web_events").fetchall()]
    finally:
        con.close()


@pytest.mark.parametrize("case", REQUEST_CASES, ids=case_id)
def test_serve_answers_each_contract_case_with_its_status_and_cors(server, case):
    status, headers, body = _post(server, case["content_type"], request_body(case))
    assert status == case["status"], body
    assert headers["Access-Control-Allow-Origin"] == "https://tours.example.com"
    if status == 200:
        events = expected_records(case)
        assert body == {"accepted": len(events)}
        with_ids = [event["messageId"] for event in events if "messageId" in event]
        landed = _raw_event_ids(server)
        assert set(with_ids) <= set(landed)


def test_the_preflight_allows_posts_from_the_configured_origin(server):
    host, port = server.server_address[:2]
    request = urllib.request.Request(f"http://{host}:{port}/events", method="OPTIONS")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == "https://tours.example.com"
        assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_a_failing_local_put_is_a_retryable_503_and_lands_nothing(tmp_path):
    lake_file = tmp_path / "not-a-folder"
    lake_file.write_text("a file where the lake folder should be")
    server = make_server(tmp_path, port=0)
    server.collector.lake = lake_file  # the stand-in cannot write here
    try:
        answer = server.collector.post("application/json", b'{"type": "page"}')
    finally:
        server.server_close()
    assert answer.status == 503
    assert answer.body["retry"] == "all"


def test_serve_says_in_one_line_when_it_cannot_listen_or_use_the_lake(tmp_path, capsys):
    from webevents.cli import main

    busy = make_server(tmp_path / "lake", port=0)
    try:
        port = busy.server_address[1]
        assert main(["serve", "--lake", str(tmp_path / "lake"), "--port", str(port)]) == 2
    finally:
        busy.server_close()
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"webevents serve: cannot listen on 127.0.0.1:{port}")
    assert len(error.splitlines()) == 1
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    assert main(["serve", "--lake", str(a_file), "--port", "0"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("webevents serve: cannot use the lake folder")
    assert len(error.splitlines()) == 1
