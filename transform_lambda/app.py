"""Firehose transformation Lambda: web events of both shapes into raw.web_events rows.

Thin on purpose: the rules live in normalise.py and the batch loop in firehose_records.py
(both pure, both run unchanged by the local `webevents ingest`). This module adds what
needs AWS: structured logs and CloudWatch embedded metrics (EMF) through Powertools.
Logs carry recordId, result, reason and shape, never a payload (events hold personal data).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from firehose_records import (
    DEFAULT_DATABASE_NAME,
    DEFAULT_TABLE_NAME,
    BatchResult,
    routing_metadata,
    transform_batch,
)

# Environment (set by template.yaml): where Ok records go, via Firehose `otfMetadata`.
DATABASE_ENV = "LANDING_DATABASE_NAME"
TABLE_ENV = "LANDING_TABLE_NAME"

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "webevents-transform"))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "WebEvents"))


def record_metrics(batch: BatchResult) -> None:
    """Counts per result, reason and shape, as one EMF document per invocation."""
    totals: dict[str, int] = {"Records": sum(batch.counts.values())}
    for (result, reason, shape), count in batch.counts.items():
        for name in (
            f"Records{result}",
            f"Reason_{reason}" if reason else None,
            f"Shape_{shape}" if shape else None,
        ):
            if name:
                totals[name] = totals.get(name, 0) + count
    for name, count in totals.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)


@metrics.log_metrics(raise_on_empty_metrics=False)
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Answer every recordId of a Firehose transformation event with Ok/Dropped/ProcessingFailed."""
    metadata = routing_metadata(
        os.environ.get(DATABASE_ENV, DEFAULT_DATABASE_NAME),
        os.environ.get(TABLE_ENV, DEFAULT_TABLE_NAME),
    )
    # Firehose always sends {"records": [...]}; anything else is answered record by record
    # as far as it can be (firehose_records.off_spec_records), never failed as a whole.
    records = event.get("records", []) if isinstance(event, dict) else None
    batch = transform_batch(records, metadata)
    for failure in batch.failures:
        # The reason is only here and in the metrics: Firehose's error output keeps the raw
        # record but not our reason (docs/lambda.md, "Finding why a record failed").
        logger.warning(
            "record not landed",
            recordId=failure.record_id,
            result=failure.result,
            reason=failure.reason,
            shape=failure.shape,
        )
    record_metrics(batch)
    logger.info(
        "batch transformed",
        invocationId=event.get("invocationId") if isinstance(event, dict) else None,
        sourceKinesis=isinstance(event, dict) and "sourceKinesisStreamArn" in event,
        records=len(records) if isinstance(records, list) else 0,
        failed=len(batch.failures),
    )
    return batch.response
