"""Erasure request files: how a person's id reaches the tables without entering a statement.

A request is one JSON object per line, for example

    {"request_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "subject_kind": "user_id",
     "subject_id": "user-123", "requested_at": "2026-11-24 10:00:00.000"}

in a file under the request location: `$ERASURE_REQUESTS_S3_LOCATION` on AWS (the stack's
ErasureRequestsBucket, `requests/` prefix), else `<lake>/erasure-requests/`. `webevents
forget` writes one file per request (named by its random request_id, so a key never holds
an id); anyone may drop a file there by hand. Each forget run reads every file, checks every
line, files the valid requests into raw.erasure_requests with an INSERT ... SELECT from the
external table over the location (sql/privacy/erasure_requests_from_files_insert.sql: the
statement names request ids, never a person's id) and then deletes the files it filed. A
file with a bad line stays where it is and is reported; it files nothing until fixed.

Why files: Athena keeps every statement's text in its query history for 45 days and
CloudTrail for 90, and neither can be purged (docs/decisions.md D-PRIV-6).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from webevents.aws.errors import aws_errors

LOCATION_ENV = "ERASURE_REQUESTS_S3_LOCATION"
LOCAL_FOLDER = "erasure-requests"
SUBJECT_KINDS = ("user_id", "anonymous_id")
# A dry run files its request only to resolve the ids in the tables (forget.dry_run).
STATUSES = ("pending", "dry_run")
# Ids as producers send them (uuids, "user-123", e-mail-like keys); the same rule the SQL
# and the request table's readers apply.
IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+\-]{0,199}")
REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# requested_at as the request files carry it (UTC, at most milliseconds: what a person writes).
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,3})?")


class RequestFileError(RuntimeError):
    """The request location cannot be read or written; the message says which and why."""


@dataclass(frozen=True)
class RequestLine:
    request_id: str
    subject_kind: str
    subject_id: str
    requested_at: dt.datetime
    status: str = "pending"

    def as_json(self) -> str:
        return json.dumps({
            "request_id": self.request_id, "subject_kind": self.subject_kind,
            "subject_id": self.subject_id, "requested_at": timestamp_text(self.requested_at),
            "status": self.status}, sort_keys=True)


@dataclass
class ReadFiles:
    """What one read of the location found: valid requests per file, and files with a bad line."""

    requests: dict[str, list[RequestLine]]
    problems: list[str]

    def request_ids(self) -> list[str]:
        return sorted({line.request_id for lines in self.requests.values() for line in lines})


def timestamp_text(value: dt.datetime) -> str:
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")


def new_request(kind: str, subject_id: str, now: dt.datetime, status: str = "pending"
                ) -> RequestLine:
    # milliseconds: the request file's format (TIMESTAMP above)
    at = now.replace(tzinfo=None, microsecond=now.microsecond // 1000 * 1000)
    return RequestLine(str(uuid.uuid4()), kind, subject_id, at, status)


def check_line(text: str) -> RequestLine:
    """One line of a request file, checked; ValueError says what is wrong (never the id)."""
    try:
        data = json.loads(text, object_pairs_hook=_no_repeated_keys)
    except _RepeatedKey as error:
        # Python keeps the last value and the SQL's json_extract_scalar might not: the line
        # filed must be the line checked
        raise ValueError(f"member {error} appears twice") from None
    except ValueError:
        raise ValueError("not a JSON object") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    request_id = data.get("request_id")
    if not isinstance(request_id, str) or not REQUEST_ID.fullmatch(request_id):
        raise ValueError("request_id is not a lowercase uuid")
    kind = data.get("subject_kind")
    if kind not in SUBJECT_KINDS:
        raise ValueError(f"subject_kind is not one of {', '.join(SUBJECT_KINDS)}")
    subject_id = data.get("subject_id")
    if not isinstance(subject_id, str) or not IDENTIFIER.fullmatch(subject_id):
        raise ValueError("subject_id is not an id this pipeline stores (letters, digits and "
                         ". _ : @ + -, at most 200 characters)")
    requested_at = data.get("requested_at")
    if not isinstance(requested_at, str) or not TIMESTAMP.fullmatch(requested_at):
        raise ValueError("requested_at is not 'YYYY-MM-DD HH:MM:SS[.fff]' (UTC)")
    status = data.get("status", "pending")
    if status not in STATUSES:
        raise ValueError(f"status is not one of {', '.join(STATUSES)}")
    return RequestLine(request_id, kind, subject_id, dt.datetime.fromisoformat(requested_at),
                       status)


class _RepeatedKey(ValueError):
    pass


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise _RepeatedKey(key)
    return dict(pairs)


def parse_file(name: str, data: bytes) -> tuple[list[RequestLine], list[str]]:
    """A file's requests, or (if any line is bad) none and one problem per bad line."""
    lines, problems = [], []
    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            lines.append(check_line(raw))
        except ValueError as error:
            problems.append(f"{name}:{number}: {error}")
    if not lines and not problems:
        problems.append(f"{name}: holds no request")
    return ([] if problems else lines), problems


class RequestFiles:
    """The request location: a local folder (the local lake, the Trino tier) or an S3 prefix."""

    def __init__(self, location: str, s3: Any = None):
        self.location = location if location.endswith("/") else location + "/"
        self._s3 = s3

    @classmethod
    def for_engine(cls, engine: str, lake: Path | None, s3: Any = None) -> RequestFiles:
        if os.environ.get(LOCATION_ENV):
            return cls(os.environ[LOCATION_ENV], s3)
        if lake is not None:
            return cls((Path(lake).resolve() / LOCAL_FOLDER).as_posix())
        if engine == "trino":  # the fidelity tier's server reads the same disk
            return cls((Path(tempfile.gettempdir()) / "webevents-erasure-requests").as_posix())
        raise RequestFileError(f"set {LOCATION_ENV} (the stack's ErasureRequestsLocation "
                               "output) to file erasure requests")

    @property
    def on_s3(self) -> bool:
        return self.location.startswith("s3://")

    def s3(self):
        if self._s3 is None:
            import boto3  # ~150 ms; only requests on S3 need it

            self._s3 = boto3.client("s3")
        return self._s3

    def _bucket_prefix(self) -> tuple[str, str]:
        bucket, _, prefix = self.location[len("s3://"):].partition("/")
        return bucket, prefix

    def write(self, request: RequestLine) -> str:
        """Write one request's file (named by its request id); its address."""
        name = f"{request.request_id}.json"
        body = (request.as_json() + "\n").encode()
        if self.on_s3:
            bucket, prefix = self._bucket_prefix()
            with aws_errors(f"writing s3://{bucket}/{prefix}{name}", RequestFileError):
                self.s3().put_object(Bucket=bucket, Key=prefix + name, Body=body)
            return f"s3://{bucket}/{prefix}{name}"
        folder = Path(self.location)
        folder.mkdir(parents=True, exist_ok=True)
        # Written beside under a dot name, which the external table skips, then renamed: a
        # reader never sees half a line.
        partial = folder / f".{name}.partial"
        partial.write_bytes(body)
        partial.chmod(0o600)
        partial.replace(folder / name)
        return (folder / name).as_posix()

    def names(self) -> list[str]:
        """Every request file (names starting with . or _ are skipped, as the table does)."""
        if self.on_s3:
            bucket, prefix = self._bucket_prefix()
            with aws_errors(f"listing s3://{bucket}/{prefix}", RequestFileError):
                pages = self.s3().get_paginator("list_objects_v2").paginate(
                    Bucket=bucket, Prefix=prefix)
                keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
            return sorted(f"s3://{bucket}/{key}" for key in keys
                          if not key.endswith("/") and not _hidden(key[len(prefix):]))
        folder = Path(self.location)
        if not folder.is_dir():
            return []
        return sorted(path.as_posix() for path in folder.rglob("*")
                      if path.is_file() and not _hidden(path.relative_to(folder).as_posix()))

    def read(self, name: str) -> bytes:
        if name.startswith("s3://"):
            bucket, _, key = name[len("s3://"):].partition("/")
            with aws_errors(f"reading {name}", RequestFileError):
                return self.s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        return Path(name).read_bytes()

    def read_all(self) -> ReadFiles:
        """Every file's requests; a file with a bad line, or a request id another file
        already holds (a copied file), is reported and left out."""
        found = ReadFiles({}, [])
        seen: set[str] = set()
        for name in self.names():
            lines, problems = parse_file(name, self.read(name))
            ids = [line.request_id for line in lines]
            twice = sorted({i for i in ids if ids.count(i) > 1 or i in seen})
            if twice:
                problems.append(f"{name}: request_id {', '.join(twice)} is filed twice "
                                "(a copy of another request file?)")
            found.problems += problems
            if lines and not twice:
                found.requests[name] = lines
                seen |= set(ids)
        return found

    def delete(self, names: list[str]) -> None:
        """Delete filed request files (an unversioned bucket: gone at once)."""
        on_s3 = [name for name in names if name.startswith("s3://")]
        for name in names:
            if not name.startswith("s3://"):
                Path(name).unlink(missing_ok=True)
        if on_s3:
            bucket, _ = self._bucket_prefix()
            for start in range(0, len(on_s3), 1000):  # DeleteObjects takes up to 1,000 keys
                keys = [name[len(f"s3://{bucket}/"):] for name in on_s3[start:start + 1000]]
                doing = f"deleting {len(keys)} request file(s) in s3://{bucket}/"
                with aws_errors(doing, RequestFileError):
                    answer = self.s3().delete_objects(
                        Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys],
                                               "Quiet": True})
                if answer.get("Errors"):
                    first = answer["Errors"][0]
                    raise RequestFileError(
                        f"could not delete s3://{bucket}/{first.get('Key')}: "
                        f"{first.get('Code')} {first.get('Message', '')}".strip())


def _hidden(relative: str) -> bool:
    return any(part[:1] in "._" for part in PurePosixPath(relative).parts)
