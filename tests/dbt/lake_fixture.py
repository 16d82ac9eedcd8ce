"""A small, deterministic analytics.web_events for the dbt tests and benchmark."""

from __future__ import annotations

import json
import random
import sys
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from webevents import LAMBDA_DIR

sys.path.insert(0, str(LAMBDA_DIR))
import landing_contract  # noqa: E402

SPACES = (
    ("space-loft", "Harbour Loft", "apartment", ("kitchen", "living", "bedroom")),
    ("space-villa", "Hill Villa", "house", ("hall", "garden", "studio", "attic")),
    ("space-office", "Dock Office", "office", ("lobby", "meeting")),
)
REFERRERS = ("", "", "https://www.google.com/", "https://news.example.org/a")
# Names as sql/enrich and sql/bots write them (docs/data-quality.md, docs/bots.md).
QUALITY_CHECKS = ("missing_user_agent", "missing_space", "future_timestamp")
CRAWLER_REASONS = ["many_pages_per_session", "ua_crawler"]  # sorted, as the bot merge writes


def _event(event_id: str, at: datetime, **fields) -> dict:
    row = {
        "event_id": event_id,
        "event_timestamp": at,
        "event_date": at.date(),
        "event_type": "track",
        "event_name": "view_changed",
        "anonymous_id": None,
        "user_id": None,
        "session_id": None,
        "app_id": "viewer",
        "page_url": None,
        "page_path": None,
        "page_referrer": None,
        "user_agent": "Mozilla/5.0",
        "ip_address": "198.51.100.7",
        "space_id": None,
        "space_name": None,
        "space_type": None,
        "room_id": None,
        "room_name": None,
        "community": "harbour",
        "building": "b1",
        "floorplan": "fp1",
        "coordinates": None,
        "properties": "{}",
        "source_format": "nested",
        "received_at": at + timedelta(seconds=2),
        "load_source": "firehose",
        "data_quality_score": 1.0,
        "quality_issues": [],
        "is_bot": False,
        "bot_reasons": [],
        "duplicate_count": 1,
        "processed_timestamp": at + timedelta(minutes=5),
    }
    row.update(fields)
    return row


def day_events(day: date, visitors: int = 12, seed: int = 0) -> list[dict]:
    """One day of traffic: tours of spaces, logins, a shared device, a bot."""
    rng = random.Random(f"{day.isoformat()}-{seed}")
    rows: list[dict] = []
    serial = 0

    def next_id() -> str:
        nonlocal serial
        serial += 1
        return f"{day:%Y%m%d}-{seed}-{serial:05d}"

    for visitor in range(visitors):
        # the first visitors reuse a few devices (logins, shared devices); the rest vary
        device = f"anon-{visitor % 9}" if visitor < 18 else f"anon-{day.toordinal() % 7}-{visitor}"
        tracker = f"s-{day:%m%d}-{visitor}"
        at = datetime.combine(day, datetime.min.time()) + timedelta(
            minutes=rng.randint(0, 23 * 60)
        )
        space_id, space_name, space_type, rooms = rng.choice(SPACES)
        user = None
        if visitor % 9 in (1, 2):
            user = "user-a" if (day.toordinal() + visitor) % 2 else "user-b"
        elif visitor % 9 == 3:
            user = f"user-{visitor % 4}"
        referrer = rng.choice(REFERRERS)
        for step in range(rng.randint(2, 9)):
            room = rng.choice(rooms)
            is_page = step == 0
            issues = [QUALITY_CHECKS[step % 3]] if rng.random() < 0.15 else []
            coordinates = None
            if not is_page and rng.random() < 0.85:
                coordinates = {
                    "pitch": round(rng.uniform(-80, 80), 2),
                    "yaw": round(rng.uniform(-180, 180), 2),
                    "hfov": round(rng.uniform(60, 110), 1),
                }
            rows.append(
                _event(
                    next_id(),
                    at,
                    event_type="page" if is_page else "track",
                    event_name="page" if is_page else "view_changed",
                    anonymous_id=device,
                    user_id=user if step >= 1 else None,
                    session_id=tracker,
                    page_url=f"https://tours.example.com/tour/{space_id}",
                    page_path=f"/tour/{space_id}",
                    page_referrer=referrer if is_page else None,
                    space_id=space_id,
                    space_name=space_name,
                    space_type=space_type,
                    room_id=None if is_page else f"{space_id}-{room}",
                    room_name=None if is_page else room,
                    coordinates=coordinates,
                    quality_issues=issues,
                    data_quality_score=round(1.0 - 0.25 * len(issues), 2),
                )
            )
            at += timedelta(seconds=rng.randint(5, 900))
    # a visitor who pauses 50 minutes: two sessions, until late_events() bridges the pause
    for minute in PAUSED_VISIT_MINUTES:
        rows.append(
            _event(
                next_id(),
                datetime.combine(day, datetime.min.time()) + timedelta(minutes=minute),
                anonymous_id="anon-pause",
                session_id=f"s-{day:%m%d}-pause",
                page_path="/tour/space-loft",
                space_id="space-loft",
                space_type="apartment",
                room_id="space-loft-kitchen",
            )
        )
    # a declared crawler that keeps one tracker session open all day, one page every 20
    # minutes: 72 page views, over the 60 of many_pages_per_session
    at = datetime.combine(day, datetime.min.time()) + timedelta(minutes=7)
    while at.date() == day:
        rows.append(
            _event(
                next_id(),
                at,
                event_type="page",
                event_name="page",
                anonymous_id="bot-crawler",
                session_id="bot-session",
                page_url="https://tours.example.com/",
                page_path="/",
                user_agent="ExampleBot/2.1",
                is_bot=True,
                bot_reasons=list(CRAWLER_REASONS),
            )
        )
        at += timedelta(minutes=20)
    return rows


def history(end: date, days: int, visitors: int = 12) -> list[dict]:
    """`days` days of traffic ending on `end`."""
    rows: list[dict] = []
    for offset in range(days - 1, -1, -1):
        rows.extend(day_events(end - timedelta(days=offset), visitors))
    return rows


# minutes after midnight of the paused visitor's events; the late bridge comes at 9:30
PAUSED_VISIT_MINUTES = (540, 545, 595, 600)
BRIDGE_MINUTE = 570


def late_events(day: date, count: int = 6) -> list[dict]:
    """Events for an earlier day that arrive late: some join sessions, one merges two."""
    base = day_events(day)
    bridge = dict(next(row for row in base if row["anonymous_id"] == "anon-pause"))
    bridge["event_id"] = f"late-{day:%Y%m%d}-bridge"
    bridge["event_timestamp"] = datetime.combine(day, datetime.min.time()) + timedelta(
        minutes=BRIDGE_MINUTE)
    bridge["processed_timestamp"] = bridge["event_timestamp"] + timedelta(days=3)
    rows = [bridge]
    for index, source in enumerate(base[:count]):
        late = dict(source)
        late["event_id"] = f"late-{day:%Y%m%d}-{index}"
        late["event_timestamp"] = source["event_timestamp"] + timedelta(minutes=25)
        late["event_date"] = late["event_timestamp"].date()
        late["processed_timestamp"] = late["processed_timestamp"] + timedelta(days=3)
        late["quality_issues"] = ["late_arrival"]
        rows.append(late)
    return rows


def insert(con, rows: list[dict]) -> None:
    """Append rows to analytics.web_events and (as landed copies) raw.web_events."""
    if not rows:
        return
    types = {name: _DUCKDB_TYPES[kind] for name, kind, _ in landing_contract.ANALYTICS_COLUMNS}
    columns = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in types.items()) + "}"
    landing = ", ".join(landing_contract.LANDING_COLUMN_NAMES)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.jsonl"
        path.write_text("".join(json.dumps(row, default=str) + "\n" for row in rows))
        source = f"read_json('{path}', format = 'newline_delimited', columns = {columns})"
        con.execute(f"insert into analytics.web_events by name select * from {source}")
        con.execute(f"insert into raw.web_events by name select {landing} from {source}")


# Iceberg type -> DuckDB type, for building the two source tables from the contract.
_DUCKDB_TYPES = {
    "string": "varchar",
    "timestamp": "timestamp",
    "date": "date",
    "double": "double",
    "boolean": "boolean",
    "int": "integer",
    "array<string>": "varchar[]",
    landing_contract.COORDINATES_TYPE: "struct(pitch double, yaw double, hfov double)",
}


def create_lake(folder: Path) -> duckdb.DuckDBPyConnection:
    """A lake database with raw.web_events and analytics.web_events, per the landing contract."""
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(folder / "lake.duckdb"))
    for schema, columns in (
        ("raw", landing_contract.LANDING_COLUMNS),
        ("analytics", landing_contract.ANALYTICS_COLUMNS),
    ):
        con.execute(f"create schema if not exists {schema}")
        body = ", ".join(f"{name} {_DUCKDB_TYPES[kind]}" for name, kind, _ in columns)
        con.execute(f"create table if not exists {schema}.web_events ({body})")
    return con
