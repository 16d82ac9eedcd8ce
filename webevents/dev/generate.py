"""Realistic sample traffic: an archive by day, a stream of recent events, and a truth file.

Layout written into the output folder:

    archive/dt=YYYY-MM-DD/events.jsonl.gz   historical events by arrival day (both shapes)
    stream/events-YYYY-MM-DD.jsonl          recent events by arrival day, for `ingest`
    truth.jsonl                             one row per generated line, archive days first
                                            then stream files, in file and line order

The truth file says what every line is (bot kind, duplicate, late, malformed and the
reason code the pipeline must give it); the pipeline never reads it. Event ids in it
follow docs/landing-normalisation.md: `_id.$oid`, `messageId`, `eventId`, else the
content id of the line. Same arguments, same bytes.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import math
import random
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import orjson
from rich.console import Console
from rich.progress import Progress

from webevents import LAMBDA_DIR, clock

DAY_MS = 86_400_000
MARKER_FILE = ".webevents-sample"

# Share of all lines, by traffic kind. Bots are what a JS analytics endpoint really sees:
# rendering crawlers, scripted HTTP clients hitting the collector, link unfurlers,
# headless automation and scrapers that pretend to be people.
BOT_SHARES = {
    "crawler": 0.03,
    "http_tool": 0.01,
    "link_preview": 0.006,
    "headless": 0.02,
    "stealth_scraper": 0.035,
}
EXACT_DUPLICATE_RATE = 0.012  # SDK / Firehose at-least-once retries: the same bytes again
REPLAY_RATE = 0.004  # the same bytes re-sent hours or days later
SEGMENT_RETRY_RATE = 0.01  # same messageId, new sentAt: different bytes, same id
LATE_RATE = 0.03  # events from the week before the stream window, arriving late in it
MALFORMED_RATE = 0.004
BLANK_LINE_RATE = 0.0005
MALFORMED_KINDS = (
    "invalid_json",
    "not_an_object",
    "missing_timestamp",
    "invalid_timestamp",
    "unknown_shape",
    "invalid_utf8",
)

HUMAN_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Mobile/15E148 Safari/604.1",
)
HUMAN_UA_WEIGHTS = (30, 14, 22, 12, 6, 8, 5, 3)

BOT_USER_AGENTS = {
    "crawler": (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; "
        "+http://www.google.com/bot.html) Chrome/131.0.6778.69 Safari/537.36",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
    ),
    "http_tool": (
        "curl/8.5.0",
        "python-requests/2.32.3",
        "Wget/1.21.4",
        "Go-http-client/1.1",
        "axios/1.7.7",
    ),
    "link_preview": (
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Twitterbot/1.0",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "WhatsApp/2.23.20.0",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    ),
    "headless": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/130.0.6723.58 Safari/537.36",
    ),
}
BOT_IP_PREFIXES = {
    "crawler": ("66.249.66.", "66.249.79.", "157.55.39.", "40.77.167.", "5.255.231."),
    "http_tool": ("34.201.", "3.88.", "18.206.", "52.14."),
    "link_preview": ("54.209.", "31.13.103.", "199.16.157."),
    "headless": ("35.185.", "34.118.", "20.42."),
    "stealth_scraper": ("45.86.", "185.220.", "104.28.", "172.245."),
}

REFERRERS = (
    (None, 34),
    ("https://www.google.com/", 30),
    ("https://www.bing.com/", 4),
    ("https://www.zillow.com/homedetails/", 10),
    ("https://www.apartments.com/", 7),
    ("https://l.facebook.com/", 6),
    ("https://mail.google.com/", 5),
    ("https://www.instagram.com/", 4),
)
UTC_OFFSETS = ("+01:00", "+02:00", "-05:00", "-08:00", "+05:30", "-03:00", "+09:00")

SITE = "https://tours.example.com"
MARKETING = "https://www.example-living.com"

# Rooms by space type: (room name, how likely a visitor enters it).
ROOMS = {
    "apartment": (
        ("LIVING ROOM", 0.95), ("KITCHEN", 0.85), ("PRIMARY BEDROOM", 0.75),
        ("BEDROOM 2", 0.45), ("BATHROOM", 0.5), ("BALCONY", 0.35),
    ),
    "townhouse": (
        ("ENTRY", 0.9), ("LIVING ROOM", 0.9), ("KITCHEN", 0.85), ("DINING ROOM", 0.5),
        ("PRIMARY BEDROOM", 0.7), ("BEDROOM 2", 0.4), ("GARAGE", 0.25), ("PATIO", 0.3),
    ),
    "single_family": (
        ("FOYER", 0.9), ("GREAT ROOM", 0.9), ("KITCHEN", 0.85), ("PRIMARY SUITE", 0.75),
        ("BEDROOM 2", 0.45), ("BEDROOM 3", 0.35), ("OFFICE", 0.4), ("BACKYARD", 0.45),
    ),
    "amenity": (
        ("LOBBY", 0.9), ("FITNESS CENTER", 0.6), ("POOL DECK", 0.65), ("CLUBHOUSE", 0.5),
        ("ROOFTOP LOUNGE", 0.45),
    ),
}
COMMUNITIES = (
    ("Harbor Point", "harbor-point"),
    ("Maple Grove", "maple-grove"),
    ("Cedar Ridge", "cedar-ridge"),
    ("Riverside Commons", "riverside-commons"),
    ("The Foundry", "the-foundry"),
    ("Willow Creek", "willow-creek"),
)
FLOORPLAN_NAMES = ("A1", "A2", "B1", "B2", "C1", "S1", "TH-3", "PH-1")


@dataclass(frozen=True)
class Room:
    room_id: str
    name: str
    weight: float
    highlights: tuple[tuple[float, float], ...]  # (yaw, pitch) people turn to: window, island



@dataclass(frozen=True)
class Space:
    space_id: str
    name: str
    space_type: str
    community: str
    slug: str
    building: str
    floorplan: str
    bedrooms: int
    price: int
    rooms: tuple[Room, ...]


@dataclass
class Device:
    anonymous_id: str
    user_agent: str
    ip: str
    people: list[str | None]  # user ids seen on this device over time (None = anonymous)
    nested_sdk: bool  # viewer on the current SDK (nested MongoDB export) or the old one


@dataclass(slots=True)
class Line:
    """One generated line and what the truth file says about it."""

    arrival_ms: int
    seq: int
    data: bytes
    event_id: str | None
    event_ms: int | None
    bot_kind: str | None = None
    is_duplicate: bool = False
    outcome: str = "ok"  # ok | failed | dropped
    reason: str | None = None


@dataclass
class Summary:
    """What `generate_sample` wrote."""

    out: Path
    lines: int = 0
    archive_files: list[Path] = field(default_factory=list)
    stream_files: list[Path] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    first_day: date | None = None
    last_day: date | None = None


def content_id(data: bytes) -> str:
    """The fallback event id of docs/landing-normalisation.md: 'h' + sha256 of the stripped line."""
    return "h" + hashlib.sha256(data.strip(b" \t\r\n")).hexdigest()


@functools.cache
def _lambda_content_id():
    """The Lambda's own content-id function, when transform_lambda/ exposes one."""
    if str(LAMBDA_DIR) not in sys.path:
        sys.path.insert(0, str(LAMBDA_DIR))
    try:
        import normalise  # the Lambda's pure module
    except ImportError:
        return None
    return getattr(normalise, "content_id", None)


class _Generator:
    """Builds sessions day by day and hands finished lines to the writer."""

    def __init__(self, events: int, days: int, seed: int, end_date: date):
        self.rng = random.Random(seed)
        self.events = events
        self.days = days
        self.end_date = end_date
        self.first_date = end_date - timedelta(days=days - 1)
        self.stream_days = max(1, days // 7)
        self.stream_start_ms = _day_ms(end_date - timedelta(days=self.stream_days - 1))
        self.seq = 0
        self.object_counter = self.rng.getrandbits(24)
        self.spaces = self._build_spaces()
        self.space_weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(self.spaces))]
        self.devices: list[Device] = []
        self.buffers: dict[int, list[Line]] = {}
        self.counts: Counter = Counter()
        self._hash_id = _lambda_content_id() or content_id

    # ---- catalogue -------------------------------------------------------------------
    def _build_spaces(self) -> list[Space]:
        rng = self.rng
        spaces: list[Space] = []
        room_number = 100
        for community, slug in COMMUNITIES:
            for building_index in range(rng.randint(2, 3)):
                building = f"Building {chr(ord('A') + building_index)}"
                for _ in range(rng.randint(2, 4)):
                    space_type = rng.choices(
                        ("apartment", "townhouse", "single_family", "amenity"), (55, 18, 15, 12)
                    )[0]
                    floorplan = rng.choice(FLOORPLAN_NAMES)
                    space_id = f"space-{rng.getrandbits(32):08x}"
                    if space_type == "amenity":
                        name = f"{community} Amenities"
                        bedrooms = 0
                    else:
                        bedrooms = rng.choice((1, 1, 2, 2, 2, 3, 3, 4))
                        name = f"{community} {building[-1]}-{floorplan} ({bedrooms} bed)"
                    rooms = []
                    for room_name, weight in ROOMS[space_type]:
                        room_number += 1
                        highlights = tuple(
                            (rng.uniform(-180, 180), rng.gauss(-4, 10))
                            for _ in range(rng.randint(2, 4))
                        )
                        rooms.append(Room(f"room-{room_number}", room_name, weight, highlights))
                    price = 0 if space_type == "amenity" else rng.randrange(1400, 9000, 25) * (
                        1 if space_type == "apartment" else 180
                    )
                    spaces.append(
                        Space(space_id, name, space_type, community, slug, building, floorplan,
                              bedrooms, price, tuple(rooms))
                    )
        rng.shuffle(spaces)
        return spaces

    def _new_device(self) -> Device:
        rng = self.rng
        device = Device(
            anonymous_id=_uuid(rng),
            user_agent=rng.choices(HUMAN_USER_AGENTS, HUMAN_UA_WEIGHTS)[0],
            ip=_residential_ip(rng),
            people=[None],
            nested_sdk=rng.random() < 0.72,
        )
        if rng.random() < 0.35:
            device.people = [f"u-{rng.randrange(10_000, 99_999)}"]
            if rng.random() < 0.12:  # a shared family tablet / office PC: a second person later
                device.people.append(f"u-{rng.randrange(10_000, 99_999)}")
        self.devices.append(device)
        return device

    def _device_for_session(self) -> Device:
        if self.devices and self.rng.random() < 0.3:  # returning visitor
            return self.rng.choice(self.devices)
        return self._new_device()

    # ---- ids and timestamps ----------------------------------------------------------
    def _object_id(self, event_ms: int) -> str:
        self.object_counter = (self.object_counter + 1) & 0xFFFFFF
        return f"{event_ms // 1000:08x}{self.rng.getrandbits(40):010x}{self.object_counter:06x}"

    def _nested_timestamp(self, event_ms: int):
        """MongoDB-export `eventTimestamp`: ISO (Z or offset), epoch millis or $numberLong."""
        pick = self.rng.random()
        if pick < 0.55:
            # ISO exports keep microseconds; derived from the object counter, not the rng,
            # so every other byte of the sample stays as it was
            return {"$date": _iso(event_ms, micros=self.object_counter * 7 % 1000)}
        if pick < 0.7:
            return {"$date": _iso_offset(event_ms, self.rng.choice(UTC_OFFSETS))}
        if pick < 0.85:
            return {"$date": event_ms}
        return {"$date": {"$numberLong": str(event_ms)}}

    # ---- emitting --------------------------------------------------------------------
    def _emit(self, record, arrival_ms: int, event_ms: int | None, event_id: str | None,
              bot_kind: str | None) -> Line:
        # orjson's bytes keep their 4 KiB growth buffer; an exact copy keeps memory flat
        data = bytes(memoryview(orjson.dumps(record)))
        if event_id is None:
            event_id = self._hash_id(data)
        return self._add(Line(arrival_ms, 0, data, event_id, event_ms, bot_kind))

    def _add(self, line: Line) -> Line:
        self.seq += 1
        line.seq = self.seq
        self.buffers.setdefault(line.arrival_ms // DAY_MS, []).append(line)
        kind = line.reason or ("duplicate" if line.is_duplicate else line.bot_kind or "human")
        self.counts[kind] += 1
        return line

    def _arrival(self, event_ms: int) -> int:
        """Arrival: seconds later usually; some events from the week before the stream, late."""
        rng = self.rng
        late_window_end = self.stream_start_ms + (self.stream_days - 1) * DAY_MS
        if (
            self.stream_start_ms - 7 * DAY_MS <= event_ms < late_window_end
            and rng.random() < LATE_RATE
        ):
            # offline mobile queue / a paused producer flushing days later
            end_ms = self.stream_start_ms + self.stream_days * DAY_MS - 1
            earliest = max(event_ms + DAY_MS, self.stream_start_ms)
            if earliest < end_ms:
                return rng.randint(earliest, end_ms)
        return event_ms + int(rng.expovariate(1 / 1500)) + 40

    # ---- sessions --------------------------------------------------------------------
    def human_session(self, start_ms: int) -> int:
        """A person browsing the marketing site and touring spaces; returns lines written."""
        rng = self.rng
        device = self._device_for_session()
        user_id = device.people[-1] if rng.random() < 0.7 else device.people[0]
        logged_in = user_id is not None and rng.random() < 0.75
        session_id = f"s-{rng.getrandbits(48):012x}"
        numeric_session = not device.nested_sdk and rng.random() < 0.5
        session_value = start_ms if numeric_session else session_id
        referrer = rng.choices([r for r, _ in REFERRERS], [w for _, w in REFERRERS])[0]
        t = start_ms
        written = 0
        ctx = _Session(self, device, user_id if logged_in else None, session_value, referrer)

        space = rng.choices(self.spaces, self.space_weights)[0]
        entry = rng.random()
        if entry < 0.45:  # marketing site first
            written += ctx.page(t, f"{MARKETING}/", "Home")
            t += _dwell(rng, 9_000)
            if rng.random() < 0.2:  # bounced on the home page
                return written
            written += ctx.page(t, f"{MARKETING}/communities/{space.slug}", "Community")
            t += _dwell(rng, 15_000)
            if rng.random() < 0.25:  # looked at the community, never opened a space
                return written
        if logged_in and rng.random() < 0.5:
            written += ctx.identify(t)
            t += _dwell(rng, 1_500)
        spaces_to_visit = 1 + (rng.random() < 0.35) + (rng.random() < 0.12)
        for visit in range(spaces_to_visit):
            if visit:
                space = rng.choices(self.spaces, self.space_weights)[0]
            written += ctx.page(t, f"{SITE}/spaces/{space.space_id}", "Space Details", space)
            t += _dwell(rng, 12_000)
            if rng.random() > 0.74:  # bounced on the details page
                continue
            written += ctx.track(t, "Tour Started", space, None, {"viewMode": "3d"})
            t += _dwell(rng, 2_000)
            for room in space.rooms:
                if rng.random() > room.weight:
                    continue
                written += ctx.track(t, "Room Entered", space, room, {})
                t += _dwell(rng, 2_500)
                t, n = ctx.look_around(t, space, room)
                written += n
            if rng.random() < 0.3:
                written += ctx.track(t, "Floorplan Opened", space, None, {"viewMode": "floorplan"})
                t += _dwell(rng, 8_000)
            if rng.random() < 0.22:
                written += ctx.track(t, "Contact Agent Clicked", space, None, {})
                t += _dwell(rng, 25_000)
                if rng.random() < 0.45:
                    if not ctx.user_id and device.people[0] is not None:
                        ctx.user_id = device.people[-1]
                        written += ctx.identify(t)
                        t += _dwell(rng, 1_000)
                    name = "Tour Scheduled" if rng.random() < 0.4 else "Lead Submitted"
                    written += ctx.track(t, name, space, None, {"formId": "contact-v2"})
                    t += _dwell(rng, 5_000)
        return written

    def bot_session(self, kind: str, start_ms: int) -> int:
        """Automated traffic of one kind; returns lines written."""
        rng = self.rng
        if kind == "stealth_scraper":
            user_agent = rng.choices(HUMAN_USER_AGENTS, HUMAN_UA_WEIGHTS)[0]
            pages = rng.randint(120, 600)
        elif kind == "crawler":
            user_agent = rng.choice(BOT_USER_AGENTS[kind])
            pages = rng.randint(5, 60)
        elif kind == "headless":
            user_agent = rng.choice(BOT_USER_AGENTS[kind])
            pages = rng.randint(10, 80)
        else:
            user_agent = rng.choice(BOT_USER_AGENTS[kind])
            pages = rng.randint(1, 12)
        device = Device(_uuid(rng), user_agent, rng.choice(BOT_IP_PREFIXES[kind]) + _octets(rng),
                        [None], nested_sdk=kind == "headless" and rng.random() < 0.5)
        ctx = _Session(self, device, None, f"s-{rng.getrandbits(48):012x}", None, bot_kind=kind)
        t = start_ms
        written = 0
        for _ in range(pages):
            space = rng.choice(self.spaces)
            if kind in ("crawler", "link_preview") and rng.random() < 0.6:
                # no cookies kept: every fetch looks like a new visitor
                ctx.device.anonymous_id = _uuid(rng)
                ctx.session = f"s-{rng.getrandbits(48):012x}"
            url = f"{SITE}/spaces/{space.space_id}"
            if rng.random() < 0.3:
                url = f"{MARKETING}/communities/{space.slug}"
            written += ctx.page(t, url, "Space Details", space if url.startswith(SITE) else None)
            if kind == "headless" and rng.random() < 0.5:
                room = rng.choice(space.rooms)
                written += ctx.track(t + 150, "Room Entered", space, room, {})
                written += ctx.track(t + 300, "Room View Position", space, room, {},
                                     coordinates={"pitch": 0, "yaw": 0, "hfov": 90})
            if kind == "stealth_scraper":
                t += rng.randint(120, 900)  # sub-second, machine regular
            elif kind == "crawler":
                t += rng.randint(2_000, 40_000)
            elif kind == "headless":
                t += rng.randint(400, 3_000)
            else:
                t += rng.randint(50, 5_000)
        return written

    # ---- anomalies -------------------------------------------------------------------
    def add_duplicates(self, source: list[Line]) -> None:
        """Exact duplicates, replays and Segment retries of already generated lines."""
        rng = self.rng
        for line in source:
            if line.outcome != "ok":
                continue
            pick = rng.random()
            if pick < EXACT_DUPLICATE_RATE:
                self._add(Line(line.arrival_ms + rng.randint(5, 3_000), 0, line.data,
                               line.event_id, line.event_ms, line.bot_kind, is_duplicate=True))
            elif pick < EXACT_DUPLICATE_RATE + REPLAY_RATE:
                later = line.arrival_ms + rng.randint(3_600_000, 4 * DAY_MS)
                later = min(later, _day_ms(self.end_date) + DAY_MS - 1)
                self._add(Line(later, 0, line.data, line.event_id, line.event_ms, line.bot_kind,
                               is_duplicate=True))
            elif pick < EXACT_DUPLICATE_RATE + REPLAY_RATE + SEGMENT_RETRY_RATE and (
                line.data.startswith(b'{"type"') and b'"messageId"' in line.data
            ):
                record = orjson.loads(line.data)
                retry_ms = line.arrival_ms + rng.randint(30_000, 600_000)
                record["sentAt"] = _iso(retry_ms)
                self._add(Line(retry_ms, 0, orjson.dumps(record), line.event_id, line.event_ms,
                               line.bot_kind, is_duplicate=True))

    def add_malformed(self, day_start_ms: int, count: int) -> None:
        """Broken lines the pipeline must reject with a reason, and a few blank lines."""
        rng = self.rng
        for _ in range(count):
            t = day_start_ms + rng.randrange(DAY_MS)
            reason = rng.choice(MALFORMED_KINDS)
            anon = _uuid(rng)
            page = {"type": "page", "anonymousId": anon, "properties": {"url": f"{SITE}/"}}
            if reason == "invalid_json":
                full = orjson.dumps({**page, "timestamp": _iso(t)})
                data = rng.choice((full[: rng.randint(10, len(full) - 2)],
                                   full.replace(b'":', b"':", 1), full + b"}"))
            elif reason == "not_an_object":
                data = rng.choice((b'["page", "' + anon.encode() + b'"]', b'"ping"', b"42",
                                   b"null"))
            elif reason == "missing_timestamp":
                data = orjson.dumps(page)
            elif reason == "invalid_timestamp":
                bad = rng.choice(("2026-13-45T99:00:00Z", "yesterday", 0, "1732012345",
                                  {"$date": "not a date"}, "2026-11-02 10:00:00"))
                data = orjson.dumps({**page, "timestamp": bad})
            elif reason == "unknown_shape":
                data = orjson.dumps({"eventData": "page_view", "metadata": {"anonymousId": anon},
                                     "eventTimestamp": {"$date": _iso(t)}})
            else:  # invalid_utf8: a Latin-1 export
                data = orjson.dumps({**page, "timestamp": _iso(t), "properties": {
                    "url": f"{SITE}/", "title": "Caf\u00e9"}}).replace("é".encode(), b"\xe9")
            self._add(Line(t, 0, data, None, None, outcome="failed", reason=reason))
        if rng.random() < BLANK_LINE_RATE * count / MALFORMED_RATE:
            self._add(Line(day_start_ms + rng.randrange(DAY_MS), 0, b"", None, None,
                           outcome="dropped", reason="empty_record"))


class _Session:
    """One visit: builds legacy or nested records for one device."""

    def __init__(self, gen: _Generator, device: Device, user_id: str | None, session,
                 referrer: str | None, bot_kind: str | None = None):
        self.gen = gen
        self.rng = gen.rng
        self.device = device
        self.user_id = user_id
        self.session = session
        self.referrer = referrer
        self.bot_kind = bot_kind
        self.url = None
        self.view = (self.rng.uniform(-10, 5), self.rng.uniform(-180, 180), 100.0)

    def page(self, t: int, url: str, name: str, space: Space | None = None) -> int:
        properties = {"url": url, "path": url.split(".com", 1)[1] or "/", "title": name}
        if self.url or self.referrer:
            properties["referrer"] = self.url or self.referrer
        if space is not None:
            properties.update(_space_properties(space))
            properties["price"] = space.price
            properties["bedrooms"] = space.bedrooms
        self.url = url
        # page views come from the marketing site's Segment snippet, always legacy
        return self._legacy(t, {"type": "page", "name": name}, properties, segment=True)

    def identify(self, t: int) -> int:
        traits = {"plan": self.rng.choice(("renter", "buyer", "agent")),
                  "emailDomain": self.rng.choice(("gmail.com", "outlook.com", "icloud.com"))}
        if self.device.nested_sdk and self.url and self.url.startswith(SITE):
            return self._nested(t, {"type": "identify", "traits": traits}, {})
        return self._legacy(t, {"type": "identify", "traits": traits}, {}, segment=True)

    def track(self, t: int, event: str, space: Space, room: Room | None, extra: dict,
              coordinates: dict | None = None) -> int:
        properties = _space_properties(space)
        if room is not None:
            properties["roomId"] = room.room_id
            properties["roomName"] = room.name
        if coordinates is not None:
            properties["coordinates"] = coordinates
        properties.update(extra)
        if self.url:
            properties["url"] = self.url
        if self.device.nested_sdk:
            return self._nested(t, {"type": "track", "event": event}, properties)
        if self.rng.random() < 0.1:  # the old viewer sends `event` without `type`
            return self._legacy(t, {"event": event}, properties, segment=False)
        return self._legacy(t, {"type": "track", "event": event}, properties, segment=False)

    def look_around(self, t: int, space: Space, room: Room) -> tuple[int, int]:
        """Drag the 360° view: pitch/yaw/hfov samples every few seconds while in the room."""
        rng = self.rng
        written = 0
        dwell_ms = int(rng.lognormvariate(math.log(28_000), 0.7))
        end = t + dwell_ms
        pitch, yaw, hfov = self.view
        target_yaw, target_pitch = rng.choice(room.highlights)
        while t < end:
            if rng.random() < 0.3:  # turn to another highlight of the room
                target_yaw, target_pitch = rng.choice(room.highlights)
            turn = (target_yaw - yaw + 180) % 360 - 180  # the short way round
            yaw += turn * 0.55 + rng.gauss(0, 14)
            yaw = (yaw + 180) % 360 - 180  # viewers report yaw in [-180, 180)
            pitch += (target_pitch - pitch) * 0.5 + rng.gauss(0, 7)
            pitch = max(-85.0, min(85.0, pitch))
            if rng.random() < 0.06:  # a look at the ceiling or the floor
                pitch = rng.choice((-1, 1)) * rng.uniform(46, 80)
            hfov = max(30.0, min(120.0, hfov + rng.gauss(0, 6)))
            shown_yaw = round(yaw, 2)
            shown_yaw = -180.0 if shown_yaw >= 180 else shown_yaw
            coords = {"pitch": round(pitch, 2), "yaw": shown_yaw, "hfov": round(hfov, 1)}
            if not self.device.nested_sdk and rng.random() < 0.2:
                coords = {k: str(v) for k, v in coords.items()}  # the old viewer sends strings
            written += self.track(t, "Room View Position", space, room, {}, coordinates=coords)
            t += int(rng.uniform(2_500, 9_000))
        self.view = (pitch, yaw, hfov)
        return t, written

    def _context(self, url: str | None) -> dict:
        context = {"userAgent": self.device.user_agent, "ip": self.device.ip, "locale": "en-US"}
        if url:
            context["page"] = {"url": url, "path": url.split(".com", 1)[1] or "/"}
        return context

    def _legacy(self, t: int, head: dict, properties: dict, segment: bool) -> int:
        """Legacy shape; Segment's analytics.js adds messageId/timestamps/context."""
        rng = self.rng
        gen = self.gen
        arrival = gen._arrival(t)
        record = dict(head)
        event_id = None
        if segment:
            event_id = f"ajs-next-{rng.getrandbits(128):032x}"
            record["messageId"] = event_id
            record["anonymousId"] = self.device.anonymous_id
            if self.user_id:
                record["userId"] = self.user_id
            record["sessionId"] = self.session
            record["properties"] = properties
            record["context"] = {**self._context(self.url),
                                 "library": {"name": "analytics.js", "version": "next-1.70.0"}}
            record["originalTimestamp"] = _iso(t)
            record["sentAt"] = _iso(t + rng.randint(5, 400))
            if rng.random() < 0.12:
                record["timestamp"] = _iso_offset(t, rng.choice(UTC_OFFSETS))
            else:
                record["timestamp"] = _iso(t)
        else:
            # the old in-house viewer SDK: no ids, sometimes an eventId, a plain timestamp
            if rng.random() < 0.15:
                event_id = _uuid(rng)
                record["eventId"] = event_id
            record["anonymousId"] = self.device.anonymous_id
            if self.user_id:
                record["userId"] = self.user_id
            record["sessionId"] = self.session
            record["appId"] = "tour-viewer-legacy"
            record["timestamp"] = t if rng.random() < 0.25 else _iso(t)
            record["properties"] = properties
            record["context"] = self._context(None)
        gen._emit(record, arrival, t, event_id, self.bot_kind)
        return 1

    def _nested(self, t: int, event_data: dict, properties: dict) -> int:
        """Nested shape, as exported from MongoDB by the current viewer SDK."""
        gen = self.gen
        arrival = gen._arrival(t)
        oid = gen._object_id(t)
        metadata = {"anonymousId": self.device.anonymous_id, "appId": "tour-viewer",
                    "userAgent": self.device.user_agent, "ip": self.device.ip,
                    "sdkVersion": "3.4.1"}
        data = dict(event_data)
        if self.user_id:
            data["userId"] = self.user_id
        data["sessionId"] = self.session
        data["properties"] = properties
        record = {"_id": {"$oid": oid}, "eventTimestamp": gen._nested_timestamp(t),
                  "metadata": metadata, "eventData": data}
        gen._emit(record, arrival, t, oid, self.bot_kind)
        return 1


# ---- small helpers ---------------------------------------------------------------------
def _space_properties(space: Space) -> dict:
    return {"spaceId": space.space_id, "spaceName": space.name, "spaceType": space.space_type,
            "community": space.community, "building": space.building,
            "floorplan": space.floorplan}


def _dwell(rng: random.Random, median_ms: int) -> int:
    return int(rng.lognormvariate(math.log(median_ms), 0.6))


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:]}"


def _octets(rng: random.Random) -> str:
    return f"{rng.randrange(1, 255)}.{rng.randrange(1, 255)}"


def _residential_ip(rng: random.Random) -> str:
    return f"{rng.choice((73, 98, 24, 71, 174, 86, 92, 109))}.{rng.randrange(256)}." + _octets(rng)


def _day_ms(day: date) -> int:
    return (day - date(1970, 1, 1)).days * DAY_MS


def _iso(ms: int, micros: int | None = None) -> str:
    sub_ms = "" if micros is None else f"{micros:03d}"
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}{sub_ms}Z"
    )


def _iso_offset(ms: int, offset: str) -> str:
    sign = 1 if offset[0] == "+" else -1
    shift = sign * (int(offset[1:3]) * 60 + int(offset[4:6])) * 60_000
    local = ms + shift
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(local // 1000)) + (
        f".{local % 1000:03d}{offset}"
    )


# Sessions start more often in the (US) afternoon and evening; weekends are busier.
HOUR_WEIGHTS = (3, 2, 2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10, 9, 9, 8, 7, 5, 4)


def _day_weight(day: date, index: int, days: int) -> float:
    weekend = 1.25 if day.weekday() >= 5 else 1.0
    growth = 1.0 + 0.15 * index / max(days - 1, 1)
    return weekend * growth


def generate_sample(out: str | Path, events: int = 50_000, days: int = 14, seed: int = 7,
                    end_date: date | None = None, progress=None) -> Summary:
    """Write the archive, stream and truth files for about `events` lines into `out`."""
    if events < 100:
        raise ValueError("--events must be at least 100")
    if days < 2:
        raise ValueError("--days must be at least 2 (archive days and a stream day)")
    end_date = end_date or (clock.today() - timedelta(days=1))
    out = Path(out)
    _prepare_out(out)
    gen = _Generator(events, days, seed, end_date)
    summary = Summary(out=out, first_day=gen.first_date, last_day=end_date)
    writer = _Writer(out, gen)

    # Budget: humans and each bot kind get their share; anomalies come on top of it.
    anomalies = EXACT_DUPLICATE_RATE + REPLAY_RATE + SEGMENT_RETRY_RATE * 0.3 + MALFORMED_RATE
    base = events / (1 + anomalies)
    weights = [_day_weight(gen.first_date + timedelta(days=i), i, days) for i in range(days)]
    scale = base / sum(weights)
    carry: dict[str, float] = {}
    for index in range(days):
        day = gen.first_date + timedelta(days=index)
        day_start = _day_ms(day)
        budget = weights[index] * scale
        kinds = [("human", budget * (1 - sum(BOT_SHARES.values())))] + [
            (kind, budget * share) for kind, share in BOT_SHARES.items()
        ]
        # each kind fills its share of the day (minus what it overshot before: a scraper
        # session is hundreds of lines); files are sorted by arrival afterwards
        for kind, kind_budget in kinds:
            written = 0
            kind_budget += carry.get(kind, 0.0)
            while written < kind_budget:
                hour = gen.rng.choices(range(24), HOUR_WEIGHTS)[0]
                start = day_start + hour * 3_600_000 + gen.rng.randrange(3_600_000)
                if kind == "human":
                    written += gen.human_session(start)
                else:
                    written += gen.bot_session(kind, start)
            carry[kind] = kind_budget - written
        gen.add_malformed(day_start, max(1, round(budget * MALFORMED_RATE)))
        # lines of this day and the day before are complete except for late/replayed copies
        for finished in sorted(d for d in gen.buffers if d < day_start // DAY_MS):
            if finished * DAY_MS < gen.stream_start_ms:
                writer.flush_archive(finished)
        if progress:
            progress(index + 1, days)
    writer.finish()
    summary.lines = writer.lines
    summary.archive_files = writer.archive_files
    summary.stream_files = writer.stream_files
    summary.counts = writer.counts
    return summary


class _Writer:
    """Adds duplicates to finished days, sorts by arrival and writes files and truth."""

    def __init__(self, out: Path, gen: _Generator):
        self.out = out
        self.gen = gen
        self.lines = 0
        self.archive_files: list[Path] = []
        self.stream_files: list[Path] = []
        self.counts: Counter = Counter()
        self.truth_rows: list[bytes] = []
        self.truth_path = out / "truth.jsonl"
        self.truth = open(self.truth_path, "wb")  # noqa: SIM115 - closed in finish()
        self.seen_ids: set[str] = set()

    def _take(self, day_index: int) -> list[Line]:
        lines = self.gen.buffers.pop(day_index, [])
        self.gen.add_duplicates(lines)
        # duplicates may land on this day (still to write) or on later days
        lines.extend(self.gen.buffers.pop(day_index, []))
        lines.sort(key=lambda line: (line.arrival_ms, line.seq))
        return lines

    def flush_archive(self, day_index: int) -> None:
        lines = self._take(day_index)
        if not lines:
            return
        day = date(1970, 1, 1) + timedelta(days=day_index)
        folder = self.out / "archive" / f"dt={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "events.jsonl.gz"
        with open(path, "wb") as raw, gzip.GzipFile(
            filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0
        ) as handle:
            handle.write(b"\n".join(line.data for line in lines) + b"\n")
        self._truth(lines, "archive")
        self.archive_files.append(path)

    def flush_stream(self, day_index: int) -> None:
        lines = self._take(day_index)
        if not lines:
            return
        day = date(1970, 1, 1) + timedelta(days=day_index)
        folder = self.out / "stream"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"events-{day.isoformat()}.jsonl"
        path.write_bytes(b"\n".join(line.data for line in lines) + b"\n")
        self._truth(lines, "stream")
        self.stream_files.append(path)

    def _truth(self, lines: list[Line], location: str) -> None:
        rows = []
        for line in lines:
            is_late = (
                line.event_ms is not None and line.arrival_ms - line.event_ms >= DAY_MS
            )
            # a replay whose first copy was never written cannot happen: originals sort first
            rows.append(orjson.dumps({
                "event_id": line.event_id,
                "is_bot": line.bot_kind is not None,
                "bot_kind": line.bot_kind,
                "is_duplicate": line.is_duplicate,
                "is_late": is_late,
                "is_malformed": line.outcome == "failed",
                "outcome": line.outcome,
                "reason": line.reason,
                "location": location,
            }))
            self.counts["lines"] += 1
            self.counts[f"location:{location}"] += 1
            if line.outcome != "ok":
                self.counts[f"{line.outcome}:{line.reason}"] += 1
            elif line.is_duplicate:
                self.counts["duplicate"] += 1
            else:
                self.counts["bot:" + line.bot_kind if line.bot_kind else "human"] += 1
            if is_late and line.outcome == "ok":
                self.counts["late"] += 1
        self.truth.write(b"\n".join(rows) + b"\n")
        self.lines += len(lines)

    def finish(self) -> None:
        gen = self.gen
        stream_first = gen.stream_start_ms // DAY_MS
        for day_index in sorted(d for d in gen.buffers if d < stream_first):
            self.flush_archive(day_index)
        last = _day_ms(gen.end_date) // DAY_MS
        for day_index in range(stream_first, last):
            self.flush_stream(day_index)
        # the last file also takes what arrives after midnight (sessions running over)
        for day_index in sorted(d for d in gen.buffers if d > last):
            gen.buffers.setdefault(last, []).extend(gen.buffers.pop(day_index))
        self.flush_stream(last)
        self.truth.close()
        (self.out / MARKER_FILE).write_text(
            "written by `webevents generate`; its archive/, stream/ and truth.jsonl are "
            "replaced on the next run\n"
        )


def _prepare_out(out: Path) -> None:
    """Clear a previous sample, but never a folder that `generate` did not write."""
    out.mkdir(parents=True, exist_ok=True)
    ours = (out / MARKER_FILE).exists()
    for name in ("archive", "stream", "truth.jsonl"):
        target = out / name
        if not target.exists():
            continue
        if not ours:
            raise FileExistsError(
                f"{target} exists and {out} was not written by `webevents generate`; "
                "choose an empty --out folder"
            )
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()


def generate_command(args) -> int:
    """`webevents generate`: write the sample and print what it holds."""
    console = Console(stderr=True)
    try:
        end_date = date.fromisoformat(args.end_date) if args.end_date else None
    except ValueError:
        console.print(f"[red]error:[/] --end-date {args.end_date!r} is not YYYY-MM-DD")
        return 2
    started = time.perf_counter()
    try:
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("generating days", total=args.days)
            summary = generate_sample(
                args.out, args.events, args.days, args.seed, end_date,
                progress=lambda done, total: bar.update(task, completed=done),
            )
    except (ValueError, FileExistsError) as error:
        console.print(f"[red]error:[/] {error}", soft_wrap=True, highlight=False)
        return 2
    elapsed = time.perf_counter() - started
    counts = summary.counts
    bots = sum(v for k, v in counts.items() if k.startswith("bot:"))
    failed = sum(v for k, v in counts.items() if k.startswith("failed:"))
    console.print(
        f"wrote {summary.lines:,} lines for {summary.first_day} .. {summary.last_day} "
        f"into {summary.out}/ in {elapsed:.1f}s: "
        f"{len(summary.archive_files)} archive days, {len(summary.stream_files)} stream files; "
        f"{counts['human']:,} human, {bots:,} bot, {counts['duplicate']:,} duplicate, "
        f"{counts['late']:,} late, {failed:,} malformed, "
        f"{counts.get('dropped:empty_record', 0):,} blank"
    )
    return 0
