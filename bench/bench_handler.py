"""Transform Lambda throughput on a realistic 2 MB Firehose batch, against a JSON round-trip floor.

Run: .venv/bin/python -m bench.bench_handler

Figures (best of several rounds, one core):
- floor: base64-decode + orjson parse + orjson serialise + base64-encode of the same records;
- the real handler (app.lambda_handler, with its logs and EMF metrics) and its pure core
  (firehose_records.transform_batch), in records/s and as a ratio to the floor;
- the same contract with stdlib json instead of orjson, for comparison;
- the same loop written with Powertools' Firehose data classes, to price them;
- cold start: importing the handler module in a fresh interpreter;
- a lower bound: the C work the contract itself needs (parse each record, write its
  properties column and its real landing row, which is longer than the source, base64
  both ways, one answer dict), with no rule applied; what is left between it and the
  target is all the Python the rules may cost.
"""

from __future__ import annotations

import binascii
import contextlib
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from webevents import LAMBDA_DIR, PROJECT_ROOT

if str(LAMBDA_DIR) not in sys.path:
    sys.path.insert(0, str(LAMBDA_DIR))

import firehose_records  # noqa: E402
import orjson  # noqa: E402
from firehose_records import Codec, transform_batch  # noqa: E402

# A realistic batch whose every record lands: with the 39-column lossless rows the
# realistic stream grows 2.32x, so a 3 MB batch (Firehose's largest processor buffer) would
# answer half its records response_too_large and time the cheap failure path instead
# (docs/lambda.md, "The 6 MB response limit"; the largest that fits is ~2.47 MB).
BATCH_BYTES = 2 * 1024 * 1024
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "10"))
TARGET_RATIO = 1.5
COMMAND = ".venv/bin/python -m bench.bench_handler"
LOWER_BOUND = (
    "lower bound: the contract's C work (parse, write properties and the landing row, "
    "b64 both ways, answer dicts)"
)


def sample_lines(total_bytes: int = BATCH_BYTES) -> list[bytes]:
    """Lines of the project's generated stream (both shapes, bots, malformed) up to total_bytes."""
    from webevents.dev.generate import generate_sample

    with tempfile.TemporaryDirectory() as folder:
        generate_sample(folder, events=12_000, days=2, seed=11)
        lines: list[bytes] = []
        size = 0
        for path in sorted(Path(folder, "stream").glob("*.jsonl")):
            for line in path.read_bytes().splitlines():
                if size + len(line) > total_bytes:
                    return lines
                lines.append(line)
                size += len(line)
    return lines


def firehose_event(lines: list[bytes]) -> dict[str, Any]:
    """A Direct PUT transformation event carrying the lines, as Firehose builds it."""
    return {
        "invocationId": "bench-invocation",
        "deliveryStreamArn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/bench",
        "region": "eu-west-1",
        "records": [
            {
                "recordId": f"49546986683135544286507457936321625675700192471156785154{index:06d}",
                "approximateArrivalTimestamp": 1_764_000_000_000 + index,
                "data": binascii.b2a_base64(line, newline=False).decode("ascii"),
            }
            for index, line in enumerate(lines)
        ],
    }


def floor(records: list[dict[str, Any]]) -> list[str]:
    """The least any transform must do: decode, parse, serialise, encode."""
    a2b, b2a, loads, dumps = binascii.a2b_base64, binascii.b2a_base64, orjson.loads, orjson.dumps
    out = []
    for record in records:
        try:
            value = loads(a2b(record["data"]))
        except orjson.JSONDecodeError:
            value = None
        out.append(b2a(dumps(value), newline=False).decode("ascii"))
    return out


def landing_rows(records: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """The handler's landing row for each record (None where it does not answer Ok)."""
    answers = transform_batch(records).response["records"]
    return [
        orjson.loads(binascii.a2b_base64(answer["data"])) if answer["result"] == "Ok" else None
        for answer in answers
    ]


def contract_c_work(records: list[dict[str, Any]], rows: list[dict[str, Any] | None]) -> list:
    """The least any transform of this contract does per record, with the rows given:
    parse the record, write its properties column (a JSON string) and its row, base64
    both ways, one answer dict."""
    a2b, b2a, loads, dumps = binascii.a2b_base64, binascii.b2a_base64, orjson.loads, orjson.dumps
    properties = [loads(row["properties"]) if row else None for row in rows]
    answers = []
    for record, row, kept in zip(records, rows, properties, strict=True):
        try:  # noqa: SIM105 - contextlib.suppress would time a context manager per record
            loads(a2b(record["data"]))
        except (orjson.JSONDecodeError, binascii.Error, ValueError):
            pass
        if row is None:
            data = record["data"]
        else:
            dumps(kept, option=orjson.OPT_SORT_KEYS).decode()
            data = b2a(dumps(row), newline=False).decode("ascii")
        answers.append({"recordId": record["recordId"], "result": "Ok", "data": data})
    return answers


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("number overflows a double")
    return number


_stdlib_decoder = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
STDLIB_CODEC = Codec(
    loads=lambda data: _stdlib_decoder.decode(data.decode("utf-8")),
    dump_row=lambda row: json.dumps(row, separators=(",", ":"), ensure_ascii=False).encode(),
    dump_properties=lambda value: json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, sort_keys=True
    ),
)


def powertools_dataclasses(event: dict[str, Any]) -> dict[str, Any]:
    """The same contract written with Powertools' Firehose event/response data classes."""
    from aws_lambda_powertools.utilities.data_classes import (
        KinesisFirehoseDataTransformationResponse,
        KinesisFirehoseEvent,
    )
    from aws_lambda_powertools.utilities.data_classes.kinesis_firehose_event import (
        KinesisFirehoseDataTransformationRecord,
    )
    from normalise import OK, decode_record, normalise

    metadata = firehose_records.routing_metadata("raw", "web_events")
    response = KinesisFirehoseDataTransformationResponse()
    for record in KinesisFirehoseEvent(event).records:
        try:
            raw = record.data_as_bytes
        except (binascii.Error, ValueError):
            response.add_record(
                KinesisFirehoseDataTransformationRecord(
                    record_id=record.record_id, result="ProcessingFailed", data=record.data
                )
            )
            continue
        parsed, stripped, result, _ = decode_record(raw)
        if result is None:
            result, row, _, _ = normalise(
                parsed, stripped, record.approximate_arrival_timestamp * 1000
            )
            if result is OK:
                response.add_record(
                    KinesisFirehoseDataTransformationRecord(
                        record_id=record.record_id,
                        data=binascii.b2a_base64(orjson.dumps(row), newline=False).decode(),
                    )
                )
                continue
        response.add_record(
            KinesisFirehoseDataTransformationRecord(
                record_id=record.record_id, result=result, data=record.data
            )
        )
    answer = response.asdict()
    for item in answer["records"]:
        if item["result"] == "Ok":
            item["metadata"] = metadata
    return answer


class _Context:
    function_name = "bench"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bench"
    aws_request_id = "bench-request"


def best_seconds(variants: dict[str, Any], rounds: int = ROUNDS) -> dict[str, float]:
    """Fastest CPU time of each variant over `rounds`, interleaved so load hits all alike.

    CPU time of this process, not wall time: the team shares two cores, and another job's
    burst should not count against one variant.
    """
    best = dict.fromkeys(variants, math.inf)
    for run in variants.values():
        run()  # warm-up
    for _ in range(rounds):
        for name, run in variants.items():
            started = time.process_time()
            run()
            best[name] = min(best[name], time.process_time() - started)
    return best


def cold_start_ms(rounds: int = 5) -> float:
    """Median time to import the handler module in a fresh interpreter (-X importtime)."""

    def one() -> float:
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import app"],
            cwd=LAMBDA_DIR,
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        # last line: "import time: self | cumulative | app", in microseconds
        cumulative = done.stderr.strip().splitlines()[-1].split("|")[1]
        return int(cumulative) / 1000

    return sorted(one() for _ in range(rounds))[rounds // 2]


# Records chosen to maximise response bytes per source byte (docs/lambda.md, "6 MB").
GROWTH_CASES: dict[str, bytes] = {
    "smallest Ok record (33 B)": b'{"type":"","sentAt":946684800000}',
    "bare page view with ids (~130 B)": (
        b'{"type":"page","anonymousId":"a8ee8602-193d-439a-c2a6-9c4bff233b2a",'
        b'"sessionId":"s-d6db813eef94","timestamp":"2026-11-22T23:17:26.867Z"}'
    ),
    "quotes escaped twice in properties": b'{"type":"","sentAt":946684800000,"properties":{"a":['
    + b'"",' * 300
    + b'""]}}',
    "numbers written out in properties (1e15 -> 1000000000000000.0)": (
        b'{"type":"","sentAt":946684800000,"properties":{"a":[' + b"1e15," * 300 + b"1e15]}}"
    ),
    "type copied to event_type + event_name, lower() grows": (
        '{"sentAt":946684800000,"type":"' + "\u0130" * 300 + '"}'
    ).encode(),
    # Lossless landing: a URL lands three times (page_url, utm_source, and context.page, kept whole
    # because of its title), its quotes escaped twice inside the context JSON.
    "URL in page_url + utm_source + context.page (quotes)": (
        b'{"type":"","sentAt":946684800000,"context":{"page":{"title":"","url":"/?utm_source='
        + b'\\"' * 300
        + b'"}}}'
    ),
}


def response_growth(data: bytes, record_id_length: int = 56) -> float:
    """Response bytes (as the Lambda runtime serialises them) per source data byte."""
    count = max(1, 100_000 // len(data))
    records = [
        {
            "recordId": f"{index:0{record_id_length}d}",
            "approximateArrivalTimestamp": 1_764_000_000_000,
            "data": binascii.b2a_base64(data, newline=False).decode("ascii"),
        }
        for index in range(count)
    ]
    response = transform_batch(records).response
    assert all(answer["result"] == "Ok" for answer in response["records"])
    return len(json.dumps(response)) / (len(data) * count)


def growth_rows(lines: list[bytes]) -> list[dict[str, Any]]:
    """Worst-case and realistic output growth, and the largest buffer each allows."""
    from firehose_records import RESPONSE_BUDGET_BYTES

    growth = {name: response_growth(data) for name, data in GROWTH_CASES.items()}
    response = transform_batch(firehose_event(lines)["records"]).response
    realistic = len(json.dumps(response)) / sum(len(line) for line in lines)
    growth["realistic 2 MB batch (generated stream)"] = realistic
    rows = []
    for name, ratio in growth.items():
        largest_mb = RESPONSE_BUDGET_BYTES / ratio / 1024 / 1024
        rows.append(_row(f"response growth: {name}", round(ratio, 2), "x source bytes"))
        rows.append(
            _row(f"largest buffer, no response_too_large: {name}", round(largest_mb, 3), "MB")
        )
    return rows


def _row(figure: str, value: float, unit: str, target: str = "") -> dict[str, Any]:
    return {
        "benchmark": "handler",
        "figure": figure,
        "value": value,
        "unit": unit,
        "target": target,
        "command": COMMAND,
    }


def main() -> list[dict[str, Any]]:
    lines = sample_lines()
    event = firehose_event(lines)
    records = event["records"]
    count = len(records)
    batch_mb = sum(len(line) for line in lines) / 1024 / 1024

    import app

    # Logs and EMF go to a buffer instead of the terminal; they are still formatted and written.
    app.logger.registered_handler.setStream(io.StringIO())

    def handler() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            app.lambda_handler(event, _Context())

    rows_out = landing_rows(records)
    seconds = best_seconds(
        {
            "floor (b64 + orjson parse/serialise + b64)": lambda: floor(records),
            LOWER_BOUND: lambda: contract_c_work(records, rows_out),
            "app.lambda_handler (logs + EMF)": handler,
            "transform_batch (pure core, orjson)": lambda: transform_batch(records),
            "transform_batch with stdlib json": lambda: transform_batch(
                records, codec=STDLIB_CODEC
            ),
            "Powertools Firehose data classes + same rules": lambda: powertools_dataclasses(event),
        }
    )
    floor_seconds = seconds["floor (b64 + orjson parse/serialise + b64)"]
    source = f"{count} records, {batch_mb:.2f} MB"
    rows: list[dict[str, Any]] = []
    for name, elapsed in seconds.items():
        rows.append(_row(f"{name}: throughput ({source})", round(count / elapsed), "records/s"))
        if name == LOWER_BOUND:
            rows.append(_row(f"{name} / floor", round(elapsed / floor_seconds, 2), "x floor"))
        elif not name.startswith("floor"):
            target = f"<= {TARGET_RATIO}" if name.startswith("app.lambda_handler") else ""
            rows.append(
                _row(f"{name}: time / floor", round(elapsed / floor_seconds, 2), "x floor", target)
            )
    rows.append(
        _row(
            "cold start: import app (Powertools Logger + Metrics, orjson)",
            round(cold_start_ms(), 1),
            "ms",
        )
    )
    rows.extend(growth_rows(lines))
    for row in rows:
        print(f"{row['figure']:<95} {row['value']:>10} {row['unit']:<9} {row['target']}")
    return rows


if __name__ == "__main__":
    os.chdir(PROJECT_ROOT)
    main()
