"""Identified events that reshape identity ranges day after day (dbt tests, both tiers)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from tests.dbt import lake_fixture


def identified(event_id: str, device: str, user: str, at: datetime) -> dict:
    return lake_fixture._event(
        event_id, at, anonymous_id=device, user_id=user, session_id=f"{device}-{at:%m%d}"
    )


def identifications(day: date) -> list[dict]:
    """A device one user stays logged in on for weeks, and one that changes hands."""
    noon = datetime.combine(day, datetime.min.time()) + timedelta(hours=12)
    return [
        identified(f"long-{day:%m%d}", "anon-long", "user-long", noon),
        identified(f"hands-{day:%m%d}", "anon-hands", f"user-{day.day % 2}", noon),
    ]


def late_identifications(day: date) -> list[dict]:
    """Late events, in the window, of the day before `day`: each reshapes built ranges."""
    before = datetime.combine(day - timedelta(days=1), datetime.min.time())
    return [
        # another user on the long-lived device: splits its open range in two
        identified(f"intruder-{day:%m%d}", "anon-long", "user-intruder",
                   before + timedelta(hours=15)),
        # the same user earlier than the range's opener: the range gets a new opener,
        # so a new key, and the built one is superseded
        identified(f"early-{day:%m%d}", "anon-hands", f"user-{(day.day - 1) % 2}",
                   before + timedelta(hours=9)),
    ]
