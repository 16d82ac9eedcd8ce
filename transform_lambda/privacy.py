"""Pseudonymisation at landing (docs/landing-normalisation.md §6b, docs/decisions.md D-PRIV-2).

The client IP is truncated (default), dropped or keyed-hashed, and query parameters that
commonly carry personal data are removed from page URLs, before a row lands. The backfill
SQL (sql/backfill/web_events_backfill_stage_insert.sql) implements the same rules;
tests/sql/backfill/test_lambda_parity.py and test_privacy_parity.py prove both give the
same row. The copies inside the JSON columns get the same rules (scrub_json).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from typing import NamedTuple

import orjson
from landing_contract import IP_HANDLINGS, IP_MEMBER_NAMES, PII_QUERY_PARAMETERS

IP_HANDLING_ENV = "IP_HANDLING"
IP_HASH_KEY_ENV = "IP_HASH_KEY"
PII_QUERY_PARAMETERS_ENV = "PII_QUERY_PARAMETERS"
# A query parameter's name as the environment may list it: URL-unreserved characters and
# the brackets of `user[email]`; nothing that could end a SQL string in the backfill.
_PII_NAME = re.compile(r"[a-z0-9_.~\[\]-]+")
# base, query (after the first '?', before any '#'), fragment; as page_path and utm_* read it.
_QUERY = re.compile(r"([^?#]*)\?([^#]*)(#.*)?", re.DOTALL)


class Privacy(NamedTuple):
    """How the IP is handled (one of IP_HANDLINGS), the HMAC key when hashing, and the
    query parameters removed from URLs (lower case)."""

    ip_handling: str = "truncate"
    hash_key: bytes | None = None
    pii_query_parameters: tuple[str, ...] = PII_QUERY_PARAMETERS


def pii_query_parameters(listed: str) -> tuple[str, ...]:
    """The names of a comma-separated list (PiiQueryParameters), lower case, each once.

    A clear error for a name a URL query cannot hold or an empty list: the environment
    either keeps the contract's list (variable unset) or names the ones it removes.
    """
    names: list[str] = []
    for part in listed.split(","):
        name = part.strip().lower()
        if not _PII_NAME.fullmatch(name):
            raise ValueError(
                f"{PII_QUERY_PARAMETERS_ENV}={listed!r}: {part.strip()!r} is not a query "
                "parameter name (letters, digits, _ . ~ - [ ]; names separated by commas)"
            )
        if name not in names:
            names.append(name)
    return tuple(names)


def settings(environ: Mapping[str, str] = os.environ) -> Privacy:
    """The environment's choice; a clear error for a bad value or hashing without a key."""
    handling = (environ.get(IP_HANDLING_ENV) or "truncate").strip().lower()
    if handling not in IP_HANDLINGS:
        raise ValueError(f"{IP_HANDLING_ENV}={handling!r} is not one of {', '.join(IP_HANDLINGS)}")
    key = environ.get(IP_HASH_KEY_ENV) or None
    if handling == "hash" and key is None:
        # Never fall back to storing the IP whole: the function must not start.
        raise ValueError(f"{IP_HANDLING_ENV}=hash needs a key in {IP_HASH_KEY_ENV}; none is set")
    listed = environ.get(PII_QUERY_PARAMETERS_ENV, "")
    names = pii_query_parameters(listed) if listed.strip() else PII_QUERY_PARAMETERS
    return Privacy(handling, key.encode() if key else None, names)


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address in value (IPv4 dotted quad, or IPv6 without a zone), else None."""
    if "%" in value:  # a zone id is not part of an address we keep
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    # v4-mapped IPv6 written with its dotted quad (::ffff:a.b.c.d) is that IPv4 address.
    if address.version == 6 and address.ipv4_mapped is not None and "." in value:
        return address.ipv4_mapped
    return address


def pseudonymise_ip(value: str | None, privacy: Privacy) -> tuple[str | None, int]:
    """(what lands in ip_address, 1 when value was not an IP address else 0)."""
    if value is None:
        return None, 0
    address = _parse(value)
    if address is None:
        return None, 1
    if privacy.ip_handling == "drop":
        return None, 0
    if privacy.ip_handling == "hash":
        # Of the exploded form (IPv6: 8 hextets of 4 digits), which the SQL can build.
        digest = hmac.new(privacy.hash_key or b"", address.exploded.encode(), hashlib.sha256)
        return digest.hexdigest(), 0
    # A 6to4 address (2002::/16) carries its IPv4 whole in bits 16-47: its /48 would be that
    # IPv4, so it keeps only the IPv4's /24 (a /40), like the IPv4 itself.
    prefix = 24 if address.version == 4 else 40 if address.sixtofour is not None else 48
    network = ipaddress.ip_network((address, prefix), strict=False)
    return str(network.network_address), 0


@functools.cache
def _lower_set(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(name.lower() for name in names)


def strip_pii_query(
    url: str | None, names: tuple[str, ...] = PII_QUERY_PARAMETERS
) -> tuple[str | None, int]:
    """(url without the parameters named in its query, how many were removed).

    A parameter's name is the text before its first '=', compared case-insensitively and
    without percent-decoding (like utm_*). Other parameters keep their text and order.
    """
    if url is None or "?" not in url:
        return url, 0
    match = _QUERY.fullmatch(url)
    if match is None:
        return url, 0
    base, query, fragment = match.groups()
    parts = query.split("&")
    removed_names = _lower_set(names)
    kept = [part for part in parts if part.split("=", 1)[0].lower() not in removed_names]
    removed = len(parts) - len(kept)
    if not removed:
        return url, 0
    return base + ("?" + "&".join(kept) if kept else "") + (fragment or ""), removed


def case_insensitive(name: str) -> str:
    """A regex matching name in any ASCII case (`ip` -> `[iI][pP]`); the backfill SQL builds
    the same classes, so both match the same names (Python's IGNORECASE would also match
    the dotless i and the long s)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in name)


# In a compact JSON text: an address member (IP_MEMBER_NAMES, any case) with its string,
# number or array-of-strings value, or a string. A string is consumed whole, so nothing
# inside one is read as a member; what lies between two matches (punctuation, numbers,
# true/false/null) is never rewritten. These are the strings and members of the backfill
# SQL's tokens (its json_tokens macro).
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
IP_MEMBER = "|".join(case_insensitive(name) for name in IP_MEMBER_NAMES)
JSON_STRING_OR_IP = re.compile(
    r'(?P<member>"(?:' + IP_MEMBER + r')":)(?P<value>' + _STRING + r"|-?[0-9][0-9.eE+-]*"
    r"|\[(?:" + _STRING + r"(?:," + _STRING + r")*)?\])|" + _STRING
)
_STRING_TOKEN = re.compile(_STRING)
# How the names end (lower case, before `":`): ip, ss (address), or (x-forwarded-for).
# tests/transform_lambda/test_transform_privacy.py checks every name ends so.
_IP_MEMBER_ENDS = ('ip":', 'ss":', 'or":')
_IP_MEMBER_FOUND = re.compile(r'"(?:' + IP_MEMBER + r')":')


def may_hold_ip_member(text: str) -> bool:
    """A cheap superset of "holds an address member", then one regex search: lower() (one C
    pass; it maps the ASCII letters the member regex matches one to one) and three substring
    searches, so a column without one of the endings costs no regex work."""
    if len(text) < 8:  # '{"ip":1}' is the shortest text holding one
        return False
    lowered = text.lower()
    return (
        ('ip":' in lowered or 'ss":' in lowered or 'or":' in lowered)
        and _IP_MEMBER_FOUND.search(text) is not None
    )


def address_list(
    sent: str, ip_rule: Callable[[str], tuple[str | None, int]]
) -> tuple[str | None, int]:
    """(what lands for an address member's text, removals): each comma-separated part (one,
    usually) by ip_rule, the parts that land joined by ", "; a part that is no address is
    dropped and counted; nothing left (or `drop`) -> None."""
    if "," not in sent:
        return ip_rule(sent)
    landed, removed = [], 0
    for part in sent.split(","):
        value, count = ip_rule(part.strip(" \t\n\r"))
        removed += count
        if value is not None:
            landed.append(value)
    return (", ".join(landed) if landed else None), removed


@functools.cache
def may_hold_pii(names: tuple[str, ...] = PII_QUERY_PARAMETERS) -> re.Pattern[str]:
    """A cheap superset of "holds one of these query parameters": a name right after ? or
    &, ending the name. Only what it finds goes through strip_pii_query."""
    alternatives = "|".join(re.escape(name) for name in names)
    return re.compile(r"[?&](?:" + alternatives + r")(?=[=&#]|$)", re.IGNORECASE)


def scrub_json(
    text: str,
    ip_rule: Callable[[str], tuple[str | None, int]],
    text_value: Callable[[object], str | None],
    pii_names: tuple[str, ...] = PII_QUERY_PARAMETERS,
) -> tuple[str, int]:
    """(a JSON column's compact text with §6b applied to the copies inside it, removals).

    Every address member (IP_MEMBER_NAMES, any case) at any depth holding a string or a
    number is what ip_rule (the setting's pseudonymise_ip) lands for it, as ip_address:
    truncated, hashed or null (a number, or a string that is no address, is null and
    counted); a comma-separated list keeps the parts that land, joined by ", " (each part
    that is no address counted); an array of strings gets the same rule per element.
    Every other string value at any depth loses its PII query parameters, like page_url
    (each counted). Keys and the rest stay as they are. Worked on the escaped text: the
    characters the rules split on (? & = #) are never escaped in JSON.
    """
    removed = 0
    parts = []
    done = 0
    may_hold = may_hold_pii(pii_names)
    for match in JSON_STRING_OR_IP.finditer(text):
        token = match.group()
        value = match.group("value")
        if value is not None:
            if value[0] == '"':
                sent = text_value(orjson.loads(value))
                if sent is None:  # empty or blank: nothing to pseudonymise
                    continue
                landed, count = address_list(sent, ip_rule)
                landed_text = "null" if landed is None else f'"{landed}"'
            elif value[0] == "[":  # an array of strings: each one as a member's value
                elements, count = [], 0
                for element in _STRING_TOKEN.findall(value):
                    sent = text_value(orjson.loads(element))
                    if sent is None:
                        elements.append(element)
                        continue
                    landed, removed_here = address_list(sent, ip_rule)
                    count += removed_here
                    elements.append("null" if landed is None else f'"{landed}"')
                landed_text = "[" + ",".join(elements) + "]"
                if landed_text == value:
                    continue
            else:
                landed_text, count = "null", 1
            replacement = match.group("member") + landed_text
        elif (
            "?" in token
            and may_hold.search(token) is not None
            and text[match.end() : match.end() + 1] != ":"  # a value, not a member's name
        ):
            kept, count = strip_pii_query(token[1:-1], pii_names)
            if not count:
                continue
            replacement = f'"{kept}"'
        else:
            continue
        removed += count
        parts.append(text[done : match.start()])
        parts.append(replacement)
        done = match.end()
    if not parts:
        return text, 0
    parts.append(text[done:])
    return "".join(parts), removed


URL_COLUMNS = ("page_url", "page_path", "page_referrer")
JSON_COLUMNS = ("properties", "context", "traits", "extra")


def pseudonymise_row(
    row: dict,
    ip_rule: Callable[[str], tuple[str | None, int]],
    text_value: Callable[[object], str | None],
    names: tuple[str, ...],
) -> int:
    """§6b on a landing row, in place: PII query parameters off the URL columns, ip_address
    by ip_rule, the copies inside the JSON columns by scrub_json. Returns the removals and
    adds them to redacted_field_count. The cheap checks first, so a row without a query or
    an address member costs no regex work (this runs for every event the Lambda lands)."""
    removed = 0
    for column in URL_COLUMNS:
        value = row.get(column)
        if isinstance(value, str) and "?" in value:
            row[column], count = strip_pii_query(value, names)
            removed += count
    ip = row.get("ip_address")
    if isinstance(ip, str):
        row["ip_address"], count = ip_rule(ip)
        removed += count
    elif ip is not None:  # not text: no address a column may hold
        row["ip_address"], removed = None, removed + 1
    # The copies inside the JSON columns: the same rules (a context.page kept whole for its
    # title, a URL-valued property, metadata's ip when context's took the column, ...).
    for column in JSON_COLUMNS:
        value = row.get(column)
        if isinstance(value, str) and (may_hold_ip_member(value) or (
                "?" in value and may_hold_pii(names).search(value) is not None)):
            row[column], count = scrub_json(value, ip_rule, text_value, names)
            removed += count
    if removed:
        row["redacted_field_count"] = (row.get("redacted_field_count") or 0) + removed
    return removed


# What `hash` lands: the HMAC-SHA256 hex digest. A landing row written under `hash` already
# holds it, and hashing it again would make a second pseudonym for the same address.
_HMAC_HEX = re.compile(r"[0-9a-f]{64}")


def pseudonymise_landed(
    row: dict, privacy: Privacy, text_value: Callable[[object], str | None]
) -> int:
    """§6b on a landing row written earlier (Firehose's error output replayed: written before
    §6b was deployed, or under another IpHandling), in place; returns the removals, which it
    also adds to redacted_field_count. Idempotent: what §6b landed stays as it is (a /24, /48
    or /40 truncates to itself; under `hash` a 64-hex HMAC is kept, not hashed again)."""

    def ip_rule(value: str) -> tuple[str | None, int]:
        if privacy.ip_handling == "hash" and _HMAC_HEX.fullmatch(value):
            return value, 0
        return pseudonymise_ip(value, privacy)

    return pseudonymise_row(row, ip_rule, text_value, privacy.pii_query_parameters)
