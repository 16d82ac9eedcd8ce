"""What "lossless landing" means, as a check: every leaf of the input is in the landed row.

Shared by the Lambda and the backfill property tests. A leaf (a scalar that is not an
object member of a deny-listed key) counts as landed when it is:
- a leaf inside one of the JSON columns (properties, context, traits, extra), equal as
  JSON (1 == 1.0; the engines write numbers differently), each copy counting once;
- or the value of a text column after the text() rule (trimmed; an integer's digits;
  event_type additionally lower-cased is NOT accepted: a type that changes is kept);
- or a timestamp column's microseconds after parsing (§4), when the leaf is the
  timestamp or the $date/$numberLong inside it;
- or a coordinate, as the double the coordinates column holds;
- or, pseudonymised (§6b), an `ip` leaf as ip_address holds it (null for a non-IP or when
  dropped) and a URL without its PII query parameters; the same inside the JSON columns
  (an `ip` member's string or number as the IP rule lands it, any other string without its
  PII query parameters).
Empty objects and arrays have no leaves, so they may go (docs/landing-normalisation.md §6).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

from landing_contract import DENIED_KEYS, IP_MEMBER_NAMES
from normalise import coordinate, parse_timestamp_micros, text
from privacy import Privacy, address_list, pseudonymise_ip, strip_pii_query

JSON_COLUMNS = ("properties", "context", "traits", "extra")
TIMESTAMP_COLUMNS = ("event_timestamp", "sent_at", "original_timestamp")


def leaves(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """(path, scalar) of every leaf, skipping the subtrees of deny-listed object keys."""
    if isinstance(value, dict):
        found = []
        for key, member in value.items():
            if key not in DENIED_KEYS:
                found.extend(leaves(member, (*path, key)))
        return found
    if isinstance(value, list):
        found = []
        for index, member in enumerate(value):
            found.extend(leaves(member, (*path, index)))
        return found
    return [(path, value)]


def _json_key(value: Any) -> tuple:
    """A hashable key under which JSON-equal scalars meet (1 and 1.0; not True and 1)."""
    if isinstance(value, bool) or value is None:
        return ("lit", value)
    if isinstance(value, int | float):
        return ("num", float(value) if math.isfinite(float(value)) else repr(value))
    return ("str", value)


def missing_leaves(event: dict, row: dict, privacy: Privacy | None = None) -> list[str]:
    """The leaves of event that the landed row holds nowhere; empty when nothing was lost.

    A leaf no column holds must find its own copy in the JSON columns: the copies are
    counted, so a lost `null` is not excused by another `null` kept elsewhere.
    """
    in_json: Counter = Counter()
    for column in JSON_COLUMNS:
        held = row[column]
        parsed = json.loads(held) if isinstance(held, str) else held
        in_json.update(_json_key(leaf) for _, leaf in leaves(parsed))
    texts = {value for value in row.values() if isinstance(value, str)}
    micros = {_as_micros(row[column]) for column in TIMESTAMP_COLUMNS} - {None}
    coordinates = row.get("coordinates") or {}
    doubles = {value for value in coordinates.values() if value is not None}
    lost = []
    for path, leaf in leaves(event):
        if text(leaf) is not None and text(leaf) in texts:
            continue
        if (
            text(leaf) is not None
            and path
            and path[-1] == "ip"
            and (pseudonymise_ip(text(leaf), privacy or Privacy())[0] == row["ip_address"])
        ):
            continue
        if isinstance(leaf, str) and strip_pii_query(text(leaf))[0] in texts:
            continue
        if _json_copy(event, leaf, path, privacy or Privacy(), in_json):
            continue
        if path and path[-1] in ("pitch", "yaw", "hfov") and coordinate(leaf) in doubles:
            continue
        if _timestamp_of(event, path) in micros:
            continue
        if in_json[_json_key(leaf)] > 0:
            in_json[_json_key(leaf)] -= 1
            continue
        lost.append(f"{'.'.join(map(str, path))} = {leaf!r}")
    return lost


def _address_member(event: Any, path: tuple, leaf: Any) -> bool:
    """Whether the leaf is an address member's value (IP_MEMBER_NAMES, any ASCII case), or
    an element of one's array of strings (an array holding anything else stays as sent)."""
    name = path[-1] if path else None
    if isinstance(name, int) and isinstance(leaf, str) and len(path) > 1:
        name = path[-2]
        parent = event
        for step in path[:-1]:
            parent = parent[step]
        if not all(isinstance(element, str) for element in parent):
            return False
    return isinstance(name, str) and name.isascii() and name.lower() in IP_MEMBER_NAMES


def _json_copy(
    event: Any, leaf: Any, path: tuple, privacy: Privacy, in_json: Counter
) -> bool:
    """Whether the leaf's §6b copy is in the JSON columns (and take that copy)."""
    if _address_member(event, path, leaf) and not isinstance(leaf, bool) and (
        isinstance(leaf, int | float) or isinstance(leaf, str) and text(leaf) is not None
    ):
        copy = (
            address_list(text(leaf), lambda ip: pseudonymise_ip(ip, privacy))[0]
            if isinstance(leaf, str) else None
        )
    elif isinstance(leaf, str) and "?" in leaf:
        copy = strip_pii_query(leaf)[0]
    else:
        return False
    if in_json[_json_key(copy)] > 0:
        in_json[_json_key(copy)] -= 1
        return True
    return False


def _timestamp_of(event: dict, path: tuple) -> int | None:
    """The §4 microseconds of the timestamp value the leaf at path belongs to, if any."""
    for cut in range(len(path), 0, -1):
        if path[cut - 1] in ("eventTimestamp", "timestamp", "originalTimestamp", "sentAt"):
            node: Any = event
            for step in path[:cut]:
                node = node[step]
            return parse_timestamp_micros(node)
    return None


def _as_micros(value: Any) -> int | None:
    """A timestamp column as epoch microseconds: the Lambda's int, or a naive UTC datetime."""
    if value is None or isinstance(value, int):
        return value
    import datetime as dt

    return (value - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)
