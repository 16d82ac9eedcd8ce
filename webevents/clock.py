"""The one clock the local runner reads, so tests can set the day the code believes it is.

`WEBEVENTS_NOW` (an ISO date or date-time, UTC when it has no offset) freezes it: the
sample's dates, the backfill's load time and Firehose's arrival times then follow that
instant instead of the wall clock. It is an environment variable, not only a function
argument, so dbt and worker processes started by a command see the same day.
"""

from __future__ import annotations

import datetime as dt
import os

ENV_VAR = "WEBEVENTS_NOW"


def now() -> dt.datetime:
    """The current instant, timezone-aware UTC: $WEBEVENTS_NOW when set, else the wall clock."""
    fixed = os.environ.get(ENV_VAR)
    if not fixed:
        return dt.datetime.now(dt.UTC)
    try:
        value = dt.datetime.fromisoformat(fixed)
    except ValueError:
        raise ValueError(f"{ENV_VAR}={fixed!r} is not an ISO date or date-time") from None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def today() -> dt.date:
    """The current UTC date by `now()`."""
    return now().date()


def as_date(value: dt.date | str) -> dt.date:
    """A date cell as a date: DuckDB returns dates (or timestamps), Athena and Trino
    return 'YYYY-MM-DD' text, with a time after it when the column is a timestamp."""
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def epoch_millis() -> int:
    """`now()` in epoch milliseconds, as Firehose stamps approximateArrivalTimestamp."""
    return int(now().timestamp() * 1000)
