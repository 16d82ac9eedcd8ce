"""`webevents smoke --stack NAME`: prove every hop of a deployed stack with tagged events.

What it does, in order (docs/operations.md, "Smoke test after a deploy"):
1. reads the stack's outputs and buffer parameters (CloudFormation DescribeStacks);
2. sends uniquely tagged synthetic events through the real entry points: the Kinesis stream
   (IngestionMode=KinesisStream) or Firehose Direct PUT, plus one malformed event; and one
   event through the browser endpoint when the stack has one (HTTP POST, JSON body);
3. waits, with a progress bar, until the valid events are rows of raw.web_events (Athena)
   and the malformed one is under errors/processing-failed/ in the error bucket, bounded by
   the stack's buffer intervals plus a margin;
4. with --enrich, runs sql/enrich for today only (the daily job's own idempotent MERGE,
   limited to today's partition) and checks the tagged events reached analytics.web_events;
5. with --scratch (or --dbt-model MODEL), runs that MERGE and one dbt model in a scratch
   Glue database of their own instead, then drops it (webevents/aws/smoke_scratch.py).

It creates only tagged events and deletes nothing but the scratch database it created
(--scratch). The events stay where the pipeline puts
them, tagged `anonymous_id = 'smoke-<UTC time>-<hex>'` (and the malformed one in the error
output, which expires after 90 days), so they can be found and filtered out.
Each hop prints PASS/FAIL with its time; a failure is one line naming the hop and the
likely cause, as the runbook's alarm entries give it.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import gzip
import json
import secrets
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import boto3
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from webevents.aws.smoke_scratch import (
    ENRICH_SQL,
    ScratchError,
    ScratchScope,
    check_dbt_model,
    enrich_params,
    error_text,
)
from webevents.aws.stack import Stack, StackError, describe
from webevents.engines.athena import AthenaEngine
from webevents.jobs.sql import render

# Template defaults, used when the stack does not report a parameter (older template).
DEFAULT_PROCESSOR_INTERVAL = 60
DEFAULT_DELIVERY_INTERVAL = 300
# The error output's own buffer (template: S3Configuration.BufferingHints.IntervalInSeconds).
ERROR_OUTPUT_INTERVAL = 300
RUNBOOK = "docs/operations.md"
ENRICH_HOP = "enrich analytics.web_events"

# The likely cause of each failure, as docs/operations.md gives it.
CAUSES = {
    "stack": f"the stack is not deployed in this Region ({RUNBOOK}, First deploy)",
    "send": "the caller may not put records, the stream is throttled or its KMS key is "
    f"refused ({RUNBOOK}, DataFreshness / first deploy)",
    "http": "WAF block (403), throttling (429) or validation (400/415); 5XX is the put into "
    f"the stream failing ({RUNBOOK}, HttpIngestServerErrors)",
    "athena": "the s3tablescatalog integration is missing, or in Lake Formation mode without "
    f"grants, or the caller lacks PipelineTablesPolicy ({RUNBOOK}, First deploy step 1)",
    "land": "Firehose has not committed them: delivery is stalled or the commit is rejected; "
    f"read the DeliveryLogGroup ({RUNBOOK}, IcebergDeliveryFailures / DataFreshness)",
    "iceberg_failed": "Firehose's Iceberg commit rejected them: schema mismatch, permissions or "
    f"a missing S3 Tables integration ({RUNBOOK}, IcebergDeliveryFailures)",
    "errors": "the transform Lambda did not mark it ProcessingFailed, or it failed itself "
    f"({RUNBOOK}, TransformErrors / ProcessingFailedRecords)",
    "enrich": f"the enrichment MERGE failed on Athena ({RUNBOOK}, PipelineBuildFailed)",
    "scratch_db": "the caller lacks glue:CreateDatabase on <MartsDatabaseName>_smoke_* (attach "
    "SmokeScratchPolicy) or the stack predates the MartsDatabaseName output "
    f"({RUNBOOK}, smoke test, Permissions)",
    "scratch_table": "the caller lacks glue:CreateTable or s3:PutObject on the marts bucket's "
    f"smoke/ prefix, or kms:GenerateDataKey on the DataKey ({RUNBOOK}, smoke test, IAM)",
    "scratch_merge": "the enrichment MERGE failed on Athena: the caller cannot read raw/"
    "analytics (PipelineTablesPolicy) or write the scratch table, or the SQL no longer "
    f"matches the table ({RUNBOOK}, PipelineBuildFailed)",
    "dbt": "dbt build failed: read its log above; a profile error is a missing environment "
    f"value, a model error is the same as the daily job's ({RUNBOOK}, PipelineBuildFailed)",
    "dbt_model": "only a model whose refs are all staging (ephemeral) builds alone in the "
    f"scratch database ({RUNBOOK}, smoke test)",
    "cleanup": "the caller lacks glue:DeleteTable/DeleteDatabase (SmokeScratchPolicy) or "
    "s3:DeleteObject on the marts bucket's smoke/ prefix; drop what is named by hand "
    f"({RUNBOOK}, smoke test)",
}


class Clock:
    """Wall time in UTC and sleeping; tests pass one that advances when it sleeps."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class HopResult:
    """PASS/FAIL of one hop, with the time it took and a one-line detail."""

    hop: str
    ok: bool
    seconds: float
    detail: str

    def line(self) -> str:
        verdict = "PASS" if self.ok else "FAIL"
        return f"{verdict}  {self.hop:<26} {self.seconds:7.1f} s  {self.detail}"


@dataclass
class SmokeClients:
    """The AWS clients the smoke test uses (boto3 in real life, stubbed in tests)."""

    cloudformation: Any
    firehose: Any
    kinesis: Any
    s3: Any
    athena: Any
    post: Callable[[str, bytes], tuple[int, str]] = field(default=None)  # type: ignore[assignment]
    glue: Any = None  # only the scratch scope (--scratch / --dbt-model) calls Glue

    @classmethod
    def for_region(cls, region: str | None) -> SmokeClients:
        session = boto3.session.Session(region_name=region)
        names = ("cloudformation", "firehose", "kinesis", "s3", "athena")
        return cls(*(session.client(name) for name in names), glue=session.client("glue"))


# The endpoint's WAF blocks a POST whose Origin is not the site, and Bot Control blocks HTTP
# libraries by their User-Agent (docs/decisions.md, D-INFRA-20): the smoke test posts as the
# site's page would, with the stack's allowed origin and a browser's User-Agent.
BROWSER_USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/131.0 Safari/537.36 webevents-smoke")


def http_post(url: str, body: bytes, timeout: float = 10.0,
              origin: str | None = None) -> tuple[int, str]:
    """POST a JSON body as the site's page would; (status, first 200 characters of the answer)."""
    headers = {"Content-Type": "application/json", "User-Agent": BROWSER_USER_AGENT}
    if origin and origin != "*":
        headers["Origin"] = origin
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read(200).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read(200).decode("utf-8", "replace")


def _random_suffix() -> str:
    return secrets.token_hex(3)


# --- the events ---------------------------------------------------------------------------


def run_tag(now: dt.datetime, suffix: str) -> str:
    """The run's tag: anonymous_id of every event it sends (letters, digits and '-')."""
    return f"smoke-{now:%Y%m%dt%H%M%Sz}-{suffix}".lower()


def valid_event(tag: str, entry: str, number: int, now: dt.datetime) -> bytes:
    """One legacy-shape track event; messageId becomes its event_id."""
    event = {
        "type": "track",
        "event": "Smoke Test",
        "messageId": f"{tag}-{entry}-{number}",
        "anonymousId": tag,
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "properties": {"smokeRun": tag, "entryPoint": entry},
    }
    return json.dumps(event, separators=(",", ":")).encode()


def malformed_event(tag: str) -> bytes:
    """Cut-off JSON: the Lambda fails it (invalid_json) into errors/processing-failed/."""
    return f'{{"type":"track","anonymousId":"{tag}","event":"Smoke Malformed",'.encode()


def event_id(event: bytes) -> str:
    return json.loads(event)["messageId"]


# --- the hops -----------------------------------------------------------------------------


@dataclass
class SmokeRun:
    """One smoke test against one stack."""

    stack_name: str
    clients: SmokeClients
    clock: Clock = field(default_factory=Clock)
    margin_seconds: float = 300.0
    poll_seconds: float = 15.0
    enrich: bool = False
    scratch: bool = False
    dbt_model: str | None = None
    dbt_runner: Any = None  # (command, env, cwd) -> (exit code, last line); tests pass a fake
    environ: Any = None  # the dbt subprocess's base environment (os.environ by default)
    suffix: Callable[[], str] = field(default_factory=lambda: _random_suffix)
    console: Any = None
    results: list[HopResult] = field(default_factory=list)

    def run(self) -> list[HopResult]:
        started = self.clock.now()
        if self.dbt_model:
            try:  # refused before anything is sent: a typo costs nothing
                check_dbt_model(self.dbt_model)
            except ScratchError as error:
                self._fail(f"dbt {self.dbt_model}", started, str(error), "dbt_model")
                return self.results
        try:
            stack = describe(self.clients.cloudformation, self.stack_name)
            for key in (
                "DeliveryStreamName",
                "S3TablesCatalog",
                "AthenaWorkGroupName",
                "AthenaOutputLocation",
                "DeliveryErrorBucketName",
            ):
                stack.output(key)
        except StackError as error:
            self._fail("stack", started, str(error), "stack")
            return self.results
        self._pass("stack", started, f"{stack.name}: outputs read")
        self.tag = run_tag(started, self.suffix())
        expected = self._send(stack)
        if not expected:
            return self.results
        self._wait(stack, expected)
        if self.enrich and all(r.ok for r in self.results):
            self._enrich(stack, expected)
        if (self.scratch or self.dbt_model) and all(r.ok for r in self.results):
            ScratchScope(self, stack, self._sent_day).run(expected)
        return self.results

    # sending ------------------------------------------------------------------------------

    def _send(self, stack: Stack) -> list[str]:
        now = self.clock.now()
        self._sent_day = now.date()  # the tagged events' event_date
        entry = "kinesis" if "IngestStreamName" in stack.outputs else "firehose"
        events = [valid_event(self.tag, entry, n, now) for n in (1, 2)]
        batch = events + [malformed_event(self.tag)]
        started = self.clock.now()
        try:
            # Both calls can succeed while refusing single records: the refused ones carry an
            # ErrorCode (Firehose PutRecordBatch "FailedPutCount ... resend":
            # https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html;
            # https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html).
            if entry == "kinesis":
                response = self.clients.kinesis.put_records(
                    StreamName=stack.output("IngestStreamName"),
                    Records=[{"Data": data, "PartitionKey": self.tag} for data in batch],
                )
                failed = [r for r in response["Records"] if r.get("ErrorCode")]
            else:
                response = self.clients.firehose.put_record_batch(
                    DeliveryStreamName=stack.output("DeliveryStreamName"),
                    Records=[{"Data": data} for data in batch],
                )
                failed = [r for r in response["RequestResponses"] if r.get("ErrorCode")]
        except Exception as error:  # botocore ClientError / EndpointConnectionError
            self._fail(f"send ({entry})", started, error_text(error), "send")
            return []
        if failed:
            first = failed[0]
            self._fail(
                f"send ({entry})",
                started,
                f"{len(failed)} of {len(batch)} records refused ({first['ErrorCode']}: "
                f"{first.get('ErrorMessage', '')})",
                "send",
            )
            return []
        sent = f"{len(events)} tagged events + 1 malformed, tag {self.tag}"
        self._pass(f"send ({entry})", started, sent)
        expected = [event_id(e) for e in events]
        url = stack.outputs.get("HttpIngestUrl")
        if url:
            http_event = valid_event(self.tag, "http", 1, self.clock.now())
            started = self.clock.now()
            post = self.clients.post or functools.partial(
                http_post, origin=stack.parameters.get("HttpIngestAllowedOrigin"))
            try:
                status, answer = post(url, http_event)
            except OSError as error:
                status, answer = 0, str(error)
            if status != 200:
                answered = f"POST {url} answered {status} {answer.strip()[:80]!r}"
                self._fail("send (http)", started, answered, "http")
                return []
            self._pass("send (http)", started, f"POST {url} answered 200")
            expected.append(event_id(http_event))
        return expected

    # waiting ------------------------------------------------------------------------------

    def _wait(self, stack: Stack, expected: list[str]) -> None:
        parameters = stack.parameters
        processor = _number(
            parameters.get("ProcessorBufferIntervalSeconds"), DEFAULT_PROCESSOR_INTERVAL
        )
        delivery = _number(
            parameters.get("DeliveryBufferIntervalSeconds"), DEFAULT_DELIVERY_INTERVAL
        )
        land_bound = processor + delivery + self.margin_seconds
        error_bound = processor + ERROR_OUTPUT_INTERVAL + self.margin_seconds
        engine = self._engine(stack, timeout=land_bound)
        bucket = stack.output("DeliveryErrorBucketName")
        started = self.clock.now()
        landed: set[str] = set()
        land_done = error_found = False
        land_error: str | None = None
        seen: set[str] = set()
        with _WaitProgress(self.console, max(land_bound, error_bound)) as advance:
            while True:
                waited = (self.clock.now() - started).total_seconds()
                if not land_done:
                    try:
                        landed = self._landed(engine, expected, started)
                    except Exception as error:  # AthenaQueryError, ClientError
                        land_error, land_done = error_text(error), True
                        failed = f"Athena query failed: {land_error}"
                        self._fail("raw.web_events", started, failed, "athena")
                    else:
                        if landed >= set(expected):
                            land_done = True
                            rows = f"{len(expected)} of {len(expected)} tagged events are rows"
                            self._pass("raw.web_events", started, rows)
                if not error_found:
                    error_found = self._in_error_output(bucket, "processing-failed", started, seen)
                    if error_found:
                        found = "the malformed event is under errors/processing-failed/"
                        self._pass("error output", started, found)
                advance(waited)
                if land_done and error_found:
                    return
                land_over = land_done or waited >= land_bound
                error_over = error_found or waited >= error_bound
                if land_over and error_over:
                    break
                self.clock.sleep(self.poll_seconds)
        waited = (self.clock.now() - started).total_seconds()
        if not land_done:
            missing = len(set(expected) - landed)
            cause = "land"
            if self._in_error_output(bucket, "iceberg-failed", started, set()):
                cause = "iceberg_failed"
            late = (
                f"{missing} of {len(expected)} tagged events not in raw.web_events after "
                f"{waited:.0f} s (bound {land_bound:.0f} s)"
            )
            self._fail("raw.web_events", started, late, cause)
        if not error_found:
            late = (
                f"the malformed event is not under errors/processing-failed/ after "
                f"{waited:.0f} s (bound {error_bound:.0f} s)"
            )
            self._fail("error output", started, late, "errors")

    def _engine(self, stack: Stack, timeout: float, commit_retries: int = 1):
        return AthenaEngine(
            client=self.clients.athena,
            sleep=self.clock.sleep,
            poll_first_delay=1.0,
            poll_max_delay=5.0,
            timeout_seconds=timeout,
            # The MERGE may meet a Firehose commit (Iceberg conflict): retried like the daily job.
            commit_retry_attempts=commit_retries,
            workgroup=stack.output("AthenaWorkGroupName"),
            output_location=stack.output("AthenaOutputLocation"),
            s3_tables_catalog=stack.output("S3TablesCatalog"),
            database="raw",
        )

    def _landed(self, engine, expected: list[str], started: dt.datetime) -> set[str]:
        _, rows = engine.query(landed_query(self.tag, started))
        return {row[0] for row in rows} & set(expected)

    def _in_error_output(
        self, bucket: str, kind: str, started: dt.datetime, seen: set[str]
    ) -> bool:
        """Is an error record carrying this run's tag under errors/<kind>/ (written since start)?"""
        for prefix in error_prefixes(kind, started, self.clock.now()):
            listing = self.clients.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
            for item in listing.get("Contents", []):
                if item["Key"] in seen or item["LastModified"] < started - dt.timedelta(minutes=1):
                    continue
                seen.add(item["Key"])
                body = self.clients.s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                if any(self.tag.encode() in raw for raw in error_records(body)):
                    return True
        return False

    # enrich -------------------------------------------------------------------------------

    def _enrich(self, stack: Stack, expected: list[str]) -> None:
        started = self.clock.now()
        engine = self._engine(stack, timeout=3600, commit_retries=6)
        try:
            engine.execute(render(ENRICH_SQL, enrich_params(started.date())))
            _, rows = engine.query(enriched_query(self.tag, started))
        except Exception as error:
            self._fail(ENRICH_HOP, started, error_text(error), "enrich")
            return
        found = {row[0] for row in rows} & set(expected)
        if found == set(expected):
            merged = f"{len(found)} tagged events merged (today's partition only)"
            self._pass(ENRICH_HOP, started, merged)
        else:
            missing = f"{len(expected) - len(found)} of {len(expected)} tagged events missing"
            self._fail(ENRICH_HOP, started, f"{missing} after the MERGE", "enrich")

    # reporting ----------------------------------------------------------------------------

    def _record(self, hop: str, ok: bool, started: dt.datetime, detail: str) -> None:
        seconds = (self.clock.now() - started).total_seconds()
        result = HopResult(hop, ok, seconds, detail if ok else f"hop '{hop}': {detail}")
        self.results.append(result)

    def _pass(self, hop: str, started: dt.datetime, detail: str) -> None:
        self._record(hop, True, started, detail)

    def _fail(self, hop: str, started: dt.datetime, detail: str, cause: str) -> None:
        self._record(hop, False, started, f"{detail} — likely cause: {CAUSES[cause]}")


def landed_query(tag: str, started: dt.datetime) -> str:
    """The tagged rows of raw.web_events; the timestamp bound prunes to today's partitions."""
    since = (started - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    return (
        "select event_id from raw.web_events\n"
        f"where anonymous_id = '{tag}'\n"
        f"    and event_timestamp >= timestamp '{since}'"
    )


def enriched_query(tag: str, started: dt.datetime) -> str:
    return (
        "select event_id from analytics.web_events\n"
        f"where anonymous_id = '{tag}'\n"
        f"    and event_date = date '{started:%Y-%m-%d}'"
    )


def error_prefixes(kind: str, started: dt.datetime, now: dt.datetime) -> list[str]:
    """errors/<kind>/dt=YYYY-MM-DD/ for each UTC day from start to now (the template's prefix)."""
    days = sorted({started.date(), now.date()})
    return [f"errors/{kind}/dt={day:%Y-%m-%d}/" for day in days]


def error_records(body: bytes) -> Iterable[bytes]:
    """The original bytes (rawData) of each record in one Firehose error-output object.

    Records the Lambda marked ProcessingFailed go to the processing-failed prefix as JSON
    lines with the original record base64-encoded in rawData (Firehose guide, "Handle
    failure in data transformation":
    https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html);
    the template's S3Configuration compresses them with GZIP.
    """
    text = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
    for line in text.splitlines():
        if line.strip():
            yield base64.b64decode(json.loads(line)["rawData"])


def _number(value: str | None, default: float) -> float:
    try:
        return float(value) if value not in (None, "") else float(default)
    except ValueError:
        return float(default)


class _WaitProgress:
    """A rich progress bar over the wait bound (quiet when the console is not a terminal)."""

    def __init__(self, console: Any, total: float):
        self.progress = Progress(
            TextColumn("waiting for the tagged events"),
            BarColumn(),
            TimeElapsedColumn(),
            TextColumn("of {task.total:.0f} s"),
            console=console or Console(stderr=True),
            transient=True,
        )
        self.task = self.progress.add_task("wait", total=total)

    def __enter__(self) -> Callable[[float], None]:
        self.progress.start()
        return lambda waited: self.progress.update(self.task, completed=waited)

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def smoke_command(args: Any) -> int:
    """Run the smoke test; exit 0 only when every hop passed."""
    run = SmokeRun(
        stack_name=args.stack,
        clients=SmokeClients.for_region(args.region),
        margin_seconds=args.margin,
        enrich=args.enrich,
        scratch=getattr(args, "scratch", False),
        dbt_model=getattr(args, "dbt_model", None),
    )
    results = run.run()
    for result in results:
        print(result.line())
    failed = [r for r in results if not r.ok]
    tag = getattr(run, "tag", None)
    if tag:
        print(f"tagged rows stay in the tables: anonymous_id = '{tag}' ({RUNBOOK}, smoke test)")
    if failed:
        print(f"smoke: {len(failed)} hop(s) failed", file=sys.stderr)
        return 1
    return 0
