"""`webevents replay`: Firehose's error output and the backfill's rejects back in, idempotently.

Sources (docs/operations.md, "Replaying Firehose's error output"):

- a local file or folder, or `s3://bucket/prefix/`, of Firehose error output: GZIP or plain
  JSON lines, one error record per line. Firehose documents two record shapes:
  processing failures ("Handle failure in data transformation",
  https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html:
  attemptsMade, arrivalTimestamp, errorCode, errorMessage, attemptEndingTimestamp, rawData,
  lambdaArn), whose rawData is the original event, and delivery failures (the same fields
  without lambdaArn; `ErrorCode`/`lastErrorCode` spellings as in "Handling errors for data
  format conversion",
  https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion-error-handling.html),
  whose rawData is what the Lambda produced: here a landing row (errors/iceberg-failed/).
- `backfill-rejects`: raw.web_events_backfill_rejects, re-normalised by sql/backfill.

Targets: `local` (the lake: original events through the real handler via the Firehose
stand-in, landing rows inserted into raw as they are), `firehose` (PutRecordBatch) or
`kinesis` (PutRecords) of a deployed stack. Before anything is sent to AWS the original
events run through the same handler locally, so a record that would fail again is not sent
(it stays where it is, and Firehose does not write it to the error output a second time).

Idempotent: a replayed event keeps its bytes, so the handler gives it the same event_id and
the enrichment MERGE keeps one row per event_id; and every record's outcome is kept per
source object (locally in raw.web_events_replay_records, on S3 in a manifest object under
`_replay/` beside the error objects), so a record that landed is not sent again.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import gzip
import hashlib
import json
import os
import sys
import tempfile
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import duckdb

from webevents import SQL_DIR, lambda_module
from webevents import clock as webevents_clock
from webevents.aws.errors import aws_errors as shared_aws_errors
from webevents.engines import EngineError
from webevents.engines.local import LocalEngine, connect
from webevents.jobs.backfill import date_ranges
from webevents.jobs.sql import (
    SqlRunError,
    environment_params,
    render,
    run_files,
    run_order,
)
from webevents.local.ingest import row_sink, transform_lines
from webevents.local.lake import DATABASE_FILE, locked, resolve_lake

BACKFILL_SQL = SQL_DIR / "backfill"
REJECTS_SOURCE = "backfill-rejects"
RECORDS_TABLE = "raw.web_events_replay_records"
RUNS_TABLE = "raw.web_events_replay_runs"
LANDING_TABLE = "raw.web_events"
MANIFEST_FOLDER = "_replay"  # S3 manifests; Firehose never writes keys starting with _

# Outcomes of one record. ERASED: it landed, then an erasure request removed its row
# (webevents/jobs/forget.py); settled like LANDED, so it is never replayed back.
LANDED, FAILED_AGAIN, DROPPED, ERASED = "landed", "failed_again", "dropped", "erased"

# The two kinds of error record, by what their rawData holds.
ORIGINAL_EVENT = "processing-failed"
LANDING_ROW = "delivery-failed"

# PutRecordBatch and PutRecords: at most 500 records per call; the whole request at most
# 4 MiB for Firehose (Kinesis allows 5 MiB; the same 4 MiB bound keeps one rule).
# https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html
# https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024
# Throttling answers, per call or per entry: back off, then retry only what failed.
# https://docs.aws.amazon.com/general/latest/gr/api-retries.html
THROTTLING_CODES = frozenset({
    "ServiceUnavailableException",  # Firehose: the stream's throughput limit
    "ProvisionedThroughputExceededException",  # Kinesis: shard or account limit
    "ThrottlingException",
    "LimitExceededException",
    "KMSThrottlingException",
    "InternalFailure",
})


# Every errorCode Firehose documents for a record it could not transform or deliver, with
# what rawData then holds. Transformation: "Handle failure in data transformation" (above)
# writes Lambda.ProcessingFailedStatus for a ProcessingFailed answer; a failed invocation
# fails the whole batch with the invocation error, listed under "Lambda invocation errors" in
# https://docs.aws.amazon.com/firehose/latest/dev/monitoring-with-cloudwatch-logs.html
# Delivery: the same page's destination errors (S3.* and InternalError; the Iceberg
# destination publishes no list of its own codes, so any other code is accepted too).
PROCESSING_ERROR_CODES = (
    "Lambda.ProcessingFailedStatus",
    "Lambda.AssumeRoleAccessDenied",
    "Lambda.InvokeAccessDenied",
    "Lambda.JsonProcessingException",
    "Lambda.InvokeLimitExceeded",
    "Lambda.DuplicatedRecordId",
    "Lambda.MissingRecordId",
    "Lambda.ResourceNotFound",
    "Lambda.InvalidSubnetIDException",
    "Lambda.InvalidSecurityGroupIDException",
    "Lambda.SubnetIPAddressLimitReachedException",
    "Lambda.ENILimitReachedException",
)
DELIVERY_ERROR_CODES = (
    "S3.KMS.NotFoundException",
    "S3.KMS.RequestLimitExceeded",
    "S3.AccessDenied",
    "S3.AccountProblem",
    "S3.AllAccessDisabled",
    "S3.InvalidPayer",
    "S3.NotSignedUp",
    "S3.NoSuchBucket",
    "S3.MethodNotAllowed",
    "InternalError",
)


class ReplayError(RuntimeError):
    """Replay cannot go on; the message is one line and names the object or record."""


class StreamSendError(ReplayError):
    """A put call failed for good; `results` holds what earlier calls answered."""

    def __init__(self, message: str, results: list[str | None]) -> None:
        super().__init__(message)
        self.results = results


NOT_SENT = "not_sent"


# ---- error records ------------------------------------------------------------------------
@dataclass(frozen=True)
class ErrorRecord:
    """One line of Firehose error output."""

    source_object: str
    object_key: str  # sha256 of the object's bytes: the same object under any name
    record_key: str  # its line number in the object
    kind: str  # ORIGINAL_EVENT or LANDING_ROW
    error_code: str
    arrival_ms: int | None
    data: bytes
    reason: str | None = None  # the local stand-in adds the handler's reason


def _kind_from_path(name: str) -> str | None:
    parts = PurePosixPath(name.split("://", 1)[-1]).parts
    if "processing-failed" in parts:
        return ORIGINAL_EVENT
    if any(part in ("iceberg-failed", "destination-failed") for part in parts):
        return LANDING_ROW
    return None


def parse_error_object(name: str, data: bytes) -> list[ErrorRecord]:
    """The records of one error object (GZIP or plain JSON lines); ReplayError names the line."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise ReplayError(f"{name}: unreadable GZIP object ({error})") from None
    object_key = hashlib.sha256(data).hexdigest()
    path_kind = _kind_from_path(name)
    records = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name} line {number}"
        try:
            entry = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            raise ReplayError(f"{where}: not a Firehose error record (not JSON)") from None
        if not isinstance(entry, dict) or not isinstance(entry.get("rawData"), str):
            raise ReplayError(f"{where}: not a Firehose error record (no rawData string)")
        code = entry.get("errorCode", entry.get("ErrorCode", entry.get("lastErrorCode")))
        if not isinstance(code, str) or not code:
            raise ReplayError(f"{where}: not a Firehose error record (no errorCode)")
        try:
            raw = base64.b64decode(entry["rawData"], validate=True)
        except binascii.Error:
            raise ReplayError(f"{where}: rawData is not base64") from None
        arrival = entry.get("arrivalTimestamp")
        if arrival is not None and not isinstance(arrival, int):
            try:
                arrival = int(arrival)
            except (TypeError, ValueError):
                raise ReplayError(f"{where}: arrivalTimestamp is not epoch milliseconds") from None
        kind = path_kind or (
            ORIGINAL_EVENT if "lambdaArn" in entry or code.startswith("Lambda.") else LANDING_ROW
        )
        reason = entry.get("reason")
        records.append(ErrorRecord(
            name, object_key, str(number), kind, code, arrival, raw,
            reason if isinstance(reason, str) else None,
        ))
    return records


# ---- sources ------------------------------------------------------------------------------
@dataclass
class SourceObject:
    name: str
    read: Callable[[], bytes]
    s3: tuple[str, str] | None = None  # (bucket, key) of an S3 object


def local_objects(source: str) -> list[SourceObject]:
    """A file, or every file under a folder (names starting with . or _ skipped), sorted."""
    path = Path(source)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(
            p for p in path.rglob("*")
            if p.is_file() and not any(part[:1] in "._" for part in p.relative_to(path).parts)
        )
    else:
        raise ReplayError(f"{source}: no such file or folder")

    def reader(file: Path) -> Callable[[], bytes]:
        def read() -> bytes:
            try:
                return file.read_bytes()
            except OSError as error:
                raise ReplayError(f"{file}: unreadable ({error.strerror or error})") from None
        return read

    return [SourceObject(str(file), reader(file)) for file in files]


def split_s3_uri(uri: str) -> tuple[str, str]:
    rest = uri[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ReplayError(f"{uri}: no bucket in the S3 address")
    return bucket, prefix


def s3_objects(uri: str, s3) -> list[SourceObject]:
    """Every object under s3://bucket/prefix (manifests under _replay/ skipped), in key order."""
    bucket, prefix = split_s3_uri(uri)
    keys = []
    with aws_errors(f"listing {uri}"):
        token = None
        while True:
            params = {"Bucket": bucket, "Prefix": prefix}
            if token:
                params["ContinuationToken"] = token
            page = s3.list_objects_v2(**params)
            keys += [item["Key"] for item in page.get("Contents", [])]
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                break
    keys = [
        key for key in keys
        if not key.endswith("/") and not any(
            part[:1] in "._" for part in PurePosixPath(key[len(prefix):]).parts
        )
    ]
    if not keys:
        raise ReplayError(f"{uri}: no error objects under this prefix (wrong or missing prefix?)")

    def reader(key: str) -> Callable[[], bytes]:
        def read() -> bytes:
            with aws_errors(f"reading s3://{bucket}/{key}"):
                return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return read

    return [
        SourceObject(f"s3://{bucket}/{key}", reader(key), (bucket, key)) for key in sorted(keys)
    ]


def aws_errors(doing: str):
    """botocore's errors as one-line ReplayErrors that say what was being done."""
    return shared_aws_errors(doing, ReplayError)


# ---- filters ------------------------------------------------------------------------------
@dataclass
class Filters:
    since: dt.date | None = None
    until: dt.date | None = None
    reasons: frozenset[str] = frozenset()

    def keep(self, record: ErrorRecord) -> bool:
        if self.since or self.until:
            if record.arrival_ms is None:
                return False
            day = dt.datetime.fromtimestamp(record.arrival_ms / 1000, dt.UTC).date()
            if (self.since and day < self.since) or (self.until and day > self.until):
                return False
        return not self.reasons or bool({record.error_code, record.reason} & self.reasons)


# ---- outcomes and bookkeeping -------------------------------------------------------------
@dataclass
class Outcome:
    record_key: str
    error_code: str
    outcome: str  # LANDED / FAILED_AGAIN / DROPPED
    reason: str | None = None
    event_id: str | None = None


@dataclass
class ObjectResult:
    """What became of one source object's records in this run: in = landed + failed + dropped."""

    source_object: str
    object_key: str
    kind: str
    outcomes: list[Outcome] = field(default_factory=list)
    already_replayed: int = 0
    filtered_out: int = 0
    not_accepted: int = 0  # failed again because the stream refused them: run again

    def count(self, outcome: str) -> int:
        return sum(1 for item in self.outcomes if item.outcome == outcome)

    def as_dict(self) -> dict[str, Any]:
        reasons = Counter(o.reason for o in self.outcomes if o.outcome == FAILED_AGAIN)
        return {
            "source_object": self.source_object,
            "kind": self.kind,
            "records_in": len(self.outcomes),
            "landed": self.count(LANDED),
            "failed_again": self.count(FAILED_AGAIN),
            "dropped": self.count(DROPPED),
            "already_replayed": self.already_replayed,
            "filtered_out": self.filtered_out,
            "not_accepted": self.not_accepted,
            "failed_again_by_reason": dict(sorted(reasons.items())),
        }


def ensure_bookkeeping(con) -> None:
    """The lake's replay tables (local only: on AWS the manifests play this part)."""
    con.execute(
        f"create table if not exists {RECORDS_TABLE} ("
        "source_object varchar, object_key varchar, record_key varchar, source_kind varchar, "
        "error_code varchar, outcome varchar, reason varchar, event_id varchar, "
        "target varchar, replay_id varchar, replayed_at timestamp)"
    )
    con.execute(
        f"create table if not exists {RUNS_TABLE} ("
        "replay_id varchar, source_object varchar, object_key varchar, source_kind varchar, "
        "target varchar, records_in bigint, landed bigint, failed_again bigint, "
        "dropped bigint, already_replayed bigint, filtered_out bigint, replayed_at timestamp)"
    )


def _table_exists(con, qualified: str) -> bool:
    schema, name = qualified.split(".")
    return con.execute(
        "select count(*) from information_schema.tables where table_schema = ? "
        "and table_name = ?", [schema, name]
    ).fetchone()[0] > 0


class LakeBookkeeping:
    """Per-record outcomes in the lake's database, written in the caller's transaction."""

    def __init__(self, con, writable: bool = True) -> None:
        self.con = con
        if writable:
            ensure_bookkeeping(con)
        self.present = _table_exists(con, RECORDS_TABLE)

    def settled(self, object_key: str) -> dict[str, str]:
        """record_key -> outcome of the records that landed or were dropped before."""
        if not self.present:
            return {}
        rows = self.con.execute(
            f"select record_key, outcome from {RECORDS_TABLE} "
            "where object_key = ? and outcome in (?, ?, ?)", [object_key, LANDED, DROPPED, ERASED]
        ).fetchall()
        return dict(rows)

    def record(self, result: ObjectResult, target: str, replay_id: str, now: dt.datetime) -> None:
        keys = [o.record_key for o in result.outcomes]
        if keys:
            # Column lists unnested side by side: one statement, not one per record.
            self.con.execute(
                f"delete from {RECORDS_TABLE} where object_key = ? and record_key in "
                "(select unnest(?::varchar[]))", [result.object_key, keys]
            )
            self.con.execute(
                f"insert into {RECORDS_TABLE} select ?, ?, unnest(?::varchar[]), ?, "
                "unnest(?::varchar[]), unnest(?::varchar[]), unnest(?::varchar[]), "
                "unnest(?::varchar[]), ?, ?, ?",
                [result.source_object, result.object_key, keys, result.kind,
                 [o.error_code for o in result.outcomes], [o.outcome for o in result.outcomes],
                 [o.reason for o in result.outcomes], [o.event_id for o in result.outcomes],
                 target, replay_id, now],
            )
        figures = result.as_dict()
        self.con.execute(
            f"insert into {RUNS_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [replay_id, result.source_object, result.object_key, result.kind, target,
             figures["records_in"], figures["landed"], figures["failed_again"],
             figures["dropped"], result.already_replayed, result.filtered_out, now],
        )


class S3Manifest:
    """Per-record outcomes of an S3 error object, in `<folder>/_replay/<name>.json` beside it."""

    def __init__(self, s3) -> None:
        self.s3 = s3
        self.cache: dict[str, dict] = {}

    @staticmethod
    def key_for(key: str) -> str:
        path = PurePosixPath(key)
        return str(path.parent / MANIFEST_FOLDER / f"{path.name}.json").lstrip("./")

    def _load(self, bucket: str, key: str) -> dict:
        manifest_key = self.key_for(key)
        if manifest_key not in self.cache:
            from botocore.exceptions import ClientError  # AWS paths only, as in aws_errors

            try:
                with aws_errors(f"reading s3://{bucket}/{manifest_key}"):
                    try:
                        body = self.s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read()
                        self.cache[manifest_key] = json.loads(body)
                    except ClientError as error:
                        if error.response.get("Error", {}).get("Code") not in (
                            "NoSuchKey", "404"
                        ):
                            raise
                        self.cache[manifest_key] = {"records": {}, "runs": []}
            except ValueError:
                raise ReplayError(f"s3://{bucket}/{manifest_key}: not a replay manifest") from None
        return self.cache[manifest_key]

    def settled(self, bucket: str, key: str, object_key: str) -> dict[str, str]:
        manifest = self._load(bucket, key)
        if manifest.get("object_key") not in (None, object_key):
            return {}  # the object was overwritten: its records are new
        return {
            record_key: entry["outcome"]
            for record_key, entry in manifest.get("records", {}).items()
            if entry.get("outcome") in (LANDED, DROPPED)
        }

    def record(self, bucket: str, key: str, result: ObjectResult, target: str,
               replay_id: str, now: dt.datetime) -> None:
        manifest = self._load(bucket, key)
        manifest["object"] = f"s3://{bucket}/{key}"
        manifest["object_key"] = result.object_key
        for o in result.outcomes:
            manifest.setdefault("records", {})[o.record_key] = {
                "outcome": o.outcome, "reason": o.reason, "event_id": o.event_id,
                "error_code": o.error_code,
            }
        manifest.setdefault("runs", []).append(
            {"replay_id": replay_id, "target": target, "replayed_at": now.isoformat(),
             **{k: v for k, v in result.as_dict().items() if k != "source_object"}}
        )
        body = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
        with aws_errors(f"writing s3://{bucket}/{self.key_for(key)}"):
            self.s3.put_object(Bucket=bucket, Key=self.key_for(key), Body=body,
                               ContentType="application/json")


@dataclass
class ReplayFigures:
    """Replays of one source object as the reconciliation shows them: their own input."""

    source_object: str
    source_kind: str
    records_in: int
    landed: int
    failed_again: int
    dropped: int
    failed_again_by_reason: dict[str, int] = field(default_factory=dict)
    erased: int = 0  # landed, then removed by an erasure request

    @property
    def adds_up(self) -> bool:
        return self.records_in == self.landed + self.failed_again + self.dropped + self.erased


def replay_figures(con) -> list[ReplayFigures]:
    """Per source object replayed into this lake, each record once in its latest outcome.

    For the run's reconciliation (webevents/local/run.py): computed from the rows of
    raw.web_events_replay_records, so a record replayed twice counts once.
    """
    if not _table_exists(con, RECORDS_TABLE):
        return []
    rows = con.execute(
        f"select source_object, any_value(source_kind), count(*), "
        f"count(*) filter (where outcome = '{LANDED}'), "
        f"count(*) filter (where outcome = '{FAILED_AGAIN}'), "
        f"count(*) filter (where outcome = '{DROPPED}'), "
        f"count(*) filter (where outcome = '{ERASED}') "
        f"from {RECORDS_TABLE} group by source_object order by source_object"
    ).fetchall()
    reasons: dict[str, dict[str, int]] = {}
    for source, reason, count in con.execute(
        f"select source_object, coalesce(reason, error_code), count(*) from {RECORDS_TABLE} "
        f"where outcome = '{FAILED_AGAIN}' group by all order by all"
    ).fetchall():
        reasons.setdefault(source, {})[reason] = count
    return [
        ReplayFigures(source, kind, int(n), int(landed), int(failed), int(dropped),
                      reasons.get(source, {}), int(erased))
        for source, kind, n, landed, failed, dropped, erased in rows
    ]


# ---- the handler pass and the targets -----------------------------------------------------
@dataclass
class Prepared:
    """A record after the local handler pass: a landing row to write, or its final outcome."""

    record: ErrorRecord
    table: str | None = None
    row: bytes | None = None  # the landing row JSON (Ok)
    event_id: str | None = None
    outcome: str | None = None  # set when it does not land: FAILED_AGAIN / DROPPED
    reason: str | None = None
    not_accepted: bool = False  # the stream refused it (an AWS error code, not the handler)


def prepare(records: Sequence[ErrorRecord]) -> list[Prepared]:
    """Original events through the real handler; landing rows checked as they are."""
    prepared = [Prepared(record) for record in records]
    privacy = _landing_privacy() if any(
        p.record.kind == LANDING_ROW for p in prepared) else None
    originals = [p for p in prepared if p.record.kind == ORIGINAL_EVENT]
    answers = transform_lines(p.record.data for p in originals)
    for item, (result, table, row, reason) in zip(originals, answers, strict=True):
        if result == "Ok":
            item.table, item.row = table, row
            item.event_id = json.loads(row).get("event_id")
        else:
            item.outcome = DROPPED if result == "Dropped" else FAILED_AGAIN
            item.reason = reason
    for item in prepared:
        if item.record.kind != LANDING_ROW:
            continue
        try:
            row = json.loads(item.record.data)
        except (ValueError, UnicodeDecodeError):
            row = None
        if not isinstance(row, dict) or not row.get("event_id") or not _is_date(
                row.get("event_date")):
            # Not a landing row: sending it to the Lambda would fail it as unknown_shape.
            item.outcome, item.reason = FAILED_AGAIN, "not_a_landing_row"
        else:
            item.table, item.event_id = LANDING_TABLE, row["event_id"]
            item.row = _pseudonymised(item.record.data, row, privacy)
    return prepared


def _landing_privacy():
    """The environment's §6b setting (IP_HANDLING, IP_HASH_KEY, PII_QUERY_PARAMETERS), read
    by the Lambda's own code; a clear error for a bad setting or hashing without a key."""
    try:
        return lambda_module("privacy").settings(os.environ)
    except ValueError as error:
        raise ReplayError(str(error)) from None


def _pseudonymised(data: bytes, row: dict, setting) -> bytes:
    """A landing row from the error output as §6b lands it today: it may have been written
    before §6b was deployed or under another IpHandling, and would otherwise land whole.
    The bytes as written when §6b changes nothing."""
    before = dict(row)
    lambda_module("privacy").pseudonymise_landed(row, setting, lambda_module("normalise").text)
    if row == before:
        return data
    return json.dumps(row, separators=(",", ":"), ensure_ascii=False).encode()


def _is_date(value: Any) -> bool:
    try:
        dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


class StreamSender:
    """PutRecordBatch (Firehose) or PutRecords (Kinesis) in batches of <= 500 records and
    <= 4 MiB, retrying only the failed entries with exponential backoff; throttling of the
    whole call is retried the same way."""

    def __init__(self, client, service: str, stream: str,
                 sleep: Callable[[float], None] = time.sleep, max_attempts: int = 8,
                 base_delay: float = 0.2, max_delay: float = 10.0) -> None:
        self.client = client
        self.service = service
        self.stream = stream
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.calls = 0

    def batches(self, items: Sequence[tuple[bytes, str]]) -> Iterator[list[int]]:
        batch: list[int] = []
        size = 0
        for index, (data, key) in enumerate(items):
            item_size = len(data) + (len(key.encode()) if self.service == "kinesis" else 0)
            if batch and (len(batch) == MAX_BATCH_RECORDS or size + item_size > MAX_BATCH_BYTES):
                yield batch
                batch, size = [], 0
            batch.append(index)
            size += item_size
        if batch:
            yield batch

    def _put(self, items: Sequence[tuple[bytes, str]], indexes: list[int]) -> list[str | None]:
        """One call: per index None (accepted) or the entry's error code."""
        self.calls += 1
        if self.service == "firehose":
            answer = self.client.put_record_batch(
                DeliveryStreamName=self.stream,
                Records=[{"Data": items[i][0]} for i in indexes],
            )
            entries = answer.get("RequestResponses", [])
        else:
            answer = self.client.put_records(
                StreamName=self.stream,
                Records=[{"Data": items[i][0], "PartitionKey": items[i][1]} for i in indexes],
            )
            entries = answer.get("Records", [])
        if len(entries) != len(indexes):
            raise ReplayError(f"{self.service} {self.stream}: answer has {len(entries)} entries "
                              f"for {len(indexes)} records")
        return [entry.get("ErrorCode") or None for entry in entries]

    def delay(self, attempt: int) -> float:
        return min(self.max_delay, self.base_delay * 2 ** attempt)

    def send(self, items: Sequence[tuple[bytes, str]]) -> list[str | None]:
        """Per item: None when the stream accepted it, else the last error code."""
        from botocore.exceptions import ClientError  # AWS paths only, as in aws_errors

        # Until a call answers for them, records count as not sent.
        results: list[str | None] = [NOT_SENT] * len(items)
        for batch in self.batches(items):
            pending = batch
            for attempt in range(self.max_attempts):
                try:
                    codes = self._put(items, pending)
                except ClientError as error:
                    code = error.response.get("Error", {}).get("Code", "")
                    if code not in THROTTLING_CODES:
                        try:
                            with aws_errors(f"{self.service} {self.stream}"):
                                raise
                        except ReplayError as stopped:
                            # What was accepted before must be recorded, or a re-run
                            # would send it twice.
                            raise StreamSendError(str(stopped), results) from None
                    codes = [code] * len(pending)
                for index, code in zip(pending, codes, strict=True):
                    results[index] = code
                pending = [i for i, code in zip(pending, codes, strict=True) if code]
                if not pending:
                    break
                if attempt + 1 < self.max_attempts:
                    self.sleep(self.delay(attempt))
        return results


@dataclass
class Target:
    """Where replayed records go."""

    name: str  # local / firehose / kinesis
    con: Any = None  # local: the lake connection
    sender: StreamSender | None = None
    outputs: dict[str, str] = field(default_factory=dict)  # the stack's outputs
    clients: Any = None
    sleep: Callable[[float], None] = time.sleep


# ---- the replay ----------------------------------------------------------------------------
@dataclass
class ReplaySummary:
    replay_id: str
    target: str
    dry_run: bool
    objects: list[ObjectResult] = field(default_factory=list)
    rejects: dict[str, Any] | None = None
    seconds: float = 0.0

    def total(self, name: str) -> int:
        return sum(item.as_dict()[name] for item in self.objects)

    def reasons(self) -> Counter:
        counter: Counter = Counter()
        for item in self.objects:
            counter.update(item.as_dict()["failed_again_by_reason"])
        return counter

    def as_dict(self) -> dict[str, Any]:
        totals = {name: self.total(name) for name in (
            "records_in", "landed", "failed_again", "dropped", "already_replayed",
            "filtered_out", "not_accepted")}
        return {
            "replay_id": self.replay_id,
            "target": self.target,
            "dry_run": self.dry_run,
            "objects": [item.as_dict() for item in self.objects],
            "totals": totals,
            "failed_again_by_reason": dict(sorted(self.reasons().items())),
            "rejects": self.rejects,
            "seconds": round(self.seconds, 3),
        }

    def line(self) -> str:
        verb = "would land" if self.dry_run else "landed"
        text = (
            f"replay{' (dry run)' if self.dry_run else ''}: {len(self.objects)} object(s), "
            f"{self.total('records_in'):,} records = {self.total('landed'):,} {verb} + "
            f"{self.total('failed_again'):,} failed again + {self.total('dropped'):,} dropped "
            f"({self.total('already_replayed'):,} already replayed, "
            f"{self.total('filtered_out'):,} filtered out) -> {self.target}"
        )
        reasons = self.reasons()
        if reasons:
            text += "; failed again by reason: " + ", ".join(
                f"{reason} {count:,}" for reason, count in sorted(reasons.items()))
        return text


def _apply_local(prepared: list[Prepared], target: Target, scratch: Path) -> None:
    sink = row_sink(target.con, scratch)
    for item in prepared:
        if item.outcome is None:
            sink.add(item.table, item.row)
            item.outcome = LANDED
    sink.flush()


def _apply_stream(prepared: list[Prepared], target: Target, replay_id: str) -> None:
    to_send = [p for p in prepared if p.outcome is None]
    rows = [p for p in to_send if p.record.kind == LANDING_ROW]
    if rows:
        # Landing rows never go through Firehose again (the Lambda would fail them as
        # unknown_shape): an Athena INSERT from a scratch external table writes them.
        insert_rows_with_athena(rows, target, replay_id)
    events = [p for p in to_send if p.record.kind == ORIGINAL_EVENT]
    # The original bytes go back: the deployed Lambda makes the same row of them.
    items = [(p.record.data, (p.event_id or "replay")[:256]) for p in events]
    try:
        codes = target.sender.send(items)
    except StreamSendError as error:
        _mark_sent(events, error.results)
        raise
    _mark_sent(events, codes)


def _mark_sent(events: list[Prepared], codes: list[str | None]) -> None:
    for item, code in zip(events, codes, strict=True):
        item.outcome, item.reason = (FAILED_AGAIN, code) if code else (LANDED, None)
        item.not_accepted = bool(code)


REPLAY_SQL = SQL_DIR / "replay"


def insert_rows_with_athena(rows: list[Prepared], target: Target, replay_id: str) -> None:
    """Landing rows into raw.web_events on Athena: uploaded to a scratch prefix beside the
    query results, read by a scratch external table, inserted per < 100 event dates, then
    the table and the upload are removed."""
    from webevents.engines.athena import AthenaEngine  # loads boto3: AWS paths only

    needed = ("AthenaOutputLocation", "AthenaWorkGroupName", "ArchiveDatabaseName",
              "S3TablesCatalog")
    missing = [name for name in needed if name not in target.outputs]
    if missing:
        raise ReplayError(f"landing rows need the stack outputs {', '.join(missing)}")
    bucket, _ = split_s3_uri(target.outputs["AthenaOutputLocation"])
    suffix = replay_id.replace("-", "_").lower()
    key = f"replay-scratch/{replay_id}/rows.jsonl"
    # p.row: the landing row pseudonymised by prepare(), as the local target inserts it
    lines = [json.dumps(json.loads(p.row), separators=(",", ":")) for p in rows]
    s3 = target.clients.get("s3")
    with aws_errors(f"writing s3://{bucket}/{key}"):
        s3.put_object(Bucket=bucket, Key=key, Body=("\n".join(lines) + "\n").encode())
    engine = AthenaEngine(
        client=target.clients.get("athena"), sleep=target.sleep,
        workgroup=target.outputs["AthenaWorkGroupName"],
        output_location=target.outputs["AthenaOutputLocation"],
        s3_tables_catalog=target.outputs["S3TablesCatalog"],
        schema_names={"archive": target.outputs["ArchiveDatabaseName"]},
    )
    params = {"scratch_table": f"web_events_replay_rows_{suffix}",
              "scratch_location": f"s3://{bucket}/replay-scratch/{replay_id}/"}
    dates = sorted({dt.date.fromisoformat(json.loads(p.record.data)["event_date"])
                    for p in rows})
    try:
        # sql/replay/run_order.yml's `rows`: the scratch table, its insert, its drop
        create, insert, drop = run_order(REPLAY_SQL, "rows")
        run_files([create], engine=engine, params=params, echo=None)
        try:
            for first, last in date_ranges(dates):
                run_files([insert], engine=engine, echo=None, params={
                    **params, "event_date_from": first.isoformat(),
                    "event_date_to": last.isoformat()})
        finally:
            run_files([drop], engine=engine, params=params, echo=None)
    except (SqlRunError, EngineError) as error:
        raise ReplayError(f"Athena insert of {len(rows)} landing row(s): "
                          f"{str(error).splitlines()[0]}") from None
    finally:
        with aws_errors(f"deleting s3://{bucket}/{key}"):
            s3.delete_object(Bucket=bucket, Key=key)
    for item in rows:
        item.outcome = LANDED


def replay_object(
    source: SourceObject,
    filters: Filters,
    target: Target,
    bookkeeping,
    manifests: S3Manifest | None,
    replay_id: str,
    now: dt.datetime,
    dry_run: bool,
    scratch: Path | None,
) -> ObjectResult:
    """One source object: parse, filter, skip what landed before, replay, record."""
    records = parse_error_object(source.name, source.read())
    if not records:
        return ObjectResult(source.name, "", "empty")
    object_key = records[0].object_key
    kinds = {record.kind for record in records}
    result = ObjectResult(source.name, object_key, kinds.pop() if len(kinds) == 1 else "mixed")
    selected = [record for record in records if filters.keep(record)]
    result.filtered_out = len(records) - len(selected)
    # Into the lake, the lake keeps the bookkeeping (committed with the rows); to AWS, an
    # S3 object's manifest sits beside it.
    use_manifest = manifests is not None and source.s3 is not None and target.name != "local"
    if use_manifest:
        settled = manifests.settled(*source.s3, object_key)
    else:
        settled = bookkeeping.settled(object_key) if bookkeeping is not None else {}
    todo = [record for record in selected if record.record_key not in settled]
    result.already_replayed = len(selected) - len(todo)
    prepared = prepare(todo)
    if dry_run:
        for item in prepared:
            item.outcome = item.outcome or LANDED
    elif target.name == "local":
        con = target.con
        con.execute("begin transaction")
        try:
            _apply_local(prepared, target, scratch)
            result.outcomes = _outcomes(prepared)
            bookkeeping.record(result, target.name, replay_id, now)
            con.execute("commit")  # the rows and their bookkeeping commit together
        except BaseException:
            con.execute("rollback")
            raise
        return result
    else:
        try:
            _apply_stream(prepared, target, replay_id)
        except StreamSendError:
            # Record what the stream accepted (landed) and what it never got (failed
            # again, not_sent), then stop: a re-run sends only the rest.
            _record(result, prepared, use_manifest, manifests, source, bookkeeping, target,
                    replay_id, now)
            raise
    _record(result, prepared, use_manifest, manifests, source, bookkeeping, target,
            replay_id, now, dry_run)
    return result


def _record(result, prepared, use_manifest, manifests, source, bookkeeping, target,
            replay_id, now, dry_run: bool = False) -> None:
    result.outcomes = _outcomes([p for p in prepared if p.outcome is not None])
    result.not_accepted = sum(p.not_accepted for p in prepared)
    if not dry_run:
        if use_manifest:
            manifests.record(*source.s3, result, target.name, replay_id, now)
        elif bookkeeping is not None:
            bookkeeping.con.execute("begin transaction")
            bookkeeping.record(result, target.name, replay_id, now)
            bookkeeping.con.execute("commit")


def _outcomes(prepared: list[Prepared]) -> list[Outcome]:
    return [
        Outcome(p.record.record_key, p.record.error_code, p.outcome, p.reason, p.event_id)
        for p in prepared
    ]


@dataclass
class AwsClients:
    """boto3 clients, made on first use (tests pass Stubber-wrapped ones)."""

    s3: Any = None
    athena: Any = None
    firehose: Any = None
    kinesis: Any = None
    cloudformation: Any = None
    factory: Callable[[str], Any] | None = None

    def get(self, service: str):
        client = getattr(self, service)
        if client is None:
            if self.factory is None:
                import boto3  # AWS paths only, as in aws_errors

                with aws_errors(f"creating the {service} client"):
                    client = boto3.session.Session().client(service)
            else:
                client = self.factory(service)
            setattr(self, service, client)
        return client


def stack_outputs(cloudformation, stack: str) -> dict[str, str]:
    """The stack's outputs (template.yaml `Outputs`) by OutputKey."""
    with aws_errors(f"stack {stack}"):
        answer = cloudformation.describe_stacks(StackName=stack)
    stacks = answer.get("Stacks", [])
    if not stacks:
        raise ReplayError(f"stack {stack}: not found")
    return {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}


def stream_target(to: str, stack: str | None, clients: AwsClients,
                  sleep: Callable[[float], None] = time.sleep) -> Target:
    """The stack's delivery stream (firehose) or ingest stream (kinesis)."""
    if not stack:
        raise ReplayError(f"--to {to} needs --stack NAME (the stream names are its outputs)")
    outputs = stack_outputs(clients.get("cloudformation"), stack)
    output = "DeliveryStreamName" if to == "firehose" else "IngestStreamName"
    if output not in outputs:
        hint = " (IngestionMode=DirectPut: use --to firehose)" if to == "kinesis" else ""
        raise ReplayError(f"stack {stack}: no {output} output{hint}")
    return Target(to, sender=StreamSender(clients.get(to), to, outputs[output], sleep=sleep),
                  outputs=outputs, clients=clients, sleep=sleep)


def replay(
    sources: Sequence[str],
    to: str = "local",
    lake: str | os.PathLike | None = None,
    stack: str | None = None,
    filters: Filters | None = None,
    dry_run: bool = False,
    clients: AwsClients | None = None,
    progress: bool | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], dt.datetime] | None = None,
    replay_id: str | None = None,
) -> ReplaySummary:
    """Replay Firehose error output from local files/folders or s3:// prefixes."""
    filters = filters or Filters()
    clients = clients or AwsClients()
    now = (clock or webevents_clock.now)().replace(tzinfo=None)
    started = time.perf_counter()
    summary = ReplaySummary(replay_id or f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}", to,
                            dry_run)
    objects: list[SourceObject] = []
    for source in sources:
        if source.startswith("s3://"):
            objects += s3_objects(source, clients.get("s3"))
        else:
            objects += local_objects(source)
    needs_lake = to == "local" or any(obj.s3 is None for obj in objects)
    manifests = (S3Manifest(clients.get("s3"))
                 if to != "local" and any(obj.s3 for obj in objects) else None)
    if dry_run:
        manifests = manifests and _ReadOnlyManifest(manifests)
    target = Target(to)
    if to in ("firehose", "kinesis") and not dry_run:
        target = stream_target(to, stack, clients, sleep)
    con = None
    try:
        bookkeeping = None
        lake_dir = Path(lake or os.environ.get("WEBEVENTS_LAKE") or ".lake")
        if needs_lake and dry_run:
            # A dry run writes nothing, not even a new lake: it reads what is there.
            if (lake_dir / DATABASE_FILE).is_file():
                con = duckdb.connect(str(lake_dir / DATABASE_FILE), read_only=True)
                bookkeeping = LakeBookkeeping(con, writable=False)
        elif needs_lake:
            lake_dir = resolve_lake(lake_dir)
            con = connect(lake_dir)
            bookkeeping = LakeBookkeeping(con)
            if to == "local":
                target.con = con
        with contextlib.ExitStack() as stack_:
            scratch = None
            if to == "local" and not dry_run:
                scratch = Path(stack_.enter_context(
                    tempfile.TemporaryDirectory(dir=lake_dir, prefix=".replay-")))
            bar = _progress(progress)
            task = None
            if bar is not None:
                stack_.enter_context(bar)
                task = bar.add_task("replay", total=len(objects))
            for obj in objects:
                summary.objects.append(replay_object(
                    obj, filters, target, bookkeeping, manifests, summary.replay_id, now,
                    dry_run, scratch,
                ))
                if task is not None:
                    bar.update(task, advance=1)
    finally:
        if con is not None:
            con.close()
    summary.seconds = time.perf_counter() - started
    return summary


class _ReadOnlyManifest:
    def __init__(self, manifests: S3Manifest) -> None:
        self.manifests = manifests

    def settled(self, *args):
        return self.manifests.settled(*args)

    def record(self, *args) -> None:  # a dry run writes nothing
        return None


def _progress(show: bool | None):
    if show is None:
        show = sys.stderr.isatty()
    if not show:
        return None
    # rich.progress loads in ~85 ms (python -X importtime), for a terminal only.
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(TextColumn("[bold]replay"), BarColumn(), MofNCompleteColumn(),
                    console=Console(stderr=True), transient=True)


# ---- backfill rejects ------------------------------------------------------------------------
REPLAY_LINES_VIEW = "archive.web_events_replay_lines"
REPLAY_STAGE_TABLE = "raw.web_events_replay_stage"


def _retarget(sql: str, old: str, new: str, file: str) -> str:
    if sql.count(old) != 1:
        raise ReplayError(f"sql/backfill/{file}: expected {old} exactly once, found "
                          f"{sql.count(old)}; the rejects replay reuses this file as it is")
    return sql.replace(old, new)


def replay_rejects(
    lake: str | os.PathLike | None = None,
    archive_dates: Sequence[dt.date] = (),
    reasons: Iterable[str] = (),
    dry_run: bool = False,
    clock: Callable[[], dt.datetime] | None = None,
) -> dict[str, Any]:
    """Re-normalise rejected archive lines with sql/backfill; move those that now land.

    One DuckDB transaction: the lines run through the stage insert of sql/backfill (the
    same normalisation, read from the file as it is, pointed at a scratch copy of the
    lines), replace their rejected rows in raw.web_events_backfill_stage, then the
    backfill's own landing insert and rejects delete/insert bring raw and the rejects in
    line with the stage, and each chunk's counts in raw.web_events_backfill_loads move
    from rejected to landed/dropped. A dry run does all of it and rolls back.
    """
    try:
        # The lines land as the backfill lands them: the environment's §6b setting
        # (IP_HANDLING, IP_HASH_KEY, PII_QUERY_PARAMETERS), checked before the lake is opened.
        environment = environment_params({})
    except SqlRunError as error:
        raise ReplayError(str(error)) from None
    now = (clock or webevents_clock.now)().replace(tzinfo=None)
    loaded_at = now.isoformat(sep=" ")
    lake_dir = resolve_lake(lake)
    con = connect(lake_dir)
    engine = LocalEngine(connection=con)
    reasons = sorted(set(reasons))
    replay_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    where, chosen_where, params = ["true"], ["true"], []
    if archive_dates:
        where.append("list_contains(?, archive_date)")
        chosen_where.append("list_contains(?, r.archive_date)")
        params.append(sorted(set(archive_dates)))
    if reasons:
        where.append("list_contains(?, reason)")
        chosen_where.append("list_contains(?, r.reason)")
        params.append(reasons)
    selection, chosen = " and ".join(where), " and ".join(chosen_where)
    try:
        rejects = con.execute(
            "select archive_date, source_file, reason, line from "
            f"raw.web_events_backfill_rejects where {selection} "
            "order by archive_date, source_file, line", params
        ).fetchall()
        figures: dict[str, Any] = {"records_in": len(rejects), "landed": 0,
                                   "failed_again": 0, "dropped": 0, "by_archive_date": {},
                                   "failed_again_by_reason": {}}
        if not rejects:
            return figures
        first = min(row[0] for row in rejects)
        last = max(row[0] for row in rejects)
        window = {"date_from": first.isoformat(), "date_to": last.isoformat()}
        stage_params = {**environment, **window}
        with tempfile.TemporaryDirectory(prefix="webevents-rejects-") as scratch:
            files: dict[tuple, int] = {}
            grouped: dict[tuple, list[str]] = {}
            for archive_date, source_file, _reason, line in rejects:
                grouped.setdefault((archive_date, source_file), []).append(line)
            for index, ((archive_date, source_file), lines) in enumerate(grouped.items()):
                folder = Path(scratch) / f"dt={archive_date.isoformat()}"
                folder.mkdir(exist_ok=True)
                (folder / f"{index:06d}.jsonl").write_text(
                    "\n".join(lines) + "\n", encoding="utf-8")
                files[(archive_date, source_file)] = index
            location = Path(scratch).as_posix().rstrip("/") + "/"
            view_sql = _retarget(
                render(BACKFILL_SQL / "web_events_archive_create.sql",
                       {"archive_location": location}),
                "table if not exists archive.web_events_archive",
                f"table if not exists {REPLAY_LINES_VIEW}", "web_events_archive_create.sql")
            stage_sql = _retarget(
                _retarget(render(BACKFILL_SQL / "web_events_backfill_stage_insert.sql",
                                 stage_params),
                          "from archive.web_events_archive", f"from {REPLAY_LINES_VIEW}",
                          "web_events_backfill_stage_insert.sql"),
                "insert into raw.web_events_backfill_stage", f"insert into {REPLAY_STAGE_TABLE}",
                "web_events_backfill_stage_insert.sql")
            con.execute("begin transaction")
            try:
                engine.execute(view_sql)
                con.execute(f"create or replace table {REPLAY_STAGE_TABLE} as "
                            "select * from raw.web_events_backfill_stage limit 0")
                engine.execute(stage_sql)
                con.execute("create temp table replay_files (file_index varchar, "
                            "archive_date date, source_file varchar)")
                con.executemany("insert into replay_files values (?, ?, ?)", [
                    [f"{index:06d}", archive_date, source_file]
                    for (archive_date, source_file), index in files.items()])
                con.execute(
                    f"update {REPLAY_STAGE_TABLE} as s set source_file = f.source_file "
                    "from replay_files as f where regexp_extract(s.source_file, "
                    "'([0-9]{6})\\.jsonl$', 1) = f.file_index")
                # The chosen lines' rejected stage rows are replaced by their new outcome.
                # The chosen lines' rejected stage rows are replaced by their new outcome.
                con.execute(
                    "delete from raw.web_events_backfill_stage as s where s.outcome = "
                    "'rejected' and exists (select 1 from raw.web_events_backfill_rejects "
                    f"as r where {chosen} and r.archive_date = s.archive_date "
                    "and r.source_file = s.source_file and r.reason = s.reason "
                    "and r.line = s.line)", params)
                con.execute(f"insert into raw.web_events_backfill_stage by name "
                            f"select * from {REPLAY_STAGE_TABLE}")
                counts = con.execute(
                    f"select archive_date, outcome, coalesce(reason, ''), count(*) "
                    f"from {REPLAY_STAGE_TABLE} group by all order by all").fetchall()
                event_dates = [row[0] for row in con.execute(
                    f"select distinct event_date from {REPLAY_STAGE_TABLE} "
                    "where outcome = 'ok' order by 1").fetchall()]
                base = {**window, "loaded_at": loaded_at}
                for range_from, range_to in date_ranges(event_dates):
                    engine.execute(render(BACKFILL_SQL / "web_events_insert.sql", {
                        **base, "event_date_from": range_from.isoformat(),
                        "event_date_to": range_to.isoformat()}))
                for name in ("web_events_backfill_rejects_delete.sql",
                             "web_events_backfill_rejects_insert.sql"):
                    engine.execute(render(BACKFILL_SQL / name, base))
                by_date: dict[dt.date, Counter] = {}
                for archive_date, outcome, reason, count in counts:
                    by_date.setdefault(archive_date, Counter())[outcome] += count
                    key = {"ok": "landed", "rejected": "failed_again"}.get(outcome, "dropped")
                    figures[key] += count
                    if outcome == "rejected":
                        reasons_count = figures["failed_again_by_reason"]
                        reasons_count[reason] = reasons_count.get(reason, 0) + count
                ensure_bookkeeping(con)
                for archive_date, counter in sorted(by_date.items()):
                    moved_ok, moved_dropped = counter["ok"], counter["dropped"]
                    # The chunk that loaded this archive day keeps source = landed +
                    # rejected + dropped (web_events_backfill_loads_check.sql).
                    con.execute(
                        "update raw.web_events_backfill_loads set "
                        "landed_lines = landed_lines + ?, dropped_lines = dropped_lines + ?, "
                        "rejected_lines = rejected_lines - ? "
                        "where ? between date_from and date_to",
                        [moved_ok, moved_dropped, moved_ok + moved_dropped, archive_date])
                    figures["by_archive_date"][archive_date.isoformat()] = {
                        "records_in": sum(counter.values()), "landed": moved_ok,
                        "failed_again": counter["rejected"], "dropped": moved_dropped}
                    con.execute(
                        f"insert into {RUNS_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?)",
                        [replay_id, f"{REJECTS_SOURCE}/archive_date={archive_date}",
                         f"archive_date={archive_date}", REJECTS_SOURCE, "local",
                         sum(counter.values()), moved_ok, counter["rejected"], moved_dropped,
                         now])
                _record_rejects(con, replay_id, now)
                con.execute(f"drop table {REPLAY_STAGE_TABLE}")
                con.execute(f"drop view {REPLAY_LINES_VIEW}")
                con.execute("drop table replay_files")
                con.execute("rollback" if dry_run else "commit")
            except BaseException:
                con.execute("rollback")
                raise
    finally:
        engine.close()
        con.close()
    return figures


def _record_rejects(con, replay_id: str, now: dt.datetime) -> None:
    """The lines in the records ledger: landed, dropped, or rejected again (one row each)."""
    con.execute(
        "create temp table replay_rejects_ledger as select "
        f"'{REJECTS_SOURCE}/archive_date=' || s.archive_date as source_object, "
        "'archive_date=' || s.archive_date as object_key, "
        "s.source_file || chr(9) || sha256(s.line) || chr(9) || row_number() over ("
        "partition by s.archive_date, s.source_file, s.line order by s.reason) as record_key, "
        f"'{REJECTS_SOURCE}' as source_kind, s.reason as error_code, "
        f"case s.outcome when 'ok' then '{LANDED}' when 'rejected' then '{FAILED_AGAIN}' "
        f"else '{DROPPED}' end as outcome, s.reason, s.event_id, 'local' as target, "
        f"?::varchar as replay_id, ?::timestamp as replayed_at from {REPLAY_STAGE_TABLE} as s",
        [replay_id, now],
    )
    con.execute(
        f"delete from {RECORDS_TABLE} as r using replay_rejects_ledger as n "
        "where r.object_key = n.object_key and r.record_key = n.record_key"
    )
    con.execute(f"insert into {RECORDS_TABLE} by name select * from replay_rejects_ledger")
    con.execute("drop table replay_rejects_ledger")


# ---- the command ---------------------------------------------------------------------------
def _parse_date(value: str | None, flag: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ReplayError(f"{flag} {value}: not a date (YYYY-MM-DD)") from None


def write_summary(path: str | os.PathLike, data: dict[str, Any]) -> None:
    """The summary JSON, written atomically (a reader never sees half of it)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=1, sort_keys=True, default=str)
    os.replace(tmp, target)


def _lake_held(lake, writes: bool):
    """The lake's lock while a replay writes into it, as run and ingest hold it."""
    return locked(resolve_lake(lake), "replay") if writes else contextlib.nullcontext()


def replay_command(args) -> int:
    """`webevents replay SOURCE... [--to] [--lake] [--stack] [--since --until --reason]`."""
    try:
        since = _parse_date(args.since, "--since")
        until = _parse_date(args.until, "--until")
        reasons = frozenset(r for item in args.reason or [] for r in item.split(",") if r)
        archive_dates = [_parse_date(d, "--archive-date")
                         for item in args.archive_date or [] for d in item.split(",") if d]
        if REJECTS_SOURCE in args.sources:
            if len(args.sources) > 1:
                raise ReplayError(f"{REJECTS_SOURCE} is replayed alone, not with other sources")
            if args.to not in (None, "local"):
                raise ReplayError(f"{REJECTS_SOURCE} replays into the local lake only "
                                  "(on AWS run sql/backfill for the archive days again)")
            with _lake_held(args.lake, writes=not args.dry_run):
                figures = replay_rejects(args.lake, archive_dates, reasons, args.dry_run)
            data = {"source": REJECTS_SOURCE, "dry_run": args.dry_run, **figures}
            verb = "would land" if args.dry_run else "landed"
            print(
                f"replay{' (dry run)' if args.dry_run else ''}: {REJECTS_SOURCE} "
                f"{figures['records_in']:,} lines = {figures['landed']:,} {verb} + "
                f"{figures['failed_again']:,} rejected again + {figures['dropped']:,} dropped"
                + ("; rejected again by reason: " + ", ".join(
                    f"{k} {v:,}" for k, v in sorted(figures["failed_again_by_reason"].items()))
                   if figures["failed_again_by_reason"] else "")
            )
        else:
            if archive_dates:
                raise ReplayError(f"--archive-date applies to {REJECTS_SOURCE} only")
            # --to defaults to the lake, or with --stack (and no --lake) to its Firehose.
            to = args.to or ("firehose" if args.stack and not args.lake else "local")
            with _lake_held(args.lake, writes=to == "local" and not args.dry_run):
                summary = replay(
                    args.sources, to=to, lake=args.lake, stack=args.stack,
                    filters=Filters(since, until, reasons), dry_run=args.dry_run,
                )
            data = summary.as_dict()
            print(summary.line())
        if args.summary:
            write_summary(args.summary, data)
        refused = data.get("totals", {}).get("not_accepted", 0)
        if refused:
            raise ReplayError(
                f"{refused:,} record(s) were refused by the stream after every retry (their "
                "codes are in the reasons); run the same command again to send only those")
    except ReplayError as error:
        print(f"webevents replay: {error}", file=sys.stderr)
        return 1
    return 0
