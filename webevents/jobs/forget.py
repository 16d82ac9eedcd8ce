"""`webevents forget`: erase a person's events from every table, with an audit row per request.

A request (`--user-id` or `--anonymous-id`, or a file of them) travels as a request file
(webevents/jobs/erasure_requests.py) and is filed from it as a pending row of
raw.erasure_requests; no statement ever names a person's id (docs/decisions.md D-PRIV-6).
Each pending request is applied with the sql/privacy statements on the chosen engine:

1. resolve the ids into raw.erasure_request_ids: the user id and the anonymous ids stitched
   to it (dim_identity_ranges and every landed copy), or the anonymous id asked for; every
   later statement reads them from there by the request's random id;
2. count the rows per table, the dates the person touched and the archive files holding
   their lines (`--dry-run` prints these, then deletes its dry-run request again); all of
   it is kept on the request in one statement before the first delete, so a run killed
   anywhere and run again erases the same set, re-derives the same days and audits the
   same counts (docs/decisions.md D-ERASURE-1);
3. delete from raw, the backfill stage and rejects, analytics and the marts; the touched
   days of the daily marts are deleted too and dbt re-derives them (`dbt run` with
   `lookback_days` reaching the earliest touched day), so the marts equal a build from
   scratch without the person;
4. locally, rewrite the archive files and Firehose error output without the person's
   lines (the backfill stays re-runnable from what is kept);
5. write the audit row (a keyed hash of the subject, never the id; rows removed per table;
   the date the last copy goes per store; the archive files the owner must rewrite) and
   close the request (its subject id set to null). Its ids stay while it is watched for
   copies landing again, which follow-up requests erase (D-ERASURE-2).

`apply_pending` is what the daily job (buildspec.yml) and `webevents run` call before they
build, so nothing rebuilt from raw brings the rows back. Runbook: docs/operations.md.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import gzip
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webevents import DBT_DIR, SQL_DIR, clock, failpoints, lambda_module
from webevents.engines import EngineError, get_engine
from webevents.jobs.erasure_requests import (
    IDENTIFIER,
    SUBJECT_KINDS,
    RequestFileError,
    RequestFiles,
    RequestLine,
    new_request,
)
from webevents.jobs.replay import ERASED, LANDED, RECORDS_TABLE, REJECTS_SOURCE, _table_exists
from webevents.jobs.sql import SqlRunError, run_files, run_order
from webevents.local.dbt_runner import run_dbt
from webevents.local.lake import resolve_lake

PRIVACY_DIR = SQL_DIR / "privacy"
# The Glue database of external tables (the archive's, and the request files' table).
ARCHIVE_DATABASE_SQL = SQL_DIR / "backfill" / "archive_database_create.sql"
KEY_ENV = "WEBEVENTS_ERASURE_KEY"
KEY_FILE = "erasure.key"
# Ids reach the tables through request files only (webevents/jobs/erasure_requests.py):
# every statement names the request by its random request_id and reads the ids from
# raw.erasure_request_ids, so no id is in a statement's text (docs/decisions.md D-PRIV-6).

LANDED_TABLES = (
    "raw.web_events",
    "analytics.web_events",
    "raw.web_events_backfill_stage",
    "raw.web_events_backfill_rejects",
)
# The deletes, in order, are lists of sql/privacy/run_order.yml (read when a request is
# applied): mart_deletes, source_deletes, erased_days_deletes, erased_days_optimizes.


class ErasureError(RuntimeError):
    """A request could not be filed or applied; the message says which and why, on one line."""


class UnreadableRequestFiles(ErasureError):
    """Every request was applied, but request files with a bad line wait to be fixed."""


# `webevents forget` exits with this when only request files were unreadable: the daily job
# (buildspec.yml) builds anyway and fails at its end.
EXIT_UNREADABLE_REQUESTS = 3


# ---- the deadline per store ------------------------------------------------------------
@dataclass(frozen=True)
class Store:
    """A place a copy of the person's rows can live, and how long it outlives the delete."""

    name: str
    days_after_apply: int
    why: str


# Days from the delete to the last copy, from template.yaml's defaults (tests/infra checks
# that these equal the template, so the report cannot drift from what is deployed).
# S3 Tables: snapshots older than MaxSnapshotAgeHours expire, then files no snapshot
# references are marked noncurrent after UnreferencedDays and deleted NoncurrentDays later
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-table-buckets-maintenance.html);
# one more day for the maintenance job to come round. Tables without their own
# SnapshotManagement keep S3 Tables' default of 120 hours
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-tables-maintenance.html).
RAW_SNAPSHOT_HOURS = 168
ANALYTICS_SNAPSHOT_HOURS = 336
DEFAULT_SNAPSHOT_HOURS = 120
UNREFERENCED_DAYS = 3
NONCURRENT_DAYS = 3
MAINTENANCE_LAG_DAYS = 1
MARTS_SNAPSHOT_DAYS = 14  # sql/maintenance/marts_retention_set.sql
MARTS_NONCURRENT_DAYS = 7  # template.yaml MartsBucket
ERROR_OUTPUT_DAYS = 20  # template.yaml DeliveryErrorBucket
ERROR_OUTPUT_NONCURRENT_DAYS = 5
ATHENA_RESULTS_DAYS = 7  # template.yaml AthenaResultsBucket
ATHENA_RESULTS_NONCURRENT_DAYS = 1
DEADLINE_DAYS = 30  # GDPR art. 12(3): one month; every store below must fit in it
# Log groups that can hold an IP or event content keep at most 14 days whatever
# LogRetentionDays says (template.yaml, D-PRIV-5), and CloudWatch Logs deletes expired events
# "typically" within 72 hours after that
# (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html).
LOG_RETENTION_CAP_DAYS = 14
LOG_DELETION_LAG_DAYS = 3
KINESIS_RETENTION_HOURS = 48  # the most any samconfig.toml environment keeps (prod)
# An applied request keeps its ids (raw.erasure_request_ids) while Firehose error output
# written before it can still be replayed: that output expires ERROR_OUTPUT_DAYS after it
# was written, plus a day for S3 lifecycle to act (D-ERASURE-2). The ids table keeps one
# day of snapshots (template.yaml ErasureRequestIdsTable), so the ids too are gone in time.
WATCH_DAYS = ERROR_OUTPUT_DAYS + 1
REQUEST_IDS_SNAPSHOT_HOURS = 24


def _s3_tables_days(hours: int) -> int:
    return -(-hours // 24) + MAINTENANCE_LAG_DAYS + UNREFERENCED_DAYS + NONCURRENT_DAYS


AWS_STORES = (
    Store("raw.web_events (S3 Tables)", _s3_tables_days(RAW_SNAPSHOT_HOURS),
          "snapshot expiry, then unreferenced-file removal"),
    Store("analytics.web_events (S3 Tables)", _s3_tables_days(ANALYTICS_SNAPSHOT_HOURS),
          "snapshot expiry, then unreferenced-file removal"),
    Store("raw backfill stage, rejects, erasure tables (S3 Tables)",
          _s3_tables_days(DEFAULT_SNAPSHOT_HOURS), "S3 Tables default snapshot expiry"),
    Store("marts (Glue Iceberg)", MARTS_SNAPSHOT_DAYS + 1 + MARTS_NONCURRENT_DAYS,
          "daily VACUUM after the retention, then noncurrent S3 versions expire"),
    Store("Firehose error output (S3)", ERROR_OUTPUT_DAYS + ERROR_OUTPUT_NONCURRENT_DAYS + 1,
          "lifecycle expiry of objects written before the request"),
    Store("Athena query results (S3)",
          ATHENA_RESULTS_DAYS + ATHENA_RESULTS_NONCURRENT_DAYS + 1, "lifecycle expiry"),
    *(Store(name, LOG_RETENTION_CAP_DAYS + LOG_DELETION_LAG_DAYS, "log retention")
      for name in ("WAF logs (CloudWatch Logs)", "transform Lambda logs (CloudWatch Logs)",
                   "Firehose delivery error logs (CloudWatch Logs)",
                   "daily job build logs (CloudWatch Logs)",
                   "API Gateway execution logs (CloudWatch Logs)")),
    Store("Kinesis ingest stream", -(-KINESIS_RETENTION_HOURS // 24), "stream retention"),
    # an unversioned bucket (template.yaml ErasureRequestsBucket, D-PRIV-8): a file filed
    # into raw.erasure_requests is deleted before the request is applied
    Store("erasure request files (S3)", 0, "deleted when filed"),
)
# Not the person's events but the request's ids: kept while the request is watched for
# copies landing again, then deleted. No statement carries them, so Athena's query history
# (45 days) and CloudTrail (90 days) never hold them (D-PRIV-6).
REQUEST_ID_STORES = (
    Store("erasure request ids (S3 Tables, while watched for copies landing again)",
          WATCH_DAYS + _s3_tables_days(REQUEST_IDS_SNAPSHOT_HOURS),
          "watch ends, then snapshot expiry"),
)


def last_copy_dates(applied: dt.date, engine: str) -> dict[str, str]:
    """Per store, the date by which the last copy of the erased rows is gone."""
    if engine == "local":
        # DuckDB keeps no table history; CHECKPOINT writes the deletes out to the file.
        return {"local lake (DuckDB)": applied.isoformat(),
                "archive and error output files (rewritten)": applied.isoformat()}
    if engine == "trino":
        # The fidelity tier expires snapshots explicitly (expire_snapshots), as S3 Tables would.
        return {"Trino Iceberg tables": (applied + dt.timedelta(
            days=-(-ANALYTICS_SNAPSHOT_HOURS // 24))).isoformat()}
    return {store.name: (applied + dt.timedelta(days=store.days_after_apply)).isoformat()
            for store in AWS_STORES + REQUEST_ID_STORES}


def events_gone_by(last_copy_gone: dict[str, str]) -> str:
    """The date the last copy of the person's rows is gone: every store but the request's
    own ids (REQUEST_ID_STORES), which the report lists beside it."""
    ids_only = {store.name for store in REQUEST_ID_STORES}
    return max(day for store, day in last_copy_gone.items() if store not in ids_only)


# ---- requests, ids, keyed hash ---------------------------------------------------------
@dataclass
class Request:
    request_id: str
    subject_kind: str
    subject_id: str | None  # None: a follow-up (its ids are a watched request's copy)
    requested_at: dt.datetime
    # the request's identifiers column as kept by an earlier attempt (JSON, parsed)
    identifiers: dict[str, Any] | None = None


@dataclass
class Identifiers:
    """Who a request erases: rows with these user ids, every row of these devices, and the
    anonymous rows of the devices stitched to the user (another person's identified rows on
    a shared device stay)."""

    user_ids: list[str] = field(default_factory=list)
    device_ids: list[str] = field(default_factory=list)
    anonymous_ids: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        return sorted(set(self.user_ids) | set(self.device_ids) | set(self.anonymous_ids))

    def line_pattern(self) -> re.Pattern:
        """The ids in JSON quotes, for raw lines (local archive and error-output files);
        with no ids (a follow-up re-run after its ids went) it matches nothing, not `""`."""
        ids = self.all()
        if not ids:
            return re.compile(r"(?!)")
        return re.compile('"(' + "|".join(re.escape(i) for i in ids) + ')"')


def request_params(request_id: str) -> dict[str, str]:
    """The statements' parameters for one request: its id and, per kind, the subquery that
    reads its ids from raw.erasure_request_ids (never the ids themselves)."""

    def ids_of(kind: str) -> str:
        return ("select kept.id from raw.erasure_request_ids as kept "
                f"where kept.request_id = '{request_id}' and kept.id_kind = '{kind}'")

    return {"request_id": request_id, "request_user_ids": ids_of("user_id"),
            "request_device_ids": ids_of("device_id"),
            "request_anonymous_ids": ids_of("anonymous_id")}


def check_identifier(value: str, what: str) -> str:
    value = value.strip()
    if not IDENTIFIER.fullmatch(value):
        shown = value if len(value) <= 60 else value[:57] + "..."
        raise ErasureError(
            f"{what} {shown!r} is not an id this pipeline stores (letters, digits and . _ : @ + -,"
            " at most 200 characters)"
        )
    return value


def sql_list(values: Iterable[str]) -> str:
    """A SQL IN-list of string literals; `null` (matches nothing) when empty."""
    items = sorted(set(values))
    return ", ".join("'" + v.replace("'", "''") + "'" for v in items) if items else "null"


def subject_hash(key: bytes, kind: str, subject_id: str) -> str:
    """HMAC-SHA256 of kind:id: proves later which person a request was, without keeping the id."""
    return hmac.new(key, f"{kind}:{subject_id}".encode(), hashlib.sha256).hexdigest()


def erasure_key(engine: str, lake: Path | None) -> bytes:
    """The audit hash key: $WEBEVENTS_ERASURE_KEY, else (locally) one random key per lake."""
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV].encode()
    if engine != "local" or lake is None:
        raise ErasureError(f"set {KEY_ENV} (the audit's hash key; on AWS from Secrets Manager)")
    path = lake / KEY_FILE
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def read_ids_file(path: str | Path) -> list[tuple[str, str]]:
    """A batch file: one `user_id ID` or `anonymous_id ID` per line (# comments, blanks ok)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ErasureError(f"{path}: {error.strerror or error}") from None
    subjects = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.replace(",", " ").split()
        if len(parts) != 2 or parts[0] not in SUBJECT_KINDS:
            raise ErasureError(
                f"{path}:{number}: expected 'user_id ID' or 'anonymous_id ID', got {line!r}"
            )
        subjects.append((parts[0], check_identifier(parts[1], f"{path}:{number}: {parts[0]}")))
    if not subjects:
        raise ErasureError(f"{path}: holds no ids")
    return subjects


# ---- running the statements ------------------------------------------------------------
class Session:
    """One engine for a batch of requests; reopened around dbt on DuckDB (one writer)."""

    def __init__(self, engine: str, lake: Path | None, s3: Any = None, **options: Any):
        self.name = engine
        self.lake = lake
        self.options = options
        self.engine = None
        self._s3 = s3
        self._files: RequestFiles | None = None

    def open(self):
        if self.engine is None:
            self.engine = get_engine(self.name, lake=self.lake, **self.options)
        return self.engine

    def close(self, checkpoint: bool = True) -> None:
        if self.engine is not None:
            if self.name == "local" and checkpoint:
                self.engine.connection.execute("checkpoint")
            self.engine.close()
            self.engine = None

    def request_files(self) -> RequestFiles:
        if self._files is None:
            self._files = RequestFiles.for_engine(self.name, self.lake, self._s3)
        return self._files

    def run(self, name: str, params: dict[str, Any] | None = None):
        """One sql/privacy file; its StatementResult."""
        [result] = run_files([PRIVACY_DIR / name], engine=self.open(), params=params or {},
                             echo=None)
        return result

    def has_marts(self) -> bool:
        """Whether the dbt marts exist yet (a new lake, or before the first dbt run, has none)."""
        try:
            self.open().query("select count(*) from marts.fct_web_events where false")
            self.open().query("select count(*) from marts.dim_identity_ranges where false")
        except EngineError:
            return False
        return True


def file_requests(session: Session, requests: list[RequestLine]) -> list[str]:
    """Write the requests' files, then file them (and any other waiting) into the table;
    the problems of request files that could not be filed (see file_waiting)."""
    files = session.request_files()
    for request in requests:
        files.write(request)
    return file_waiting(session)


def file_waiting(session: Session) -> list[str]:
    """File every valid request file of the request location into raw.erasure_requests,
    then delete those files; one line per file left because a line of it is bad.

    The INSERT ... SELECT reads the person's id from the file through the external table,
    so the statement names request ids only. It skips requests already filed, so a run
    killed before the files are deleted files nothing twice on its re-run.
    """
    files = session.request_files()
    found = files.read_all()
    if not found.requests:
        return found.problems
    engine = session.open()
    run_files([ARCHIVE_DATABASE_SQL], engine=engine, params={}, echo=None)
    session.run("erasure_request_files_create.sql",
                {"erasure_requests_location": files.location})
    session.run("erasure_requests_from_files_insert.sql",
                {"request_id_list": sql_list(found.request_ids())})
    failpoints.reach("forget.filed")
    files.delete(sorted(found.requests))
    return found.problems


def file_request(session: Session, kind: str, subject_id: str, now: dt.datetime) -> Request:
    """File one request (its file, then its pending row); the request as filed."""
    line = new_request(kind, check_identifier(subject_id, kind), now)
    problems = file_requests(session, [line])
    if problems:
        raise ErasureError("request files that could not be filed: " + "; ".join(problems))
    return Request(line.request_id, kind, subject_id, line.requested_at)


def pending_requests(session: Session) -> list[Request]:
    result = session.run("erasure_requests_pending_select.sql")
    requests = []
    for request_id, kind, subject_id, requested_at, identifiers in result.rows:
        kept = json.loads(identifiers) if identifiers else None
        # rows filed by hand (an Athena INSERT) get the same checks as the command line; a
        # follow-up (D-ERASURE-2) has no subject id, only the ids it copied
        if kind not in SUBJECT_KINDS:
            raise ErasureError(f"request {request_id}: subject_kind {kind!r} is not one of "
                               f"{', '.join(SUBJECT_KINDS)}")
        if not (subject_id is None and kept and kept.get("follows")):
            check_identifier(str(subject_id or ""), f"request {request_id}: {kind}")
        requests.append(Request(str(request_id), str(kind),
                                None if subject_id is None else str(subject_id),
                                _as_datetime(requested_at), kept))
    return requests


def resolve(session: Session, request: Request, marts: bool) -> Identifiers:
    """Keep every id the request erases in raw.erasure_request_ids (the subject, and the
    anonymous ids stitched to a user: dim_identity_ranges and every landed copy), then
    read them back. Each insert skips ids kept already, so a re-run adds nothing."""
    params = request_params(request.request_id)
    session.run("erasure_request_ids_subject_insert.sql", params)
    session.run("erasure_request_ids_stitched_insert.sql", params)
    if marts:
        session.run("erasure_request_ids_stitched_marts_insert.sql", params)
    return kept_ids(session, request.request_id)


def kept_ids(session: Session, request_id: str) -> Identifiers:
    """The ids kept for a request (read back: the report counts them, and locally they
    match the lines of the files to rewrite)."""
    ids = Identifiers()
    names = {"user_id": ids.user_ids, "device_id": ids.device_ids,
             "anonymous_id": ids.anonymous_ids}
    for kind, value in session.run("erasure_request_ids_select.sql",
                                   {"request_id": request_id}).rows:
        names[str(kind)].append(str(value))
    return ids


ERASED_FROM_RAW = "raw.web_events from "  # + load_source: an audit key of local erasures
ERASED_ERROR_OUTPUT = "Firehose error output (records)"
# Of the rows under ERASED_FROM_RAW, those a replay of error output had landed (local).
ERASED_REPLAYED = "raw.web_events_replay_records (replayed, then erased)"


def _counted_once(key: str) -> bool:
    """Audit keys that are not a second view of rows counted under another key."""
    return ("days re-derived" not in key and not key.startswith(ERASED_FROM_RAW)
            and key != ERASED_REPLAYED)


DAYS_REDERIVED = " (days re-derived)"  # + a daily mart: an audit key


@dataclass
class Plan:
    """What a request erases, read while the person's rows are all still there."""

    rows: dict[str, int]  # rows (archive/error-output lines) removed per table or store
    dates: list[dt.date]  # the event and session-start dates touched: the day deletes,
    #                       the dbt lookback and the OPTIMIZEs of the per-event marts
    archive_files: list[str]  # archive objects holding the person's lines

    def as_json(self, request: Request) -> str:
        """The request's identifiers column: this plan (no ids: they are in
        raw.erasure_request_ids) and, for a follow-up, the request it follows."""
        follows = (request.identifiers or {}).get("follows")
        return json.dumps({"rows": self.rows, "dates": [d.isoformat() for d in self.dates],
                           "archive_files": self.archive_files,
                           **({"follows": follows} if follows else {})}, sort_keys=True)

    @classmethod
    def kept(cls, identifiers: dict[str, Any] | None) -> Plan | None:
        """The plan an earlier attempt kept on the request (None: none was kept)."""
        if not identifiers or "dates" not in identifiers or "user_ids" in identifiers:
            # never planned, or planned by a version that kept the ids in the plan rather
            # than in raw.erasure_request_ids: planned again from what is left
            return None
        return cls({str(t): int(n) for t, n in identifiers["rows"].items()},
                   [clock.as_date(d) for d in identifiers["dates"]],
                   list(identifiers.get("archive_files", [])))

    def date_list(self) -> str:
        return ", ".join(f"date '{d.isoformat()}'" for d in self.dates)


def plan(session: Session, request_id: str, marts: bool) -> Plan:
    """Rows the request erases per table, the event/session dates it touches (with the
    rows of those days in the daily marts) and the archive files holding the person."""
    params = request_params(request_id)
    counts = {str(t): int(n) for t, n in session.run("erasure_rows_select.sql", params).rows}
    dates = {clock.as_date(d) for (d,) in session.run("erasure_dates_select.sql", params).rows if d}
    if marts:
        counts |= {str(t): int(n) for t, n in
                   session.run("erasure_rows_marts_select.sql", params).rows}
        dates |= {clock.as_date(d) for (d,) in
                  session.run("erasure_dates_marts_select.sql", params).rows if d}
    found = Plan(counts, sorted(dates), [])
    if marts and dates:
        found.rows |= {f"{t}{DAYS_REDERIVED}": int(n) for t, n in session.run(
            "erasure_rows_erased_days_select.sql", {"date_list": found.date_list()}).rows}
    found.archive_files = sorted({str(f) for (f,) in session.run(
        "erasure_archive_files_select.sql", params).rows if f})
    return found


@dataclass
class Outcome:
    """What applying (or planning) one request did."""

    request: Request
    identifiers: Identifiers
    rows: dict[str, int]
    dates: list[dt.date]
    archive_files: list[str] = field(default_factory=list)
    applied_at: dt.datetime | None = None
    last_copy_gone: dict[str, str] = field(default_factory=dict)
    subject_hash: str | None = None


def apply_request(session: Session, request: Request, key: bytes, now: Callable[[], dt.datetime],
                  rebuild: Callable[[Session, list[dt.date]], None] | None,
                  say: Callable[[str], None]) -> Outcome:
    """Delete the request's rows everywhere, re-derive the touched days, audit, close.

    What it erases (ids, dates, rows, archive files) is read and kept on the request in one
    statement before the first delete; a re-run of a request killed after that uses what
    was kept, so every step after it, and the audit, is the same as in one uninterrupted run.
    """
    marts = session.has_marts()
    params = request_params(request.request_id)
    kept = Plan.kept(request.identifiers)
    if kept is None:
        ids = resolve(session, request, marts)
        kept = plan(session, request.request_id, marts)
        if session.name == "local":
            kept.rows |= local_copies(session, ids, params, kept.archive_files)
        session.run("erasure_requests_plan_update.sql", {
            "request_id": request.request_id,
            "identifiers_json": _quoted(kept.as_json(request))})
    else:
        ids = kept_ids(session, request.request_id)
    failpoints.reach("forget.planned")
    rows, dates = kept.rows, kept.dates
    if session.name == "local":
        rewrite_local_files(session, ids, params, kept.archive_files)
        mark_replayed_erased(session, params)

    def privacy_files(step: str) -> list[str]:
        return [path.name for path in run_order(PRIVACY_DIR, step)]

    for name in (privacy_files("mart_deletes") if marts else []) + privacy_files(
            "source_deletes"):
        session.run(name, params)
    failpoints.reach("forget.sources_deleted")
    if marts and dates:
        for name in privacy_files("erased_days_deletes"):
            session.run(name, {"date_list": kept.date_list()})
        failpoints.reach("forget.days_deleted")
        if rebuild is not None:
            rebuild(session, dates)
        failpoints.reach("forget.rederived")
        if session.name != "local":  # DuckDB rewrites in place; Iceberg DELETE does not
            for name in privacy_files("erased_days_optimizes"):
                session.run(name, {"date_list": kept.date_list()})
    applied_at = now()
    follows = (request.identifiers or {}).get("follows")
    outcome = Outcome(request, ids, rows, dates, kept.archive_files, applied_at,
                      last_copy_dates(applied_at.date(), session.name),
                      followed_hash(session, follows) if follows else
                      subject_hash(key, request.subject_kind, request.subject_id))
    # The audit row and the closing update are the request's bookkeeping: the audit is a
    # MERGE on request_id, so a run killed between them writes the same row again.
    session.run("erasure_audit_merge.sql", {
        "request_id": request.request_id, "subject_kind": request.subject_kind,
        "subject_hash": outcome.subject_hash, "requested_at": _ts(request.requested_at),
        "applied_at": _ts(applied_at), "engine": session.name,
        "identifier_count": len(ids.all()),
        "rows_removed_json": _quoted(json.dumps(rows, sort_keys=True)),
        "last_copy_gone_json": _quoted(json.dumps(outcome.last_copy_gone, sort_keys=True)),
        "last_copy_gone_by": events_gone_by(outcome.last_copy_gone),
        "archive_files_json": _quoted(json.dumps(kept.archive_files))})
    failpoints.reach("forget.audited")
    if follows:  # the request it follows keeps watching with its own ids
        session.run("erasure_request_ids_delete.sql", {"request_id": request.request_id})
    session.run("erasure_requests_applied_update.sql",
                {"request_id": request.request_id, "applied_at": _ts(applied_at)})
    say(f"erased request {request.request_id} ({request.subject_kind}"
        f"{', following ' + follows if follows else ''}): "
        f"{sum(n for t, n in rows.items() if _counted_once(t)):,} rows, "
        f"{len(ids.all())} id(s), {len(dates)} day(s) re-derived, "
        f"{len(kept.archive_files)} archive file(s) held the person; last copy gone by "
        f"{events_gone_by(outcome.last_copy_gone)}")
    return outcome


def apply_pending(engine: str = "local", lake: str | Path | None = None,
                  now: Callable[[], dt.datetime] | None = None,
                  say: Callable[[str], None] = print, rebuild_marts: bool = True,
                  s3: Any = None, **options: Any) -> list[Outcome]:
    """File waiting request files, erase what landed again for watched requests, then
    apply every pending request (the daily job and `webevents run` call this first).

    Request files with a bad line are left in place and reported (ErasureError) after
    everything else is applied: one bad file holds up no one else's erasure.
    """
    clock_now = now or _utc_now
    folder = resolve_lake(lake) if engine == "local" else (Path(lake) if lake else None)
    session = Session(engine, folder, s3=s3, **options)
    try:
        problems = file_waiting(session)
        watch(session, clock_now(), say)
        requests = pending_requests(session)
        outcomes = []
        if requests:
            key = erasure_key(engine, folder)
            rebuild = _rebuild if rebuild_marts else None
            outcomes = [apply_request(session, r, key, clock_now, rebuild, say)
                        for r in requests]
    finally:
        session.close()
    if problems:
        raise UnreadableRequestFiles(
            f"{len(problems)} line(s) of request files could not be filed (the files stay "
            "where they are; fix or remove them): " + "; ".join(problems))
    return outcomes


def watch(session: Session, now: dt.datetime, say: Callable[[str], None]) -> None:
    """Ids no request needs any more go; a watched request whose person's rows landed
    again (a replay of error output written before the erasure, a backfill re-run, records
    still buffered in the stream) gets a pending follow-up request that erases them the same
    way (docs/decisions.md D-ERASURE-2)."""
    ended = {"watch_ended_before": _ts(now - dt.timedelta(days=WATCH_DAYS))}
    session.run("erasure_request_ids_expired_delete.sql", ended)
    session.run("erasure_requests_dry_run_delete.sql")
    watched = [str(r) for (r,) in session.run("erasure_requests_watched_select.sql",
                                               ended).rows]
    if not watched:  # no scan of the landed tables while nothing is watched
        return
    landed: dict[str, int] = {}
    for request_id, count in session.run("erasure_watch_rows_select.sql",
                                         {"request_id_list": sql_list(watched)}).rows:
        landed[str(request_id)] = landed.get(str(request_id), 0) + int(count)
    for request_id, count in sorted(landed.items()):
        if not count:
            continue
        follow_up = {"request_id": request_id, "follow_up_id": str(uuid.uuid4()),
                     "requested_at": _ts(now)}
        session.run("erasure_request_ids_follow_up_insert.sql", follow_up)
        failpoints.reach("forget.following")
        session.run("erasure_requests_follow_up_insert.sql", follow_up)
        say(f"request {request_id}: {count:,} row(s) of the erased person landed again; "
            f"erasing them as its follow-up {follow_up['follow_up_id']}")


def followed_hash(session: Session, request_id: str) -> str:
    """The subject hash of the audit row of the request a follow-up follows."""
    rows = session.run("erasure_audit_subject_hash_select.sql", {"request_id": request_id}).rows
    if not rows:
        raise ErasureError(f"follow-up of request {request_id}, which has no audit row")
    return str(rows[0][0])


def dry_run(engine: str, lake: str | Path | None, subjects: list[tuple[str, str]],
            s3: Any = None, **options: Any) -> list[Outcome]:
    """What forgetting `subjects` would delete; deletes nothing.

    The ids are resolved in the tables as for a real request (so no id enters a
    statement): each subject is filed as a dry-run request, planned, and its request and
    ids are deleted again; a dry run killed half-way leaves rows the next forget deletes.
    """
    folder = resolve_lake(lake) if engine == "local" else (Path(lake) if lake else None)
    session = Session(engine, folder, s3=s3, **options)
    try:
        marts = session.has_marts()
        lines = [new_request(kind, subject_id, _utc_now(), status="dry_run")
                 for kind, subject_id in subjects]
        file_requests(session, lines)
        outcomes = []
        for line in lines:
            request = Request(line.request_id, line.subject_kind, line.subject_id,
                              line.requested_at)
            ids = resolve(session, request, marts)
            found = plan(session, request.request_id, marts)
            outcomes.append(Outcome(request, ids, found.rows, found.dates,
                                    found.archive_files))
        far_past = {"watch_ended_before": _ts(dt.datetime(1970, 1, 1))}
        session.run("erasure_request_ids_expired_delete.sql", far_past)
        session.run("erasure_requests_dry_run_delete.sql")
        return outcomes
    finally:
        session.close()


# ---- re-deriving the touched days of the marts -----------------------------------------
def _rebuild(session: Session, dates: list[dt.date]) -> None:
    """`dbt run` with lookback_days reaching the earliest touched day, on the session's engine."""
    _, [(newest,)] = session.open().query("select max(event_date) from marts.fct_web_events")
    newest_date = clock.as_date(newest) if newest else max(dates)
    lookback = max((newest_date - min(dates)).days, 0) + 1
    engine = session.open()
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    if session.name == "local":
        target = "local"
        env["WEBEVENTS_LAKE"] = str(Path(session.lake).resolve())
        session.close()  # DuckDB allows one writer: dbt opens the lake file next
    elif session.name == "trino":
        target = "trino"
        env |= {"TRINO_PORT": str(engine.port), "TRINO_HOST": engine.host,
                "TRINO_CATALOG": engine.catalog}
    else:
        target = "prod"
    run_dbt_models(target, lookback, env, work=_dbt_work(session))


def _dbt_work(session: Session) -> Path:
    """dbt's target and logs: in the lake locally, else a temporary folder (not the cwd)."""
    if session.lake:
        return Path(session.lake).resolve() / "dbt-erasure"
    return Path(tempfile.mkdtemp(prefix="webevents-erasure-dbt-"))


# Marts the erasure's dbt run rebuilds whole (--full-refresh) rather than by the touched
# days: every other mart of run_order.yml's mart_deletes needs its days OPTIMIZEd on Iceberg.
REBUILT_WHOLE = ("dim_identity_ranges",)


def run_dbt_models(target: str, lookback_days: int, env: dict[str, str], work: Path) -> None:
    """dbt run (models only) re-deriving `lookback_days` back from the newest built day."""
    from webevents.local.run import _end_with_parent  # dbt ends with a killed erasure

    # dim_identity_ranges re-derives only its own window incrementally (docs/dbt.md,
    # "Identity"): rebuilt whole first, so ranges around the erased ones join up as in a
    # build from scratch; then every model with the touched days.
    for number, args in enumerate((
            ["run", "--full-refresh", "--select", *REBUILT_WHOLE],
            ["run", "--vars", json.dumps({"lookback_days": lookback_days})])):
        if number:
            failpoints.reach("forget.rederiving")
        completed = run_dbt([*args, "--target", target], work, env=env, cwd=DBT_DIR,
                            preexec_fn=_end_with_parent)
        if completed.returncode != 0:
            tail = completed.output.strip().splitlines()[-15:]
            raise ErasureError("re-deriving the marts failed (`dbt run`):\n" + "\n".join(tail))


# ---- local copies outside the tables ---------------------------------------------------
def local_copies(session: Session, ids: Identifiers, params: dict[str, str],
                 archive_files: list[str]) -> dict[str, int]:
    """The local lake's figures for the audit, read before anything is deleted: lines of
    the archive files and the error output to go, raw rows per input kind (for the lake's
    reconciliation: webevents/local/reconcile.py) and replayed records to mark erased."""
    counts = rewrite_local_files(session, ids, params, archive_files, rewrite=False)
    counts |= {f"{ERASED_FROM_RAW}{source}": int(n) for source, n in session.run(
        "erasure_raw_rows_by_load_source_select.sql", params).rows}
    counts[ERASED_REPLAYED] = mark_replayed_erased(session, params, mark=False)
    return counts


def mark_replayed_erased(session: Session, params: dict[str, str], mark: bool = True) -> int:
    """Replayed records whose row this request erases become 'erased' in the local replay
    bookkeeping (before the delete), so the replay still balances; how many (mark=False:
    only counts them)."""
    con = session.open().connection
    if not _table_exists(con, RECORDS_TABLE):
        return 0
    event_ids = [str(e) for (e,) in session.run(
        "erasure_raw_replayed_event_ids_select.sql", params).rows]
    if not event_ids:
        return 0
    where = ("where outcome = ? and source_kind != ? "
             "and event_id in (select unnest(?::varchar[]))")
    if not mark:
        (found,) = con.execute(f"select count(*) from {RECORDS_TABLE} {where}",
                               [LANDED, REJECTS_SOURCE, event_ids]).fetchone()
        return int(found)
    (marked,) = con.execute(f"update {RECORDS_TABLE} set outcome = ? {where}",
                            [ERASED, LANDED, REJECTS_SOURCE, event_ids]).fetchone()
    return int(marked)


def rewrite_local_files(session: Session, ids: Identifiers, params: dict[str, str],
                        archive_files: list[str], rewrite: bool = True) -> dict[str, int]:
    """Archive files and Firehose error output without the person's lines (local lake);
    lines removed per store (rewrite=False: only counts them)."""
    pattern = ids.line_pattern()
    removed: dict[str, int] = {}
    archive_lines = 0
    for name in sorted(set(archive_files)):
        path = Path(name.split("://", 1)[-1])
        if path.is_file():
            archive_lines += _rewrite_lines(path, lambda line: _archive_line_matches(
                line, ids, pattern), rewrite)
    removed["archive files (lines)"] = archive_lines
    error_lines = 0
    if session.lake is not None:
        for path in sorted((Path(session.lake) / "processing-failed").rglob("*")):
            if path.is_file():
                error_lines += _rewrite_lines(path, lambda line: _error_record_matches(
                    line, pattern), rewrite)
    removed[ERASED_ERROR_OUTPUT] = error_lines
    return removed


def _archive_line_matches(line: bytes, ids: Identifiers, pattern: re.Pattern) -> bool:
    """The same rule as the tables: a line the Lambda's rules parse is judged on its columns
    (another person's identified line on a shared device stays); an unparsable line on text."""
    normalise = _normaliser()
    outcome = normalise.normalise_bytes(line.rstrip(b"\r\n"), 0, "backfill")
    if outcome.row is None:
        return bool(pattern.search(line.decode("utf-8", "replace")))
    user, anonymous = outcome.row.get("user_id"), outcome.row.get("anonymous_id")
    return (user in ids.user_ids or anonymous in ids.device_ids
            or (user is None and anonymous in ids.anonymous_ids))


def _normaliser():
    """The Lambda's rules (transform_lambda/normalise.py), imported as Lambda imports them."""
    return lambda_module("normalise")


def _error_record_matches(line: bytes, pattern: re.Pattern) -> bool:
    try:
        data = base64.b64decode(json.loads(line)["rawData"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        data = line
    return bool(pattern.search(data.decode("utf-8", "replace")))


def _rewrite_lines(path: Path, matches: Callable[[bytes], bool], rewrite: bool = True) -> int:
    """Rewrite `path` (plain or .gz) without the matching lines; atomically; lines removed
    (rewrite=False: the lines it would remove, nothing written)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        lines = handle.readlines()
    kept = [line for line in lines if not matches(line)]
    if len(kept) == len(lines) or not rewrite:
        return len(lines) - len(kept)
    tmp = path.with_name(path.name + ".erasure-tmp")
    with opener(tmp, "wb") as handle:
        handle.writelines(kept)
    tmp.replace(path)
    return len(lines) - len(kept)


# ---- the command -----------------------------------------------------------------------
def forget_command(args) -> int:
    """`webevents forget --user-id ID | --anonymous-id ID | --ids-file FILE | --apply-pending`."""
    try:
        subjects = _subjects_from(args)
        engine = args.engine
        if args.dry_run:
            for outcome in dry_run(engine, args.lake, subjects):
                _print_plan(outcome)
            print("dry run: nothing was deleted")
            return 0
        if subjects:
            written = _write_requests(engine, args.lake, subjects)
        if args.defer:
            print(f"filed {len(subjects)} request(s) as {', '.join(written)}; the next daily "
                  "job or `webevents forget --apply-pending` applies them")
            return 0
        outcomes = apply_pending(engine, args.lake)
    except UnreadableRequestFiles as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNREADABLE_REQUESTS
    except (ErasureError, RequestFileError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # engine and runner errors: say which, on one line first

        aws = type(error).__module__.startswith("botocore")  # no credentials, no Region, ...
        if not isinstance(error, EngineError | SqlRunError | ValueError) and not aws:
            raise
        first, _, rest = str(error).partition("\n")
        print(f"error: {first}", file=sys.stderr)
        if rest:
            print(rest, file=sys.stderr)
        return 1
    if not outcomes:
        print("no pending erasure requests")
    for outcome in outcomes:
        _print_report(outcome)
    return 0


def _subjects_from(args) -> list[tuple[str, str]]:
    subjects: list[tuple[str, str]] = []
    if args.user_id is not None:
        subjects.append(("user_id", check_identifier(args.user_id, "--user-id")))
    if args.anonymous_id is not None:
        subjects.append(("anonymous_id", check_identifier(args.anonymous_id, "--anonymous-id")))
    if args.ids_file:
        subjects += read_ids_file(args.ids_file)
    if not subjects and not args.apply_pending:
        raise ErasureError("say whom to forget: --user-id ID, --anonymous-id ID or --ids-file "
                           "FILE (or --apply-pending for the requests already filed)")
    if args.dry_run and not subjects:
        raise ErasureError("--dry-run needs --user-id, --anonymous-id or --ids-file")
    if args.defer and args.dry_run:
        raise ErasureError("--defer and --dry-run exclude each other")
    return subjects


def _write_requests(engine: str, lake, subjects: list[tuple[str, str]]) -> list[str]:
    """Write one request file per subject (the next forget run files and applies them)."""
    folder = resolve_lake(lake) if engine == "local" else (Path(lake) if lake else None)
    files = RequestFiles.for_engine(engine, folder)
    return [files.write(new_request(kind, subject_id, _utc_now()))
            for kind, subject_id in subjects]


def _print_plan(outcome: Outcome) -> None:
    request = outcome.request
    print(f"would forget {request.subject_kind} {request.subject_id}: "
          f"{len(outcome.identifiers.all())} id(s) "
          f"({len(outcome.identifiers.anonymous_ids)} stitched anonymous id(s))")
    # the archive's owner matches lines on these (docs/operations.md, "Erasure requests")
    print(f"  ids: {', '.join(outcome.identifiers.all())}")
    for table, count in sorted(outcome.rows.items()):
        print(f"  {table:<34} {count:>10,} rows")
    days = ", ".join(d.isoformat() for d in outcome.dates) or "none"
    print(f"  daily marts re-derived for: {days}")
    _print_archive_files(outcome)


def _print_report(outcome: Outcome) -> None:
    print(f"request {outcome.request.request_id} ({outcome.request.subject_kind}, "
          f"hash {outcome.subject_hash[:16]}...) applied at {_ts(outcome.applied_at)}")
    for table, count in sorted(outcome.rows.items()):
        print(f"  removed {table:<34} {count:>10,}")
    for store, day in outcome.last_copy_gone.items():
        print(f"  last copy gone by {day}: {store}")
    _print_archive_files(outcome)


def _print_archive_files(outcome: Outcome) -> None:
    """The archive objects holding the person's lines: on AWS the archive's owner rewrites
    them (docs/operations.md, "Erasure requests"); locally they are rewritten already."""
    print(f"  archive files that held the person's lines: {len(outcome.archive_files)}")
    for name in outcome.archive_files:
        print(f"    {name}")


# ---- small helpers ---------------------------------------------------------------------
def _utc_now() -> dt.datetime:
    return clock.now().replace(tzinfo=None)


def _quoted(text: str) -> str:
    """Text for a '...' literal of a statement (quotes doubled: S3 keys may hold one)."""
    return text.replace("'", "''")


def _ts(value: dt.datetime) -> str:
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _as_datetime(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return dt.datetime.fromisoformat(str(value).replace(" UTC", ""))
