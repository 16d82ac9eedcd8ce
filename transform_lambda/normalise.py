"""One source event (bytes) into one landing row: the rules of docs/landing-normalisation.md.

Pure functions, no AWS imports. Section numbers (§) refer to that document. The code
favours flat, inlined lookups because it runs once per record on the Lambda's hot path
(bench/bench_handler.py measures it against a decode+parse+serialise+encode floor).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

import orjson
from landing_contract import DENIED_KEYS, LANDING_COLUMN_NAMES
from privacy import Privacy, pseudonymise_ip, pseudonymise_row, settings

# §6b: read once, at cold start; a bad IP_HANDLING, or hashing without a key, stops the
# function here (no record lands with its IP whole). Tests replace it.
PRIVACY: Privacy = settings()
MAX_RECORD_BYTES = 1_024_000  # Firehose's own record limit, 1,000 KiB (§1 check 2)
MAX_DEPTH = 64  # §1 check 6
WHITESPACE = " \t\n\r"
WHITESPACE_BYTES = b" \t\n\r"

# Timestamps are emitted as epoch microseconds: Firehose's Iceberg destination maps only
# top-level keys, by exact column name and type, and "For Timestamp data types, you must
# always send in microseconds"; a date may be 'YYYY-MM-DD', a struct a nested object.
# https://docs.aws.amazon.com/firehose/latest/dev/apache-iceberg-destination-supp.html
# §4: timestamps outside [2000-01-01, 2100-01-01) UTC are invalid.
MIN_MICROS = 946_684_800_000_000
MAX_MICROS = 4_102_444_800_000_000
MICROS_PER_DAY = 86_400_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)  # §4: no zone means UTC
_ONE_MICROSECOND = timedelta(microseconds=1)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

# [0-9] rather than \d: \d also matches non-ASCII digits.
_ISO_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(?:\.[0-9]{1,9})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?"
)
_NUMBER_LONG = re.compile(r"-?[0-9]{1,19}")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# The §4 shapes without an offset, every ASCII digit written as 0. A bytes.translate and a
# set lookup check the common timestamp ~3x faster than the regex, which stays for the rest
# (offsets, whose ranges it checks, and surrounding whitespace).
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0000000000")
_UTC_ISO_SHAPES = frozenset(
    f"0000-00-00T00:00:00{fraction}{zone}".encode()
    for fraction in ("", *("." + "0" * digits for digits in range(1, 10)))
    for zone in ("", "Z")
)
_URL_PATH = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?(/[^?#]*)")

# §3 property → column; coordinates is handled on its own (§5).
PROPERTY_COLUMNS = (
    ("spaceId", "space_id"),
    ("spaceName", "space_name"),
    ("spaceType", "space_type"),
    ("roomId", "room_id"),
    ("roomName", "room_name"),
    ("community", "community"),
    ("building", "building"),
    ("floorplan", "floorplan"),
)

# Outcomes (§8).
OK, DROPPED, FAILED = "Ok", "Dropped", "ProcessingFailed"
REASONS_FAILED = (
    "invalid_base64",
    "oversized",
    "invalid_utf8",
    "invalid_json",
    "too_deep",
    "not_an_object",
    "unknown_shape",
    "missing_timestamp",
    "invalid_timestamp",
)
REASON_EMPTY = "empty_record"


class Outcome(NamedTuple):
    """What became of one record: Ok with its landing row, or Dropped/ProcessingFailed + reason."""

    result: str
    row: dict[str, Any] | None
    reason: str | None
    shape: str | None


def text(value: Any) -> str | None:
    """The text value of a JSON value: trimmed non-empty string or int64 digits, else None."""
    kind = type(value)
    if kind is str:
        return value.strip(WHITESPACE) or None
    if kind is int and _INT64_MIN <= value <= _INT64_MAX:
        return str(value)
    return None


def content_id(data: bytes) -> str:
    """§3 content id: 'h' + sha256 hex of the stripped bytes; an exact replay gets the same id."""
    return "h" + hashlib.sha256(data.strip(WHITESPACE_BYTES)).hexdigest()


def url_path(url: str | None) -> str | None:
    """The path part of a URL (§3), no percent-decoding; None when there is none."""
    if url is None:
        return None
    match = _URL_PATH.match(url)
    return match.group(1) if match else None


# Day number since 1970-01-01 -> 'YYYY-MM-DD'; at most 36,525 days lie in the §4 range.
_DATES: dict[int, str] = {}


def _date_of_day(day: int) -> str:
    """'YYYY-MM-DD' of a day number since 1970-01-01, remembered in _DATES."""
    _DATES[day] = found = date.fromordinal(_EPOCH_ORDINAL + day).isoformat()
    return found


def parse_timestamp_micros(value: Any) -> int | None:
    """Epoch microseconds of a §4 timestamp value ($date, $numberLong, millis, ISO), else None."""
    if type(value) is dict:
        value = value.get("$date", value)
    kind = type(value)
    if kind is str:
        # The shape check or the regex pins the grammar; fromisoformat (C, 3.11+) then checks
        # the calendar and clock fields and truncates fractions beyond microseconds (§4).
        if not (value.isascii() and value.encode().translate(_DIGITS_AS_ZERO) in _UTC_ISO_SHAPES):
            value = value.strip(WHITESPACE)
            if _ISO_TIMESTAMP.fullmatch(value) is None:
                return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        micros = (moment - (_NAIVE_EPOCH if moment.tzinfo is None else _EPOCH)) // _ONE_MICROSECOND
    elif kind is int:
        micros = value * 1000
    elif kind is dict and type(value.get("$numberLong")) is str:
        digits = value["$numberLong"]
        if not _NUMBER_LONG.fullmatch(digits):
            return None
        micros = int(digits) * 1000
    else:
        return None
    return micros if MIN_MICROS <= micros < MAX_MICROS else None


def coordinate(value: Any) -> float | None:
    """A finite double from a JSON number or numeric string (§5), else None."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int:
        try:
            number = float(value)
        except OverflowError:
            return None
    elif kind is str:
        value = value.strip(WHITESPACE)
        if not _DECIMAL.fullmatch(value):
            return None
        number = float(value)
    else:
        return None
    return number if math.isfinite(number) else None


def nesting_depth(value: Any) -> int:
    """Depth of a parsed JSON value: scalar 0, array/object 1 + deepest member (§1 check 6)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        members = node.values() if type(node) is dict else node if type(node) is list else None
        if members is None:
            continue
        deepest = max(deepest, level)
        stack.extend((member, level + 1) for member in members)
    return deepest


def _event_id(payload: dict, record: dict, stripped: bytes) -> str:
    """§3 event_id: _id.$oid, messageId, eventId (payload before record), else the content id."""
    sources = (record,) if payload is record else (payload, record)
    for source in sources:
        oid = source.get("_id")
        if type(oid) is dict:
            found = text(oid.get("$oid"))
            if found is not None:
                return found
    for key in ("messageId", "eventId"):
        for source in sources:
            value = source.get(key)
            if value is not None:
                found = text(value)
                if found is not None:
                    return found
    return content_id(stripped)


def _later_timestamp(payload: dict, record: dict) -> tuple[Any, dict | None, str | None]:
    """§4 candidates after record.eventTimestamp: (value, its object, its key) of the first
    present one (JSON null is absent), else (None, None, None)."""
    for key in ("timestamp", "originalTimestamp", "sentAt"):
        value = payload.get(key)
        if value is not None:
            return value, payload, key
        if payload is not record:
            value = record.get(key)
            if value is not None:
                return value, record, key
    return None, None, None


def _first_present(key: str, payload: dict, record: dict) -> tuple[Any, dict | None]:
    """(value, its object) of payload[key], else record[key], skipping JSON null (§4a)."""
    value = payload.get(key)
    if value is not None:
        return value, payload
    if payload is not record:
        value = record.get(key)
        if value is not None:
            return value, record
    return None, None


def _first_text(key: str, sources: tuple[dict, ...]) -> str | None:
    """§3 lookup: the first non-empty text value of key among sources, else None."""
    for source in sources:
        value = source.get(key)
        if value is not None:
            # text() inlined for the common string case: this runs ~6 times a record.
            value = value.strip(WHITESPACE) if type(value) is str else text(value)
            if value:
                return value
    return None


def decode_record(
    raw: bytes, loads: Callable[[bytes], Any] = orjson.loads
) -> tuple[Any, bytes, str | None, str | None]:
    """§1 checks 2-7: (record, stripped bytes, result, reason); result None means go on."""
    if len(raw) > MAX_RECORD_BYTES:
        return None, raw, FAILED, "oversized"
    stripped = raw.strip(WHITESPACE_BYTES)
    if not stripped:
        return None, stripped, DROPPED, REASON_EMPTY
    try:
        record = loads(stripped)
    except (ValueError, RecursionError) as error:
        try:
            stripped.decode("utf-8")
        except UnicodeDecodeError:
            return None, stripped, FAILED, "invalid_utf8"
        too_deep = isinstance(error, RecursionError) or "depth" in str(error)
        return None, stripped, FAILED, "too_deep" if too_deep else "invalid_json"
    # Depth > 64 needs more than 64 brackets, so counting them spares the walk for most records.
    # (Events rarely hold arrays, and `in` is cheaper than a count.)
    openers = stripped.count(b"{")
    if b"[" in stripped:
        openers += stripped.count(b"[")
    if openers > MAX_DEPTH and nesting_depth(record) > MAX_DEPTH:
        return None, stripped, FAILED, "too_deep"
    if type(record) is not dict:
        return None, stripped, FAILED, "not_an_object"
    return record, stripped, None, None


# §3 identifier columns, looked up in payload, meta, record, context (in that order).
_ID_COLUMNS = {
    "anonymousId": "anonymous_id",
    "userId": "user_id",
    "sessionId": "session_id",
    "appId": "app_id",
}
# Every text property with a column (§3, §6); coordinates is handled on its own (§5).
_TEXT_PROPERTY_COLUMN = dict(
    PROPERTY_COLUMNS, url="page_url", path="page_path", referrer="page_referrer"
)
# The landing row with every column null, in contract order; each record starts from a copy.
# A column added to the contract lands as null until a rule here fills it.
_EMPTY_ROW: dict[str, Any] = dict.fromkeys(LANDING_COLUMN_NAMES)
_NOTHING: dict = {}
# page_url -> its path: a batch repeats a few hundred URLs, and the regex costs more than
# the lookup. Bounded, since a warm Lambda container lives for many batches.
_URL_PATHS: dict[str, str | None] = {}
_URL_PATHS_MAX = 4096


def normalise(
    record: dict,
    stripped: bytes,
    received_micros: int | None,
    load_source: str = "firehose",
    dumps: Callable[[Any], str] | None = None,
) -> tuple[str, dict[str, Any] | None, str | None, str | None]:
    """§2-§6: a parsed record into (result, row, reason, shape); the row in contract order.

    A plain tuple, not an Outcome: building a NamedTuple costs more than the rest of a
    field here, and this runs once per record (normalise_bytes wraps it in an Outcome).
    """
    payload = record.get("eventData")
    if type(payload) is dict:
        shape = "nested"
    elif type(record.get("type")) is str or type(record.get("event")) is str:
        payload, shape = record, "legacy"
    else:
        return FAILED, None, "unknown_shape", None

    value = record.get("eventTimestamp")
    if value is not None:
        chosen, chosen_key = record, "eventTimestamp"
    else:
        value, chosen, chosen_key = _later_timestamp(payload, record)
        if value is None:
            return FAILED, None, "missing_timestamp", shape
    micros = parse_timestamp_micros(value)
    if micros is None:
        return FAILED, None, "invalid_timestamp", shape

    # §4a: the producer's own clock, and the Segment clock-skew correction.
    original_value, original_in = _first_present("originalTimestamp", payload, record)
    original = None if original_in is None else parse_timestamp_micros(original_value)
    sent_value, sent_in = _first_present("sentAt", payload, record)
    sent = None if sent_in is None else parse_timestamp_micros(sent_value)
    if chosen_key == "originalTimestamp" and sent is not None:
        arrival_value, arrival_in = _first_present("receivedAt", payload, record)
        arrival = None if arrival_in is None else parse_timestamp_micros(arrival_value)
        if arrival is None:
            arrival = received_micros
        if arrival is not None:
            corrected = arrival - (sent - micros)
            if MIN_MICROS <= corrected < MAX_MICROS:
                micros = corrected

    row = _EMPTY_ROW.copy()
    row["event_id"] = _event_id(payload, record, stripped)
    row["event_timestamp"] = micros
    day = micros // MICROS_PER_DAY
    row["event_date"] = _DATES.get(day) or _date_of_day(day)
    row["source_format"] = shape
    row["received_at"] = received_micros
    row["load_source"] = load_source
    row["sent_at"] = sent
    row["original_timestamp"] = original

    meta = record.get("metadata")
    if type(meta) is not dict:
        meta = _NOTHING
    context = payload.get("context")
    if type(context) is not dict:
        context = record.get("context")
        if type(context) is not dict:
            context = _NOTHING

    event_type = text(payload.get("type"))
    event_name = text(payload.get("event"))
    if event_type is not None:
        event_type = event_type.lower()
    elif event_name is not None:
        event_type = "track"
    row["event_type"] = event_type
    row["event_name"] = event_name or text(payload.get("name")) or event_type

    sources = (payload, meta, context) if payload is record else (payload, meta, record, context)
    row["anonymous_id"] = _first_text("anonymousId", sources)
    row["user_id"] = _first_text("userId", sources)
    row["session_id"] = _first_text("sessionId", sources)
    row["app_id"] = _first_text("appId", sources)

    # One pass over the properties: mapped keys whose text value lands in a column are
    # consumed, everything else is kept for the properties column (§6).
    props = payload.get("properties")
    rest = None
    denied = 0
    if type(props) is dict and props:
        rest = {}
        for key, value in props.items():
            if key in DENIED_KEYS:
                denied += 1
                continue
            column = _TEXT_PROPERTY_COLUMN.get(key)
            if column is not None:
                # text() inlined for the common string case: this loop is the hot path, and
                # only a str has .strip among JSON values (a try costs nothing in 3.11).
                try:
                    found = value.strip(WHITESPACE)
                except AttributeError:
                    found = text(value)
                if found:
                    row[column] = found
                    continue
            elif key == "coordinates" and type(value) is dict:
                found = _coordinates(value)
                if found is not None:
                    row["coordinates"] = found
                    # §6: taken whole or kept whole, like context.page: only when the
                    # column holds every member (a stray key or a NaN would be lost).
                    held = [member for member in found.values() if member is not None]
                    if len(held) == len(value):
                        continue
            rest[key] = value
    dumps = dumps or _dumps_sorted
    row["properties"] = dumps(rest) if rest else "{}"

    page = context.get("page")
    if type(page) is dict:
        for key, column in _PAGE_COLUMNS:
            if row[column] is None:
                row[column] = text(page.get(key))
    url = row["page_url"]
    if url is not None and row["page_path"] is None:
        path = _URL_PATHS.get(url)
        if path is None:
            path = url_path(url)
            if len(_URL_PATHS) >= _URL_PATHS_MAX:
                _URL_PATHS.clear()
            _URL_PATHS[url] = path
        row["page_path"] = path
    client_sources = (context, meta)
    row["user_agent"] = _first_text("userAgent", client_sources)
    row["ip_address"] = _first_text("ip", client_sources)
    # §6: a timestamp key is taken when its column holds it: the §4 choice when it is
    # eventTimestamp or timestamp, the first present originalTimestamp and sentAt (§4a).
    timestamps_taken = (
        (chosen if chosen_key in ("eventTimestamp", "timestamp") else None, chosen_key),
        (original_in if original is not None else None, "originalTimestamp"),
        (sent_in if sent is not None else None, "sentAt"),
    )
    _keep_the_rest(row, record, payload, meta, context, props, timestamps_taken, dumps, denied)
    _pseudonymise(row)
    return OK, row, None, shape


_IPS: dict[tuple[str, Privacy], tuple[str | None, int]] = {}
_IPS_MAX = 4096


def _ip_rule(ip: str) -> tuple[str | None, int]:
    """pseudonymise_ip under PRIVACY, cached: a batch repeats a few hundred addresses, and
    parsing one costs more than the rest of the row; bounded like _URL_PATHS. Keyed by the
    setting too (tests change it)."""
    key = (ip, PRIVACY)
    found = _IPS.get(key)
    if found is None:
        found = pseudonymise_ip(ip, PRIVACY)
        if len(_IPS) >= _IPS_MAX:
            _IPS.clear()
        _IPS[key] = found
    return found


def _pseudonymise(row: dict) -> None:
    """§6b, last: §3a and §6 compare and read the values as sent (utm_* come from the query,
    and a context key a column took leaves context), then what lands is pseudonymised."""
    pseudonymise_row(row, _ip_rule, text, PRIVACY.pii_query_parameters)


# §3a: context.campaign member -> column, and the page URL's query parameter behind it.
CAMPAIGN_COLUMNS = (
    ("source", "utm_source"),
    ("medium", "utm_medium"),
    ("name", "utm_campaign"),
    ("term", "utm_term"),
    ("content", "utm_content"),
)
# The first `utm_x=` parameter of the query (after the first '?', before any '#'); no
# percent-decoding, like page_path. The same pattern is in the backfill SQL.
_UTM_PARAMETER = {
    column: re.compile(r"^[^?#]*\?(?:[^#]*&)?" + column + r"=([^&#]*)")
    for _, column in CAMPAIGN_COLUMNS
}
# §6 candidates: key -> the text column that may have taken it, per object.
_PAYLOAD_COLUMNS = {
    "type": "event_type",
    "event": "event_name",
    "name": "event_name",
    "messageId": "event_id",
    "eventId": "event_id",
    **_ID_COLUMNS,
}
_RECORD_COLUMNS = {"messageId": "event_id", "eventId": "event_id", **_ID_COLUMNS}
_META_COLUMNS = {**_ID_COLUMNS, "userAgent": "user_agent", "ip": "ip_address"}
_CONTEXT_COLUMNS = {**_META_COLUMNS, "locale": "locale"}
_NO_COLUMNS: dict[str, str] = {}


def _left(
    row: dict, source: dict, columns: dict[str, str], taken: set[str] | frozenset[str]
) -> tuple[dict, int]:
    """§6 in one pass: (source minus what a column took, the taken keys and the deny-listed
    keys; how many deny-listed keys it had). A key in `columns` is taken when its text value
    is the value its column holds."""
    kept = {}
    denied = 0
    for key, value in source.items():
        column = columns.get(key)
        if column is not None and value is not None:
            held = row[column]
            # text() inlined for the common string case: this runs for every key sent.
            if (
                held is not None
                and (value.strip(WHITESPACE) if type(value) is str else text(value)) == held
            ):
                continue
        if key in taken:
            continue
        if key in DENIED_KEYS:
            denied += 1
            continue
        kept[key] = value
    return kept, denied


def _object_id_taken(source: dict, event_id: str) -> bool:
    """§6: `_id` is taken when it is exactly {"$oid": x} and x is the event_id."""
    oid = source.get("_id")
    return type(oid) is dict and len(oid) == 1 and text(oid.get("$oid")) == event_id


def _keep_the_rest(
    row: dict,
    record: dict,
    payload: dict,
    meta: dict,
    context: dict,
    props: Any,
    timestamps_taken: tuple[tuple[dict | None, str], ...],
    dumps: Callable[[Any], str],
    denied: int,
) -> None:
    """§3a and §6-§6a: campaign, locale, traits, and the context and extra JSON columns.

    Whatever the producer sent lands somewhere: in a column, or in properties, context,
    traits or extra. Only deny-listed keys (credentials) are dropped, and counted.
    """
    campaign = context.get("campaign")
    campaign_taken = False
    if type(campaign) is dict:
        for key, column in CAMPAIGN_COLUMNS:
            row[column] = text(campaign.get(key))
        campaign_taken = all(
            key in _CAMPAIGN_COLUMN and row[_CAMPAIGN_COLUMN[key]] is not None for key in campaign
        )
    url = row["page_url"]
    if url is not None and "utm_" in url:
        for _, column in CAMPAIGN_COLUMNS:
            if row[column] is None:
                match = _UTM_PARAMETER[column].match(url)
                if match is not None:
                    row[column] = match.group(1).strip(WHITESPACE) or None
    row["locale"] = text(context.get("locale"))

    traits = payload.get("traits")
    traits_from_context = False
    if type(traits) is not dict:
        traits = context.get("traits")
        traits_from_context = type(traits) is dict
    if type(traits) is dict:
        kept, count = _left(row, traits, _NO_COLUMNS, _NOTHING_TAKEN)
        denied += count
        row["traits"] = dumps(kept) if kept else "{}"
    else:
        row["traits"] = "{}"

    if context:
        taken = set()
        page = context.get("page")
        # page and campaign go whole, or stay whole: only when a column took every member.
        if type(page) is dict and all(
            key in _PAGE_COLUMN
            and row[_PAGE_COLUMN[key]] is not None
            and text(page[key]) == row[_PAGE_COLUMN[key]]
            for key in page
        ):
            taken.add("page")
        if campaign_taken:
            taken.add("campaign")
        if traits_from_context:
            taken.add("traits")
        kept, count = _left(row, context, _CONTEXT_COLUMNS, taken)
        denied += count
        row["context"] = dumps(kept) if kept else "{}"
    else:
        row["context"] = "{}"

    # extra: the record minus what was taken; metadata and eventData by their own rules.
    event_id = row["event_id"]
    payload_taken = set()
    if "_id" in payload and _object_id_taken(payload, event_id):
        payload_taken.add("_id")
    for key in ("properties", "context", "traits"):
        if type(payload.get(key)) is dict:
            payload_taken.add(key)
    nested = payload is not record
    record_taken = payload_taken
    if nested:
        record_taken = {"eventData"}
        if "_id" in record and _object_id_taken(record, event_id):
            record_taken.add("_id")
        if type(payload.get("context")) is not dict and type(record.get("context")) is dict:
            record_taken.add("context")
    for source, key in timestamps_taken:
        if source is record:
            record_taken.add(key)
        elif source is payload:
            payload_taken.add(key)
    if meta is not _NOTHING:
        record_taken.add("metadata")
    extra, count = _left(
        row, record, _PAYLOAD_COLUMNS if not nested else _RECORD_COLUMNS, record_taken
    )
    denied += count
    if nested:
        event_data, count = _left(row, payload, _PAYLOAD_COLUMNS, payload_taken)
        denied += count
        if event_data:
            extra["eventData"] = event_data
    if meta is not _NOTHING:
        kept, count = _left(row, meta, _META_COLUMNS, _NOTHING_TAKEN)
        denied += count
        if kept:
            extra["metadata"] = kept
    row["extra"] = dumps(extra) if extra else "{}"
    row["redacted_field_count"] = denied


_CAMPAIGN_COLUMN = dict(CAMPAIGN_COLUMNS)
_PAGE_COLUMN = {"url": "page_url", "path": "page_path", "referrer": "page_referrer"}
_NOTHING_TAKEN: frozenset[str] = frozenset()


def _coordinates(value: dict) -> dict[str, float | None] | None:
    """§5: {pitch, yaw, hfov} as finite doubles, or None when none of the three is one."""
    pitch = value.get("pitch")
    yaw = value.get("yaw")
    hfov = value.get("hfov")
    # A finite float is the common case; x - x is 0.0 only for finite x.
    if type(pitch) is not float or pitch - pitch != 0.0:
        pitch = coordinate(pitch)
    if type(yaw) is not float or yaw - yaw != 0.0:
        yaw = coordinate(yaw)
    if type(hfov) is not float or hfov - hfov != 0.0:
        hfov = coordinate(hfov)
    if pitch is None and yaw is None and hfov is None:
        return None
    return {"pitch": pitch, "yaw": yaw, "hfov": hfov}


_PAGE_COLUMNS = (("url", "page_url"), ("path", "page_path"), ("referrer", "page_referrer"))


def _dumps_sorted(value: Any) -> str:
    """§6 encoding: keys sorted at every level, compact, raw UTF-8."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def normalise_bytes(raw: bytes, received_micros: int, load_source: str = "firehose") -> Outcome:
    """§1-§6 for one decoded record: the whole rule set in one call."""
    record, stripped, result, reason = decode_record(raw)
    if result is not None:
        return Outcome(result, None, reason, None)
    return Outcome(*normalise(record, stripped, received_micros, load_source))
