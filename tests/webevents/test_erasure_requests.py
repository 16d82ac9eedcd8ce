"""Erasure request files: every line checked, every S3 call asserted with botocore's Stubber
(list with pagination, read, delete, and their errors), local files written whole."""

from __future__ import annotations

import datetime as dt
import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from webevents.jobs.erasure_requests import (
    LOCATION_ENV,
    RequestFileError,
    RequestFiles,
    check_line,
    new_request,
    parse_file,
)

REQUEST_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
GOOD = {"request_id": REQUEST_ID, "subject_kind": "user_id", "subject_id": "u-52000",
        "requested_at": "2026-11-24 10:00:00.123"}


@pytest.mark.parametrize(("change", "reason"), [
    ({"request_id": "R-1"}, "request_id is not a lowercase uuid"),
    ({"subject_kind": "email"}, "subject_kind is not one of user_id, anonymous_id"),
    ({"subject_id": "o'brien"}, "subject_id is not an id this pipeline stores"),
    ({"subject_id": None}, "subject_id is not an id this pipeline stores"),
    ({"requested_at": "yesterday"}, "requested_at is not 'YYYY-MM-DD HH:MM:SS[.fff]' (UTC)"),
    ({"status": "applied"}, "status is not one of pending, dry_run"),
])
def test_a_bad_line_says_what_is_wrong_without_repeating_the_id(change, reason):
    with pytest.raises(ValueError) as error:
        check_line(json.dumps({**GOOD, **change}))
    assert str(error.value).startswith(reason)
    assert "o'brien" not in str(error.value) and "u-52000" not in str(error.value)


def test_a_line_naming_a_member_twice_is_refused():
    line = json.dumps(GOOD)[:-1] + ', "subject_id": "someone-else"}'
    with pytest.raises(ValueError, match="^member subject_id appears twice$"):
        check_line(line)


def test_a_good_line_is_read_as_the_engines_cast_it():
    line = check_line(json.dumps(GOOD))
    assert (line.request_id, line.subject_kind, line.subject_id, line.status) == (
        REQUEST_ID, "user_id", "u-52000", "pending")
    assert line.requested_at == dt.datetime(2026, 11, 24, 10, 0, 0, 123000)


def test_a_file_with_one_bad_line_files_none_of_its_lines():
    data = (json.dumps(GOOD) + "\n\n[1, 2]\n").encode()
    assert parse_file("f.json", data) == ([], ["f.json:3: not a JSON object"])
    assert parse_file("empty.json", b"\n") == ([], ["empty.json: holds no request"])


def test_a_copied_request_file_is_reported_not_filed_twice(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(GOOD) + "\n")
    (tmp_path / "b.json").write_text(json.dumps(GOOD) + "\n")
    found = RequestFiles(tmp_path.as_posix()).read_all()
    assert list(found.requests) == [(tmp_path / "a.json").as_posix()]
    assert found.problems == [f"{(tmp_path / 'b.json').as_posix()}: request_id {REQUEST_ID} "
                              "is filed twice (a copy of another request file?)"]


def test_a_new_request_keeps_milliseconds_and_a_random_id():
    request = new_request("anonymous_id", "anon-1", dt.datetime(2026, 11, 24, 10, 0, 0, 123456))
    assert request.requested_at == dt.datetime(2026, 11, 24, 10, 0, 0, 123000)
    assert check_line(request.as_json()) == request


def test_local_files_are_named_by_request_id_and_never_seen_half_written(tmp_path):
    files = RequestFiles(tmp_path.as_posix())
    request = new_request("user_id", "u-1", dt.datetime(2026, 11, 24, 10))
    name = files.write(request)
    assert name == (tmp_path / f"{request.request_id}.json").as_posix()
    (tmp_path / ".other.json.partial").write_text("{")  # a write in progress: skipped
    found = files.read_all()
    assert found.problems == [] and found.requests == {name: [request]}
    assert (tmp_path / f"{request.request_id}.json").stat().st_mode & 0o777 == 0o600
    files.delete([name])
    assert files.names() == []


def test_the_location_comes_from_the_environment_or_the_lake(tmp_path, monkeypatch):
    monkeypatch.delenv(LOCATION_ENV, raising=False)
    assert RequestFiles.for_engine("local", tmp_path).location == (
        (tmp_path / "erasure-requests").as_posix() + "/")
    with pytest.raises(RequestFileError, match=LOCATION_ENV):
        RequestFiles.for_engine("athena", None)
    monkeypatch.setenv(LOCATION_ENV, "s3://requests-bucket/requests/")
    assert RequestFiles.for_engine("athena", None).on_s3


@pytest.fixture
def s3():
    client = boto3.client("s3", region_name="eu-west-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def body(text: str) -> StreamingBody:
    return StreamingBody(io.BytesIO(text.encode()), len(text.encode()))


def test_s3_files_are_listed_page_by_page_read_and_deleted(s3):
    client, stubber = s3
    stubber.add_response(
        "list_objects_v2",
        {"IsTruncated": True, "NextContinuationToken": "t-2",
         "Contents": [{"Key": "requests/a.json"}, {"Key": "requests/_tmp/x.json"}]},
        {"Bucket": "requests-bucket", "Prefix": "requests/"})
    stubber.add_response(
        "list_objects_v2", {"IsTruncated": False, "Contents": [{"Key": "requests/b.json"}]},
        {"Bucket": "requests-bucket", "Prefix": "requests/", "ContinuationToken": "t-2"})
    stubber.add_response("get_object", {"Body": body(json.dumps(GOOD) + "\n")},
                         {"Bucket": "requests-bucket", "Key": "requests/a.json"})
    stubber.add_response("get_object", {"Body": body("not json\n")},
                         {"Bucket": "requests-bucket", "Key": "requests/b.json"})
    stubber.add_response(
        "delete_objects", {"Deleted": [{"Key": "requests/a.json"}]},
        {"Bucket": "requests-bucket",
         "Delete": {"Objects": [{"Key": "requests/a.json"}], "Quiet": True}})
    files = RequestFiles("s3://requests-bucket/requests", client)
    found = files.read_all()
    assert list(found.requests) == ["s3://requests-bucket/requests/a.json"]
    assert found.problems == ["s3://requests-bucket/requests/b.json:1: not a JSON object"]
    files.delete(list(found.requests))


def test_s3_errors_are_one_line_and_say_what_was_being_done(s3):
    client, stubber = s3
    stubber.add_client_error("put_object", "AccessDenied", "no s3:PutObject",
                             expected_params={"Bucket": "requests-bucket",
                                              "Key": f"requests/{REQUEST_ID}.json",
                                              "Body": (json.dumps(GOOD | {"status": "pending"},
                                                                  sort_keys=True)
                                                       + "\n").encode()})
    stubber.add_response(
        "delete_objects",
        {"Errors": [{"Key": "requests/a.json", "Code": "AccessDenied", "Message": "denied"}]},
        {"Bucket": "requests-bucket",
         "Delete": {"Objects": [{"Key": "requests/a.json"}], "Quiet": True}})
    files = RequestFiles("s3://requests-bucket/requests/", client)
    with pytest.raises(RequestFileError) as error:
        files.write(check_line(json.dumps(GOOD)))
    assert str(error.value) == (f"writing s3://requests-bucket/requests/{REQUEST_ID}.json: "
                                "AccessDenied: no s3:PutObject")
    with pytest.raises(RequestFileError, match="could not delete s3://requests-bucket/"
                                               "requests/a.json: AccessDenied denied"):
        files.delete(["s3://requests-bucket/requests/a.json"])
