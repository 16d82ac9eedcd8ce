"""Cost per million events, all-in, with the browser endpoint: a model, not a measurement.

Run: .venv/bin/python -m bench.bench_ingest_cost

Events per request is the lever: API Gateway, WAF and Bot Control bill per request, the rest
of the pipeline per byte. `events_per_request()` replays one tracker session (tracker/
webevents.js defaults: a view sample every 2 s, a batch at 50 events, 30,000 bytes or 60 s,
the rest by sendBeacon on leaving) to get a realistic batch size; `cost_per_million()` prices
each line. Prices are us-east-1 list prices from the pages named in PRICES, as written in
docs/operations.md (not re-read live: the build machine has no access to the pricing pages).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# USD. Source page for each (docs/operations.md, "Cost model per million events").
PRICES = {
    # aws.amazon.com/api-gateway/pricing: REST first 333M requests/month; HTTP API first 300M
    "rest_api_per_million_requests": 3.50,
    "http_api_per_million_requests": 1.00,
    # aws.amazon.com/waf/pricing
    "waf_per_million_requests": 0.60,
    "bot_control_common_per_million_requests": 1.00,
    "waf_extra_16kb_inspection_per_million_requests": 0.30,
    # aws.amazon.com/kinesis/data-streams/pricing, on-demand: in + out per GB, records
    # rounded up to 1 KB
    "kinesis_on_demand_in_per_gb": 0.08,
    "kinesis_on_demand_out_per_gb": 0.04,
}
# The rest of the pipeline per million events (Firehose to Iceberg, Lambda, S3 Tables storage
# for a month, compaction, requests, the daily Athena run): docs/operations.md's table.
PIPELINE_PER_MILLION = {
    "firehose_iceberg": 0.090,
    "lambda": 0.0017,
    "s3_tables_storage_month": 0.012,
    "s3_tables_compaction": 0.024,
    "s3_tables_requests": 0.010,
    "athena_daily_run": 0.015,
}
TARGET_PER_MILLION = 0.50


@dataclass(frozen=True)
class Session:
    """One tour visit as the tracker sees it."""

    seconds: int = 300           # a 5-minute tour
    view_interval: float = 2.0   # tracker viewInterval (s)
    other_events: int = 6        # page views, room entered, clicks
    event_bytes: int = 850       # one event's JSON with context (tests/e2e/test_browser_tracker)
    batch_size: int = 50         # tracker batchSize
    max_batch_bytes: int = 30_000  # tracker maxBatchBytes (under the 32 KB WAF size rule)
    flush_interval: float = 60.0   # tracker flushInterval (s)


def events_per_request(session: Session) -> float:
    """Replay a session through the tracker's batching rules: events / requests."""
    views = int(session.seconds / session.view_interval)
    total = views + session.other_events
    spacing = session.seconds / total
    requests, queued, first_queued_at = 0, 0, None
    for index in range(total):
        now = index * spacing
        if first_queued_at is not None and now - first_queued_at >= session.flush_interval:
            requests, queued, first_queued_at = requests + 1, 0, None  # timer flush
        queued += 1
        first_queued_at = now if first_queued_at is None else first_queued_at
        full = queued >= session.batch_size
        too_big = (queued + 1) * (session.event_bytes + 1) > session.max_batch_bytes
        if full or too_big:
            requests, queued, first_queued_at = requests + 1, 0, None
    requests += 1 if queued else 0  # the beacon on leaving
    return total / requests


def cost_per_million(
    events_per_req: float,
    api: str = "rest",
    ingestion: str = "KinesisStream",
    bot_control: bool = True,
    inspection_kb: int = 32,
    event_bytes: int = 850,
) -> dict[str, float]:
    """Each line of the bill per million events; 'total' is their sum."""
    requests_m = 1.0 / events_per_req  # million requests per million events
    lines = dict(PIPELINE_PER_MILLION)
    if api == "rest":
        lines["api_gateway_rest"] = PRICES["rest_api_per_million_requests"] * requests_m
        lines["waf"] = PRICES["waf_per_million_requests"] * requests_m
        if bot_control:
            bot = PRICES["bot_control_common_per_million_requests"]
            lines["waf_bot_control"] = bot * requests_m
        extra_16kb = max(0, math.ceil(inspection_kb / 16) - 1)
        lines["waf_body_inspection"] = (
            PRICES["waf_extra_16kb_inspection_per_million_requests"] * extra_16kb * requests_m
        )
    elif api == "http":
        # HTTP API bills in 512 KB units; a batch is far below one
        lines["api_gateway_http"] = PRICES["http_api_per_million_requests"] * requests_m
    else:
        raise ValueError(f"api must be 'rest' or 'http', not {api!r}")
    if ingestion == "KinesisStream":
        gb = math.ceil(event_bytes / 1024) * 1024 * 1e6 / 1e9
        lines["kinesis_on_demand"] = gb * (
            PRICES["kinesis_on_demand_in_per_gb"] + PRICES["kinesis_on_demand_out_per_gb"]
        )
    elif ingestion != "DirectPut":
        raise ValueError(f"ingestion must be KinesisStream or DirectPut, not {ingestion!r}")
    lines["total"] = sum(lines.values())
    return lines


def monthly_ceiling(requests_per_5min: int, events_per_req: float) -> float:
    """The most the endpoint and pipeline can bill in 30 days under the WAF quota (USD)."""
    requests = requests_per_5min * 12 * 24 * 30
    return cost_per_million(events_per_req)["total"] * requests * events_per_req / 1e6


def main() -> list[dict]:
    command = ".venv/bin/python -m bench.bench_ingest_cost"
    batch = events_per_request(Session())
    kinesis = cost_per_million(batch)["total"]
    direct = cost_per_million(batch, ingestion="DirectPut")["total"]
    http = cost_per_million(batch, api="http")["total"]
    # the endpoint as it was: one event per request, no Bot Control, 16 KB inspection
    one_by_one = cost_per_million(1.0, bot_control=False, inspection_kb=16)["total"]
    rows = [
        ("events per request, 5-minute tour, tracker defaults", round(batch, 1), "events", ""),
        ("all-in per million events, REST + WAF + Bot Control, Kinesis", round(kinesis, 3),
         "USD", f"<= {TARGET_PER_MILLION}"),
        ("all-in per million events, REST + WAF + Bot Control, Direct PUT", round(direct, 3),
         "USD", f"<= {TARGET_PER_MILLION}"),
        ("all-in per million events, HTTP API (no WAF), Kinesis", round(http, 3), "USD", ""),
        ("all-in per million events, one event per request (before)", round(one_by_one, 3),
         "USD", ""),
        ("monthly ceiling under the default WAF quota (15,000 / 5 min)",
         round(monthly_ceiling(15_000, batch)), "USD", ""),
    ]
    for figure, value, unit, _ in rows:
        print(f"{figure}: {value} {unit}")
    return [
        {"benchmark": "ingest_cost", "figure": figure, "value": value, "unit": unit,
         "target": target, "command": command}
        for figure, value, unit, target in rows
    ]


if __name__ == "__main__":
    main()
