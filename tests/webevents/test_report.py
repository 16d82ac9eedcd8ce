"""The HTML report: self-contained, every chart drawn, checked in a real headless Chromium."""

from __future__ import annotations

import datetime as dt
import math
import random
import re

import pytest

from tests.e2e.browser import measure, screenshot
from webevents.local import report

DAYS = [dt.date(2026, 11, 11) + dt.timedelta(days=i) for i in range(14)]

# tests share a module fixture: keep them on one xdist worker (make test: --dist loadgroup)
pytestmark = pytest.mark.xdist_group("report_page")


def report_data() -> dict:
    """Rows shaped as report.QUERIES returns them, for a fortnight of traffic."""
    rng = random.Random(5)
    daily = [
        {"day": day, "human_event_count": 3000 + 40 * i, "bot_event_count": 300 + 5 * i,
         "human_session_count": 120 + i, "human_device_count": 100, "identified_user_count": 30,
         "avg_data_quality_score": 0.9}
        for i, day in enumerate(DAYS)
    ]
    rooms = [
        {"space_id": f"space-{i}", "room_id": f"room-{i}", "space_name": f"Loft {i}",
         "room_name": name, "space_type": "apartment", "views": 900 - 50 * i,
         "sessions": 80 - i, "dwell_seconds": 5000.0, "high": 40, "medium": 300, "low": 500,
         "no_3d": 60, "coverage": 0.4}
        for i, name in enumerate(["LIVING ROOM", "KITCHEN", "PRIMARY BEDROOM", "BALCONY",
                                  "BATHROOM", "LOBBY", "GARAGE", "OFFICE", "PATIO"])
    ]
    heatmap = []
    for i in range(3):
        cells = {}
        for _ in range(600):
            yaw = (rng.gauss(30 * i, 70) + 180) % 360 - 180
            pitch = max(-89.0, min(89.0, rng.gauss(0, 15)))
            key = (math.floor((yaw + 180) / 10), math.floor((pitch + 90) / 10))
            cells[key] = cells.get(key, 0) + 1
        heatmap += [
            {"space_id": f"space-{i}", "room_id": f"room-{i}", "space_name": f"Loft {i}",
             "room_name": rooms[i]["room_name"], "yaw_cell": y, "pitch_cell": p, "views": n}
            for (y, p), n in cells.items()
        ]
    quality = [
        {"day": day, "event_count": 3300, "avg_score": 0.88 + 0.005 * (i % 3),
         "score_perfect_count": 2000, "score_0_8_to_1_count": 900,
         "score_0_5_to_0_8_count": 350, "score_below_0_5_count": 50,
         "duplicate_copy_count": 40, "events_failing_checks": 1300}
        for i, day in enumerate(DAYS)
    ]
    return {
        "missing": {},
        "daily": daily,
        "totals": [{"events": 50_000, "human_events": 45_000, "bot_events": 5_000,
                    "human_sessions": 1800, "human_devices": 1500, "identified_users": 400,
                    "spaces": 40, "rooms": 250, "avg_quality": 0.9, "duplicate_copies": 900,
                    "first_day": DAYS[0], "last_day": DAYS[-1]}],
        "funnel": [{"entry": 1800, "external_referral": 1100, "space_view": 1500,
                    "room_exploration": 1100, "engaged_exit": 700}],
        "rooms": rooms,
        "heatmap": heatmap,
        "bots": [{"bot_reason": "ua_crawler", "events": 2500},
                 {"bot_reason": "high_event_rate", "events": 1800},
                 {"bot_reason": "no_dwell", "events": 900}],
        "quality": quality,
        "checks": [{"check_name": "missing_space", "events": 9000},
                   {"check_name": "content_derived_id", "events": 4000}],
    }


SUMMARY = {
    "lake": "/tmp/lake", "name": "all inputs", "records_in": 51_000, "landed": 50_700,
    "skipped": 0, "failed": 290, "dropped": 10, "balanced": True,
    "failed_by_reason": {"invalid_json": 150, "unknown_shape": 140},
    "sources": [
        {"name": "archive via sql/backfill", "records_in": 44_000, "landed": 43_750,
         "skipped": 0, "failed": 240, "dropped": 10, "balanced": True},
        {"name": "stream via Firehose stand-in", "records_in": 7_000, "landed": 6_950,
         "skipped": 0, "failed": 50, "dropped": 0, "balanced": True},
    ],
    "raw_rows": 50_700, "analytics_rows": 49_800, "duplicates_removed": 900,
}


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    path = folder / "report.html"
    path.write_text(report.render_report(report_data(), SUMMARY), encoding="utf-8")
    return path


def test_page_is_self_contained(page):
    text = page.read_text()
    assert "<script" not in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # no CDN, no remote asset
    assert "@import" not in text and "url(" not in text


def test_every_section_and_number_is_there(page):
    text = page.read_text()
    for section in ("kpis", "traffic", "funnel", "bots", "spatial", "quality", "reconciliation"):
        assert f'id="{section}"' in text
    assert "51,000" in text and "50,700" in text and "balanced" in text
    assert "83.3%" in text  # space view / entry = 1500 / 1800
    assert 'id="missing"' not in text


def test_unbalanced_reconciliation_is_shown_as_off():
    broken = {**SUMMARY, "dropped": 11, "balanced": False}  # as reconcile counts it
    assert ">OFF<" in report.render_report(report_data(), broken)


def test_missing_mart_is_named_not_fatal():
    data = report_data()
    data["funnel"] = []
    data["missing"] = {
        "funnel": "Catalog Error: Table with name journey_funnel_daily does not exist"
    }
    text = report.render_report(data, SUMMARY)
    assert "journey_funnel_daily does not exist" in text
    assert 'id="chart-traffic"' in text


def test_charts_render_in_headless_chromium(page, tmp_path):
    measured = measure(page, tmp_path)
    charts = {chart["id"]: chart for chart in measured["charts"]}
    assert {"chart-traffic", "chart-funnel", "chart-bots", "chart-exploration",
            "chart-quality", "chart-checks", "heatmap-0", "heatmap-1", "heatmap-2"} <= set(charts)
    for chart in charts.values():
        assert chart["width"] > 200 and chart["height"] > 50, chart
        assert chart["drawn"] > 0, chart
    data = report_data()
    assert charts["chart-traffic"]["bars"] == 2 * len(DAYS)
    assert charts["chart-traffic"]["points"] == len(DAYS)
    assert charts["chart-bots"]["bars"] == len(data["bots"])
    assert charts["chart-quality"]["bars"] == 4 * len(DAYS)
    cells_room_0 = sum(1 for row in data["heatmap"] if row["room_id"] == "room-0")
    assert charts["heatmap-0"]["cells"] == cells_room_0
    assert measured["sections"][:2] == ["traffic", "funnel"]


def test_screenshot(page, tmp_path):
    png = screenshot(page, tmp_path / "report.png", tmp_path, height=1600)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000  # a blank page compresses to a few kB
