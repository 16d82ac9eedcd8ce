"""Hypothesis strategies for events of both shapes that reach every landing rule (§2-§6a).

Shared by the Lambda and the backfill lossless tests. Text excludes U+FFFD, which the
backfill reads as a sign of invalid UTF-8 (docs/landing-normalisation.md §9).
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import strategies as st
from landing_contract import DENIED_KEYS

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffd"), max_size=10
    )
    # §6b: addresses and URLs with PII query parameters, wherever they are sent
    | st.sampled_from(
        [
            "203.0.113.9", " 2001:db8:85a3::7 ", "::ffff:192.0.2.1", "fe80::1%eth0",
            "https://x.test/p?email=a%40b.c&q=1#f", "?token=t&utm_source=s", "/r?Name=x",
        ]
    )
)
# Keys the rules read, beside free text, so values reach every column and JSON column.
keys = st.sampled_from(
    [
        "type", "event", "name", "userId", "anonymousId", "sessionId", "appId", "messageId",
        "eventId", "_id", "$oid", "timestamp", "sentAt", "originalTimestamp", "receivedAt",
        "context", "metadata", "properties", "traits", "page", "campaign", "url", "path",
        "referrer", "source", "medium", "term", "content", "locale", "ip", "userAgent",
        "spaceId", "roomName", "coordinates", "pitch", "yaw", "hfov", *sorted(DENIED_KEYS),
    ]
) | st.text(max_size=6)  # fmt: skip
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)
iso_times = st.integers(min_value=978_307_200, max_value=4_000_000_000).map(
    lambda seconds: datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
)
context_like = st.dictionaries(keys, values | iso_times, max_size=8)
legacy_events = st.fixed_dictionaries(
    {"type": st.sampled_from(["track", "page", "Identify", " screen "]), "timestamp": iso_times},
    optional={
        "originalTimestamp": iso_times,
        "sentAt": iso_times,
        "receivedAt": iso_times,
        "context": context_like,
        "properties": context_like,
        "traits": context_like,
        "metadata": context_like,
    },
).flatmap(
    lambda event: st.dictionaries(keys, values, max_size=4).map(lambda more: {**more, **event})
)
nested_events = st.fixed_dictionaries(
    {
        "eventTimestamp": st.builds(lambda t: {"$date": t}, iso_times),
        "eventData": st.fixed_dictionaries(
            {"type": st.sampled_from(["track", "page"])},
            optional={
                "context": context_like,
                "properties": context_like,
                "traits": context_like,
                "sentAt": iso_times,
            },
        ).flatmap(
            lambda data: st.dictionaries(keys, values, max_size=4).map(
                lambda more: {**more, **data}
            )
        ),
    },
    optional={"metadata": context_like, "context": context_like, "_id": values},
).flatmap(
    lambda event: st.dictionaries(keys, values, max_size=3).map(lambda more: {**more, **event})
)
