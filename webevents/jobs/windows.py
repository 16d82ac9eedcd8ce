"""Split a long run-date window into statements that each write under 100 partitions.

Athena writes at most 100 partitions per INSERT / MERGE / CTAS, Iceberg tables too
(HIVE_TOO_MANY_OPEN_PARTITIONS; https://docs.aws.amazon.com/athena/latest/ug/ctas-insert-into.html).
A sql/ write over `[run_date - lookback_days, run_date]` into analytics.web_events touches
one partition per (event_date, space_type). sql/enrich bounds space_type to
KNOWN_SPACE_TYPES plus 'other' and null (docs/decisions.md), so a day is at most
PARTITIONS_PER_DAY partitions, and a window of MAX_WINDOW_DAYS days stays under the limit.
A longer window (a catch-up after missed runs) runs as consecutive windows, oldest first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

ATHENA_MAX_PARTITIONS_PER_WRITE = 100
# The space types the viewer knows; anything else the client sends is 'other' in analytics.
KNOWN_SPACE_TYPES = ("amenity", "apartment", "commercial", "condo", "single_family", "townhouse")
PARTITIONS_PER_DAY = len(KNOWN_SPACE_TYPES) + 2  # + 'other' + null
MAX_WINDOW_DAYS = ATHENA_MAX_PARTITIONS_PER_WRITE // PARTITIONS_PER_DAY


def window_chunks(
    params: Mapping[str, Any], max_days: int = MAX_WINDOW_DAYS
) -> list[dict[str, Any]]:
    """`params` once, or once per window of at most max_days days ending on run_date.

    Each chunk keeps every other parameter and gets its own run_date / lookback_days; the
    chunks cover exactly the days of the original window, oldest first, so a MERGE that is
    idempotent per day gives the same table as one long statement would.
    """
    if "run_date" not in params or "lookback_days" not in params:
        return [dict(params)]
    run_date = dt.date.fromisoformat(str(params["run_date"]))
    try:
        lookback_days = int(str(params["lookback_days"]))
    except ValueError:
        raise ValueError(
            f"parameter lookback_days={params['lookback_days']!r} is not a whole number of days"
        ) from None
    if lookback_days < 0:
        raise ValueError(f"parameter lookback_days={lookback_days} is negative")
    first = run_date - dt.timedelta(days=lookback_days)
    chunks = []
    start = first
    while start <= run_date:
        end = min(start + dt.timedelta(days=max_days - 1), run_date)
        chunks.append(
            {**params, "run_date": end.isoformat(), "lookback_days": str((end - start).days)}
        )
        start = end + dt.timedelta(days=1)
    return chunks
