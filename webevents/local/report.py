"""The HTML report: `<lake>/report.html`, one self-contained file with inline SVG charts.

It reads the dbt marts in the lake (every query is in QUERIES below) and the run's
reconciliation (`<lake>/run-summary.json`, written by `webevents run`). No scripts, no
CDN: charts are SVG drawn here, so the file opens offline and prints as it looks.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import textwrap
from pathlib import Path
from typing import Any

import duckdb

from webevents import clock

REPORT_FILE = "report.html"
SUMMARY_FILE = "run-summary.json"
ASSETS = Path(__file__).with_name("report_assets")
HEATMAP_ROOMS = 6
YAW_BIN = 10  # degrees per heat-map cell
PITCH_BIN = 10

# Every query the report runs, against the marts dbt builds (schema `marts`) in the lake.
QUERIES: dict[str, str] = {
    "daily": """
        select
            kpi_date as day,
            human_event_count,
            bot_event_count,
            human_session_count,
            human_device_count,
            identified_user_count,
            avg_data_quality_score
        from marts.daily_kpis
        order by kpi_date
    """,
    "totals": """
        select
            count(*) as events,
            count(*) filter (where not is_bot) as human_events,
            count(*) filter (where is_bot) as bot_events,
            count(distinct session_key) filter (where not is_bot) as human_sessions,
            count(distinct device_key) filter (where not is_bot) as human_devices,
            count(distinct stitched_user_id) filter (where not is_bot) as identified_users,
            count(distinct space_id) as spaces,
            count(distinct room_id) as rooms,
            avg(data_quality_score) as avg_quality,
            sum(duplicate_count - 1) as duplicate_copies,
            min(event_date) as first_day,
            max(event_date) as last_day
        from marts.fct_web_events
    """,
    "funnel": """
        select
            sum(entry_sessions) as entry,
            sum(external_referral_sessions) as external_referral,
            sum(space_view_sessions) as space_view,
            sum(room_exploration_sessions) as room_exploration,
            sum(engaged_exit_sessions) as engaged_exit
        from marts.journey_funnel_daily
    """,
    "rooms": """
        select
            space_id,
            room_id,
            max(space_name) as space_name,
            max(room_name) as room_name,
            max(space_type) as space_type,
            sum(view_count) as views,
            sum(session_count) as sessions,
            sum(dwell_seconds) as dwell_seconds,
            sum(high_exploration_views) as high,
            sum(medium_exploration_views) as medium,
            sum(low_exploration_views) as low,
            sum(no_3d_data_views) as no_3d,
            sum(sphere_coverage_share * view_count) / nullif(sum(view_count), 0)
                as coverage
        from marts.spatial_room_engagement_daily
        where room_id is not null
        group by space_id, room_id
        order by views desc, space_id, room_id
        limit 12
    """,
    # pitch/yaw cells of human views in the busiest rooms (bins of YAW_BIN x PITCH_BIN)
    "heatmap": f"""
        with busiest as (
            select space_id, room_id, count(*) as views
            from marts.fct_web_events
            where not is_bot and room_id is not null and view_yaw is not null
                and view_pitch is not null
            group by space_id, room_id
            order by views desc, space_id, room_id
            limit {HEATMAP_ROOMS}
        )
        select
            events.space_id,
            events.room_id,
            max(events.space_name) as space_name,
            max(events.room_name) as room_name,
            max(busiest.views) as room_views,
            least(floor((events.view_yaw + 180) / {YAW_BIN}), {360 // YAW_BIN - 1}) as yaw_cell,
            least(floor((events.view_pitch + 90) / {PITCH_BIN}), {180 // PITCH_BIN - 1})
                as pitch_cell,
            count(*) as views
        from marts.fct_web_events as events
        inner join busiest
            on events.space_id = busiest.space_id and events.room_id = busiest.room_id
        where not events.is_bot and events.view_yaw is not null
            and events.view_pitch is not null
        group by events.space_id, events.room_id, yaw_cell, pitch_cell
        order by room_views desc, events.space_id, events.room_id, yaw_cell, pitch_cell
    """,
    "bots": """
        select bot_reason, sum(reason_event_count) as events
        from marts.bot_traffic_daily
        group by bot_reason
        order by events desc, bot_reason
    """,
    "quality": """
        select
            event_date as day,
            event_count,
            avg_score,
            score_perfect_count,
            score_0_8_to_1_count,
            score_0_5_to_0_8_count,
            score_below_0_5_count,
            duplicate_copy_count,
            events_failing_checks
        from marts.quality_scores_daily
        order by event_date
    """,
    "checks": """
        select check_name, sum(failing_event_count) as events
        from marts.quality_check_failures_daily
        group by check_name
        having sum(failing_event_count) > 0
        order by events desc, check_name
    """,
}


# ---- data ----------------------------------------------------------------------------
def load_report_data(database: str | Path) -> dict[str, Any]:
    """Run QUERIES on the lake (read-only); a missing mart is recorded, not fatal."""
    data: dict[str, Any] = {"missing": {}}
    con = duckdb.connect(str(database), read_only=True)
    try:
        for name, sql in QUERIES.items():
            try:
                cursor = con.execute(sql)
                columns = [d[0] for d in cursor.description]
                data[name] = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
            except duckdb.Error as error:
                data[name] = []
                data["missing"][name] = str(error).splitlines()[0]
    finally:
        con.close()
    return data


def write_report(lake: str | Path, summary: dict | None = None) -> Path:
    """Render `<lake>/report.html` from the marts and the run summary; returns its path."""
    lake = Path(lake)
    if summary is None and (lake / SUMMARY_FILE).exists():
        summary = json.loads((lake / SUMMARY_FILE).read_text())
    data = load_report_data(lake / "lake.duckdb")
    if summary is not None:  # the run summary keeps the headline exactly as the page shows it
        summary["headline"] = headline((data.get("totals") or [{}])[0], summary)
    path = lake / REPORT_FILE
    path.write_text(render_report(data, summary or {}), encoding="utf-8")
    return path


# ---- page ----------------------------------------------------------------------------
def render_report(data: dict[str, Any], summary: dict) -> str:
    """The whole page as one HTML string."""
    totals = (data.get("totals") or [{}])[0]
    first, last = totals.get("first_day"), totals.get("last_day")
    span = f"{first} to {last}" if first else "no events"
    generated = clock.now().strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        _cards(totals, summary),
        _changes(summary),
        _section_traffic(data),
        '<div class="grid2">' + _section_funnel(data) + _section_bots(data, totals) + "</div>",
        _section_spatial(data),
        _section_quality(data),
        _section_reconciliation(summary),
    ]
    missing = data.get("missing") or {}
    if missing:
        items = "".join(
            f"<li><code>{_html(name)}</code>: {_html(error)}</li>"
            for name, error in missing.items()
        )
        sections.append(
            f'<section id="missing"><h2>Not shown</h2><ul class="missing">{items}</ul></section>'
        )
    css = (ASSETS / "report.css").read_text()
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>Web events report, {_html(span)}</title><style>{css}</style></head><body>"
        f"<header><h1>Web events: traffic, journeys, 3D engagement, bots and quality</h1>"
        f"<p>{_html(span)} &middot; lake {_html(summary.get('lake', ''))} &middot; "
        f"generated {generated}</p></header><main>{''.join(sections)}</main>"
        "<footer>Built by <code>webevents run</code> from the dbt marts in the local lake. "
        "Bots are excluded from sessions, funnel and heat maps.</footer></body></html>\n"
    )


HEADLINE_LABELS = {
    "events": "events", "human_sessions": "human sessions", "devices": "devices",
    "identified_users": "identified users", "bot_share_pct": "bot share",
    "avg_quality_score": "avg quality score", "duplicates_removed": "duplicates removed",
    "records_rejected": "records rejected",
}


def headline(totals: dict, summary: dict) -> dict[str, Any]:
    """The page's headline figures, as the run summary stores them and the cards show them
    (rounded as shown, so the page and the JSON agree exactly)."""
    events = int(totals.get("events") or 0)
    bots = int(totals.get("bot_events") or 0)
    quality = totals.get("avg_quality")
    return {
        "events": events,
        "human_sessions": int(totals.get("human_sessions") or 0),
        "devices": int(totals.get("human_devices") or 0),
        "identified_users": int(totals.get("identified_users") or 0),
        "bot_share_pct": round(100 * bots / events, 1) if events else None,
        "avg_quality_score": None if quality is None else round(float(quality), 3),
        "duplicates_removed": int(summary.get("duplicates_removed",
                                              totals.get("duplicate_copies")) or 0),
        "records_rejected": int(summary.get("failed") or 0),
    }


def headline_text(name: str, value: Any) -> str:
    """How a headline figure is written on its card."""
    if value is None:
        return "n/a"
    if name == "bot_share_pct":
        return f"{value:.1f}%"
    if name == "avg_quality_score":
        return f"{value:.3f}"
    return f"{value:,}"


def _cards(totals: dict, summary: dict) -> str:
    figures = summary.get("headline") or headline(totals, summary)
    body = "".join(
        f'<div class="card" data-figure="{name}"><div class="value">'
        f"{_html(headline_text(name, figures.get(name)))}</div>"
        f'<div class="label">{label}</div></div>'
        for name, label in HEADLINE_LABELS.items()
    )
    return f'<div class="cards" id="kpis">{body}</div>'


def _changes(summary: dict) -> str:
    """The strip under the headline: what this run changed in the lake."""
    changes = summary.get("changes")
    if not changes:
        return ""
    rebuilt = changes.get("rebuilt_models") or {}
    touched = {name: f for name, f in rebuilt.items() if f["added"] or f["removed"]}
    models = ", ".join(f"{_html(name)} (+{_figure(f['added'])} &minus;{_figure(f['removed'])} rows)"
                       for name, f in touched.items())
    unchanged = len(rebuilt) - len(touched)
    if unchanged:
        models += f"{'; ' if models else ''}{unchanged} rebuilt with no row changed"
    items = [
        ("new events", _figure(changes.get("new_events"))),
        ("late events", _figure(changes.get("late_events"))),
        ("bots re-flagged", f"+{_figure(changes.get('bots_flagged'))} / "
                            f"&minus;{_figure(changes.get('bots_unflagged'))}"),
        ("models rebuilt from scratch", _figure(len(changes.get("models_rebuilt_from_scratch")
                                               or []))),
    ]
    cells = "".join(f'<div><b>{value}</b> <span>{label}</span></div>' for label, value in items)
    code = changes.get("code") or "no code changed since the last run"
    return (
        '<section id="changes" class="strip"><h2>What changed since the last run</h2>'
        f'<div class="strip-figures">{cells}</div>'
        f'<p class="note"><b>New events</b>: events added to analytics.web_events by this run; '
        "<b>late</b>: those dated before the newest day the lake already held; <b>bots "
        "re-flagged</b>: events whose bot flag the rules set (+) or cleared (&minus;); "
        f"<b>code</b>: {_html(code)}.{' Rebuilt: ' + models + '.' if models else ''}</p>"
        "</section>"
    )


def _section_traffic(data: dict) -> str:
    daily = data.get("daily") or []
    if not daily:
        return _empty("traffic", "Events and sessions per day", "daily", data)
    days = [str(row["day"]) for row in daily]
    chart = stacked_bars_with_line(
        days,
        [("human events", [row["human_event_count"] or 0 for row in daily], "var(--human)"),
         ("bot events", [row["bot_event_count"] or 0 for row in daily], "var(--bot)")],
        ("human sessions", [row["human_session_count"] or 0 for row in daily], "var(--session)"),
        chart_id="chart-traffic",
    )
    legend = _legend([("human events", "var(--human)"), ("bot events", "var(--bot)"),
                      ("human sessions (right axis)", "var(--session)")])
    return (
        '<section id="traffic"><h2>Events and sessions per day</h2>'
        f"{legend}{chart}"
        '<p class="def"><b>Columns</b>: events per UTC event date, people and bots stacked '
        "(left axis, events); <b>line</b>: human sessions by the day they started, 30 "
        "minutes without an event ending one (right axis, sessions).</p></section>"
    )


def _section_funnel(data: dict) -> str:
    row = (data.get("funnel") or [{}])[0]
    if not row or row.get("entry") is None:
        return _empty("funnel", "Journey funnel", "funnel", data)
    stages = [
        ("Entry", row["entry"]),
        ("Viewed a space", row["space_view"]),
        ("Explored rooms", row["room_exploration"]),
        ("Engaged exit", row["engaged_exit"]),
    ]
    chart = funnel_chart(stages, chart_id="chart-funnel")
    referral = row.get("external_referral") or 0
    return (
        '<section id="funnel"><h2>Journey funnel</h2>'
        '<p class="note">Human sessions reaching each stage (each stage needs the ones '
        "before it); percentages are conversion from the previous stage. "
        f"{_figure(referral)} sessions ({_pct(referral / row['entry'] if row['entry'] else None)})"
        " arrived from an external referrer.</p>"
        f"{chart}</section>"
    )


def _section_bots(data: dict, totals: dict) -> str:
    reasons = data.get("bots") or []
    events = totals.get("events") or 0
    if not reasons:
        return _empty("bots", "Bot traffic by reason", "bots", data)
    items = [(row["bot_reason"], row["events"] or 0) for row in reasons]
    chart = horizontal_bars(
        items, "var(--bot)", chart_id="chart-bots",
        value_label=lambda v: f"{_figure(v)} ({_pct(v / events if events else None)})",
        whole=events or None,
    )
    return (
        '<section id="bots"><h2>Bot traffic by reason</h2>'
        f'<p class="note">{_figure(totals.get("bot_events"))} of {_figure(events)} events '
        f"({_pct((totals.get('bot_events') or 0) / events if events else None)}) are flagged.</p>"
        f"{chart}"
        '<p class="def"><b>Bar</b>: events a rule of sql/bots flagged, as a share of all '
        "events (axis in %); an event flagged by several rules counts under each, so the "
        "bars add up to more than the bot share.</p></section>"
    )


def _section_spatial(data: dict) -> str:
    rooms = data.get("rooms") or []
    cells = data.get("heatmap") or []
    if not rooms and not cells:
        return _empty("spatial", "3D engagement per room", "rooms", data)
    levels = exploration_bars(rooms, chart_id="chart-exploration") if rooms else ""
    table_rows = "".join(
        "<tr>"
        f"<td>{_html(row['room_name'] or row['room_id'])}<br>"
        f"<small>{_html(row['space_name'])}</small></td>"
        f"<td>{_figure(row['views'])}</td><td>{_figure(row['sessions'])}</td>"
        f"<td>{_fixed((row['dwell_seconds'] or 0) / 60, 1)}</td>"
        f"<td>{_fixed((row['dwell_seconds'] or 0) / row['views'], 1) if row['views'] else 'n/a'}"
        "</td>"
        f"<td>{_pct(row['coverage'])}</td></tr>"
        for row in rooms[:8]
    )
    table = (
        "<table><tr><th>room</th><th>views</th><th>sessions</th><th>dwell, total (min)</th>"
        f"<th>dwell per view (s)</th><th>sphere seen</th></tr>{table_rows}</table>"
        '<p class="def"><b>views</b>: events in the room, people and bots, with or without a '
        "view direction; <b>dwell, total</b>: minutes summed over those views (each view "
        "lasts until the next event, at most 30 min); <b>dwell per view</b>: that total "
        "divided by views; <b>sphere seen</b>: share of the sphere inside some view's field "
        "of view, weighted by views.</p>"
    )
    table_views = {(row["space_id"], row["room_id"]): row["views"] for row in rooms}
    by_room: dict[tuple, dict] = {}
    for row in cells:
        key = (row["space_id"], row["room_id"])
        room = by_room.setdefault(key, {"space_name": row["space_name"],
                                        "room_name": row["room_name"], "cells": {},
                                        "table_views": table_views.get(key)})
        room["cells"][(int(row["yaw_cell"]), int(row["pitch_cell"]))] = row["views"]
    peak = max((v for room in by_room.values() for v in room["cells"].values()), default=0)
    maps = "".join(
        '<div class="heatmap">'
        f"<h3>{_html(room['room_name'])}</h3><p>{_html(room['space_name'])} &middot; "
        f"{_figure(sum(room['cells'].values()))} human views with a view direction"
        + (f" (the table's {_figure(room['table_views'])} views also count bots and views "
           "without one)" if room["table_views"] is not None else "")
        + f"</p>{heatmap(room['cells'], chart_id=f'heatmap-{index}', peak=peak)}</div>"
        for index, room in enumerate(by_room.values())
    )
    scale = heat_scale(peak) if by_room else ""
    return (
        '<section id="spatial"><h2>3D engagement per room</h2>'
        '<p class="note">Where people look inside each room of the virtual tours.</p>'
        f'<div class="grid2"><div>{levels}<p class="def"><b>Exploration level</b> of each '
        "view, as a share of the room's views (people and bots): the architecture guide's rule, "
        "|pitch| &gt; 45&deg; high, |pitch| &gt; 15&deg; or |yaw| &gt; 90&deg; medium, else "
        "low; no 3D data: the view had no direction.</p></div>"
        f"<div>{table}</div></div>"
        f'<div class="heat-head"><p class="def"><b>Heat maps</b>: human views (bots left out) '
        f"of the busiest rooms by view direction, yaw (left-right, &deg;) across and pitch "
        f"(up-down, &deg;) up the side, in {YAW_BIN}&deg; &times; {PITCH_BIN}&deg; cells; "
        f"one colour scale for every map.</p>{scale}</div>"
        f'<div class="heatmaps">{maps}</div></section>'
    )


QUALITY_BUCKETS = (("score 1.0", "score_perfect_count", "#0f9d76"),
                   ("0.8 to 1", "score_0_8_to_1_count", "#8bc34a"),
                   ("0.5 to 0.8", "score_0_5_to_0_8_count", "#f0a030"),
                   ("below 0.5", "score_below_0_5_count", "#d64545"))


def _section_quality(data: dict) -> str:
    quality = data.get("quality") or []
    if not quality:
        return _empty("quality", "Data quality", "quality", data)
    events = sum(row["event_count"] or 0 for row in quality)
    totals = {label: sum(row[column] or 0 for row in quality)
              for label, column, _ in QUALITY_BUCKETS}
    buckets = quality_chart(quality, chart_id="chart-quality")
    legend = _legend([(f"{label}: {_figure(totals[label])} "
                       f"({_pct(totals[label] / events if events else None)})", color)
                      for label, _, color in QUALITY_BUCKETS]
                     + [("average score (right axis)", "var(--accent)")])
    bucket_rows = "".join(
        f'<tr><td><span class="swatch" style="--swatch:{color}"></span>{label}</td>'
        f"<td>{_figure(totals[label])}</td>"
        f"<td>{_pct(totals[label] / events if events else None)}</td></tr>"
        for label, _, color in QUALITY_BUCKETS)
    bucket_table = (f'<table class="buckets"><tr><th>score bucket</th><th>events</th>'
                    f"<th>share</th></tr>{bucket_rows}</table>")
    checks = data.get("checks") or []
    check_chart = (
        horizontal_bars([(row["check_name"], row["events"]) for row in checks], "var(--bad)",
                        chart_id="chart-checks", whole=events or None,
                        value_label=lambda v: (
                            f"{_figure(v)} ({_pct(v / events if events else None)})"))
        + '<p class="def"><b>Bar</b>: events failing a check of the rubric, as a share of all '
        "events (axis in %); an event can fail several.</p>"
        if checks else "<p class=\"note\">No check failed.</p>"
    )
    return (
        '<section id="quality"><h2>Data quality</h2>'
        '<p class="note">data_quality_score per event day (rubric in docs/data-quality.md) '
        "and the checks that failed most.</p>"
        f'<div class="grid2"><div>{legend}{buckets}'
        '<p class="def"><b>Columns</b>: each day\'s events by score bucket, as a share of the '
        "day (left axis, %; a bucket holding any event is drawn at least 2 px tall); "
        "<b>line</b>: the day's mean score on the right axis, zoomed to its range.</p></div>"
        f"<div>{bucket_table}{check_chart}</div></div>"
        "</section>"
    )


def quality_chart(quality: list[dict], chart_id: str, width: int = 560,
                  height: int = 300) -> str:
    """Per day, 100% stacked score buckets (left axis, %), every non-empty bucket at least
    2 px tall; the mean score on a right axis fitted to its range, so its movement shows."""
    left, right, top, bottom = 48, 56, 14, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    labels = [str(row["day"]) for row in quality]
    step = plot_w / max(len(labels), 1)
    bar_w = step * 0.68
    parts = [_svg_open(chart_id, width, height), '<g class="grid">']
    for k in range(5):
        y = top + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'font-size="11">{25 * k}%</text>')
    parts.append("</g>")
    for i, row in enumerate(quality):
        counts = [row[column] or 0 for _, column, _ in QUALITY_BUCKETS]
        total = sum(counts) or 1
        # small buckets get 2 px taken from the largest one, so none disappears
        heights = [plot_h * c / total for c in counts]
        extra = sum(2 - h for h, c in zip(heights, counts, strict=True) if c and h < 2)
        largest = heights.index(max(heights))
        heights = [max(h, 2) if c else 0 for h, c in zip(heights, counts, strict=True)]
        heights[largest] -= extra
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h
        for (name, _, color), h, count in zip(QUALITY_BUCKETS, heights, counts, strict=True):
            y -= h
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                         f'height="{h:.1f}" fill="{color}"><title>{_html(labels[i])} {name}: '
                         f"{_figure(count)} events ({_pct(count / total)})</title></rect>")
        if i % math.ceil(len(labels) / (width / 55)) == 0:
            parts.append(f'<text class="axis" x="{left + i * step + step / 2:.1f}" '
                         f'y="{top + plot_h + 16}" text-anchor="middle" font-size="11">'
                         f"{_html(_short_day(labels[i]))}</text>")
    scores = [float(row["avg_score"] or 0) for row in quality]
    low, high = _fitted_range(scores)
    for k in range(5):
        value = low + (high - low) * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(f'<text class="axis" x="{left + plot_w + 6}" y="{y + 4:.1f}" '
                     f'font-size="11">{value:.3f}</text>')
    points = [(left + i * step + step / 2, top + plot_h - plot_h * (v - low) / (high - low))
              for i, v in enumerate(scores)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    parts.append(f'<polyline class="line" points="{path}" fill="none" stroke="var(--accent)" '
                 'stroke-width="2.5" stroke-linejoin="round"/>')
    for (x, y), label, v in zip(points, labels, scores, strict=True):
        parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3.5" '
                     f'fill="var(--accent)"><title>{_html(label)} average score: {v:.3f}</title>'
                     "</circle>")
    parts.append("</svg>")
    return "".join(parts)


def _fitted_range(values: list[float]) -> tuple[float, float]:
    """An axis range around the values with a margin, in steps of 0.005 (scores 0..1)."""
    low, high = min(values, default=0.0), max(values, default=1.0)
    margin = max((high - low) * 0.25, 0.005)
    low = max(0.0, math.floor((low - margin) * 200) / 200)
    high = min(1.0, math.ceil((high + margin) * 200) / 200)
    return (low, high) if high > low else (max(0.0, low - 0.01), min(1.0, high + 0.01))


def _section_reconciliation(summary: dict) -> str:
    sources = summary.get("sources") or []
    if not sources:
        return (
            '<section id="reconciliation"><h2>Reconciliation</h2><p class="note">'
            "No run summary in this lake (run <code>webevents run</code>).</p></section>"
        )
    rows = ""
    for source in sources + [summary]:
        total = source is summary
        # counted from the tables (webevents.local.reconcile); a summary without it, by arithmetic
        balanced = source.get("balanced", source["records_in"] == (
            source["landed"] + source.get("skipped", 0) + source["failed"] + source["dropped"]
            + source.get("erased", 0)))
        name = "all inputs" if total else source["name"]
        rows += (
            f'<tr class="{"total" if total else ""}"><td>{_html(name)}</td>'
            f"<td>{_figure(source['records_in'])}</td><td>{_figure(source['landed'])}</td>"
            f"<td>{_figure(source.get('skipped', 0))}</td>"
            f"<td>{_figure(source['failed'])}</td><td>{_figure(source['dropped'])}</td>"
            f'<td class="{"ok" if balanced else "bad"}">{"balanced" if balanced else "OFF"}</td>'
            "</tr>"
        )
    reasons = summary.get("failed_by_reason") or {}
    reason_text = ", ".join(f"{_html(k)} {_figure(v)}" for k, v in sorted(reasons.items()))
    skipped = summary.get("skipped_files") or []
    return (
        '<section id="reconciliation"><h2>Reconciliation</h2>'
        '<p class="note">Every input record is accounted for, counted from the tables: '
        "records in = landed (rows in raw.web_events) + already landed (an archive line "
        "whose event an earlier load had landed) + rejected (error output with a reason) + "
        "dropped (blank records).</p>"
        "<table><tr><th>input</th><th>records in</th><th>landed</th><th>already landed</th>"
        "<th>rejected</th>"
        f"<th>dropped</th><th>check</th></tr>{rows}</table>"
        f'<p class="note" style="margin-top:10px">Rejected by reason: {reason_text or "none"}. '
        f"Raw rows {_figure(summary.get('raw_rows'))} &rarr; analytics events "
        f"{_figure(summary.get('analytics_rows'))} after removing "
        f"{_figure(summary.get('duplicates_removed'))} duplicate copies."
        + (f" Skipped {len(skipped)} input file(s) already ingested." if skipped else "")
        + "</p></section>"
    )


def _empty(section_id: str, title: str, query: str, data: dict) -> str:
    why = (data.get("missing") or {}).get(query, "no rows")
    return (
        f'<section id="{section_id}"><h2>{_html(title)}</h2>'
        f'<p class="missing">Not available: {_html(why)}</p></section>'
    )


# ---- charts (inline SVG) -------------------------------------------------------------
def stacked_bars_with_line(
    labels: list[str], stacks: list[tuple[str, list[float], str]],
    line: tuple[str, list[float], str] | None, chart_id: str,
    line_max: float | None = None, line_format=None, width: int = 760, height: int = 300,
) -> str:
    """Stacked columns per label (left axis) with an optional line on a right axis."""
    left, right, top, bottom = 56, 56 if line else 16, 14, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(series[i] for _, series, _ in stacks) for i in range(len(labels))]
    y_max = _nice_max(max(totals, default=0))
    step = plot_w / max(len(labels), 1)
    bar_w = step * 0.68
    parts = [_svg_open(chart_id, width, height)]
    parts.append(_y_axis(left, top, plot_w, plot_h, y_max, side="left"))
    for i, label in enumerate(labels):
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h
        for name, series, color in stacks:
            h = plot_h * series[i] / y_max if y_max else 0
            y -= h
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{_html(label)} {_html(name)}: '
                f"{_figure(series[i])}</title></rect>"
            )
        if i % math.ceil(len(labels) / (width / 55)) == 0:  # room for every label, or some
            parts.append(
                f'<text class="axis" x="{left + i * step + step / 2:.1f}" y="{top + plot_h + 16}" '
                f'text-anchor="middle" font-size="11">{_html(_short_day(label))}</text>'
            )
    if line:
        name, values, color = line
        l_max = line_max or _nice_max(max(values, default=0))
        fmt = line_format or _figure
        parts.append(_y_axis(left, top, plot_w, plot_h, l_max, side="right", fmt=fmt))
        points = [
            (left + i * step + step / 2, top + plot_h - (plot_h * v / l_max if l_max else 0))
            for i, v in enumerate(values)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline class="line" points="{path}" fill="none" stroke="{color}" '
                     'stroke-width="2.5" stroke-linejoin="round"/>')
        for (x, y), label, v in zip(points, labels, values, strict=True):
            parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3.5" '
                         f'fill="{color}"><title>{_html(label)} {_html(name)}: {fmt(v)}</title>'
                         "</circle>")
    parts.append("</svg>")
    return "".join(parts)


def funnel_chart(stages: list[tuple[str, float]], chart_id: str) -> str:
    """Centred bars shrinking stage by stage, with counts and step conversion rates."""
    width, row_h = 520, 62
    height = row_h * len(stages) + 8
    first = stages[0][1] or 1
    parts = [_svg_open(chart_id, width, height)]
    previous = None
    for i, (name, value) in enumerate(stages):
        bar_w = max(4.0, (width - 40) * (value or 0) / first)
        x = (width - bar_w) / 2
        y = i * row_h + 22
        shade = ["#1f5fc9", "#2f6fdf", "#5a8ee6", "#8db0ee"][i % 4]
        parts.append(f'<rect class="stage" x="{x:.1f}" y="{y}" width="{bar_w:.1f}" height="30" '
                     f'rx="4" fill="{shade}"><title>{_html(name)}: {_figure(value)}</title></rect>')
        rate = "" if previous is None else (
            f" &middot; {_pct(value / previous if previous else None)} of previous"
        )
        parts.append(f'<text x="{width / 2}" y="{y - 6}" text-anchor="middle" font-size="12.5">'
                     f"<tspan font-weight=\"600\">{_html(name)}</tspan> {_figure(value)} "
                     f"({_pct(value / first)}){rate}</text>")
        previous = value
    parts.append("</svg>")
    return "".join(parts)


def horizontal_bars(items: list[tuple[str, float]], color: str, chart_id: str,
                    value_label=None, whole: float | None = None) -> str:
    """One labelled bar per item, longest first; with `whole`, bar lengths are shares of it
    on an axis in %."""
    label_w, width, row_h = 190, 560, 26
    axis_h = 22
    height = row_h * len(items) + 10 + axis_h
    top_value = max((v for _, v in items), default=0) or 1
    scale_max = _nice_share(top_value / whole) if whole else top_value
    value_label = value_label or _figure
    plot_w = width - label_w - 140
    parts = [_svg_open(chart_id, width, height)]
    if whole:
        parts.append(_percent_axis(label_w, plot_w, row_h * len(items) + 10 + 14, 2,
                                   maximum=scale_max))
    for i, (name, value) in enumerate(items):
        y = i * row_h + 4
        share = (value / whole) if whole else value
        bar_w = plot_w * share / scale_max
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" font-size="12">'
                     f"{_html(name)}</text>")
        parts.append(f'<rect class="bar" x="{label_w}" y="{y}" width="{max(bar_w, 1):.1f}" '
                     f'height="18" rx="3" fill="{color}"><title>{_html(name)}: '
                     f"{_figure(value)}</title></rect>")
        parts.append(f'<text class="axis" x="{label_w + bar_w + 6:.1f}" y="{y + 14}" '
                     f'font-size="11">{value_label(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _nice_share(share: float) -> float:
    """A round top for a % axis holding `share` (0..1)."""
    for top in (0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.05, 0.08, 0.1, 0.2, 0.4, 0.5, 0.8, 1):
        if share <= top:
            return top
    return 1.0


EXPLORATION_COLORS = (("high", "#7b4fd6"), ("medium", "#2f6fdf"), ("low", "#9ec5f8"),
                      ("no_3d", "#d9e2ec"))


def _wrap(text: str, width: int, lines: int) -> list[str]:
    """Words on up to `lines` lines of about `width` characters (the last one clipped)."""
    wrapped = textwrap.wrap(text, width) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[: lines - 1] + [_clip(" ".join(wrapped[lines - 1:]), width)]
    return wrapped


def _percent_axis(x0: float, plot_w: float, y: float, top: float, maximum: float = 1.0,
                  ticks: int = 4) -> str:
    """Vertical grid lines and their labels in % under a horizontal bar chart."""
    parts = ['<g class="grid">']
    for k in range(ticks + 1):
        x = x0 + plot_w * k / ticks
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{y - 12}"/>'
                     f'<text class="axis" x="{x:.1f}" y="{y}" text-anchor="middle" '
                     f'font-size="11">{_pct_tick(maximum * k / ticks)}</text>')
    parts.append("</g>")
    return "".join(parts)


def _pct_tick(share: float) -> str:
    value = share * 100
    return f"{value:.0f}%" if value == round(value) or value >= 10 else f"{value:.1f}%"


def exploration_bars(rooms: list[dict], chart_id: str) -> str:
    """Per room, the share of views at each exploration level (100% stacked), with the
    room's full name on up to two lines and the space's under it; axis in %."""
    label_w, width, row_h = 270, 640, 46
    rows = rooms[:8]
    legend_h, axis_h = 22, 22
    height = row_h * len(rows) + axis_h + legend_h + 6
    parts = [_svg_open(chart_id, width, height)]
    plot_w = width - label_w - 16
    for i, room in enumerate(rows):
        y = i * row_h + 6
        total = sum(room[level] or 0 for level, _ in EXPLORATION_COLORS) or 1
        x = float(label_w)
        room_name = str(room["room_name"] or room["room_id"])
        space_name = str(room["space_name"] or "")
        name = f"{room_name}, {space_name}"
        lines = _wrap(room_name, 40, 2)
        label = "".join(
            f'<tspan x="{label_w - 8}" dy="{0 if k == 0 else 12}">{_html(line)}</tspan>'
            for k, line in enumerate(lines))
        label += (f'<tspan x="{label_w - 8}" dy="12" class="sub" fill="#616e7c">'
                  f"{_html(_clip(space_name, 44))}</tspan>")
        parts.append(f'<text x="{label_w - 8}" y="{y + 10}" text-anchor="end" font-size="11">'
                     f"{label}<title>{_html(name)}</title></text>")
        for level, color in EXPLORATION_COLORS:
            w = plot_w * (room[level] or 0) / total
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y + 4}" width="{w:.1f}" '
                         f'height="22" fill="{color}"><title>{_html(name)} {level}: '
                         f"{_figure(room[level])} views ({_pct((room[level] or 0) / total)})"
                         "</title></rect>")
            x += w
    axis_y = row_h * len(rows) + 18
    parts.append(_percent_axis(label_w, plot_w, axis_y, 4))
    legend_y = height - 6
    x = label_w
    for level, color in EXPLORATION_COLORS:
        parts.append(f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" fill="{color}"/>'
                     f'<text class="axis" x="{x + 14}" y="{legend_y}" font-size="11">'
                     f'{level.replace("_", " ")}</text>')
        x += 90
    parts.append("</svg>")
    return "".join(parts)


# magma-like sequential scale, light (few views) to dark (many)
_HEAT_STOPS = ((252, 253, 191), (254, 176, 120), (241, 96, 93), (183, 55, 121),
               (114, 31, 129), (44, 17, 95))


def heat_scale(peak: int) -> str:
    """The heat maps' colour scale: a gradient from 0 to the busiest cell, in views."""
    width, bar_h = 260, 10
    steps = 32  # discrete swatches: no gradient reference, the page has no url() at all
    swatches = "".join(
        f'<rect x="{8 + (width - 16) * i / steps:.1f}" y="6" '
        f'width="{(width - 16) / steps + 0.5:.1f}" height="{bar_h}" '
        f'fill="{_heat_color((i + 0.5) / steps)}"/>' for i in range(steps))
    ticks = "".join(
        f'<text class="axis" x="{8 + (width - 16) * math.sqrt(v / peak) if peak else 8:.1f}" '
        f'y="{bar_h + 20}" text-anchor="middle" font-size="10">{_figure(v)}</text>'
        for v in sorted({0, round(peak / 4), round(peak / 2), peak}) if peak)
    return (f'<svg id="heat-scale" class="scale" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {width} 54" width="{width}" height="54" role="img">'
            + swatches + ticks +
            f'<text class="axis" x="{width / 2}" y="46" text-anchor="middle" font-size="10">'
            f"views per {YAW_BIN}&deg; &times; {PITCH_BIN}&deg; cell (square-root scale)"
            "</text></svg>")


def heatmap(cells: dict[tuple[int, int], int], chart_id: str, peak: int | None = None) -> str:
    """Yaw (x, -180..180) by pitch (y, +90 top .. -90 bottom) view counts as coloured cells;
    `peak` is the count the darkest colour stands for (one scale shared by all maps)."""
    columns, rows = 360 // YAW_BIN, 180 // PITCH_BIN
    cell = 10
    left, top, bottom = 30, 6, 22
    width, height = left + columns * cell + 16, top + rows * cell + bottom
    peak = peak or max(cells.values(), default=0) or 1
    parts = [_svg_open(chart_id, width, height, css_class="chart heat")]
    parts.append(f'<rect x="{left}" y="{top}" width="{columns * cell}" height="{rows * cell}" '
                 'fill="#f5f7fa"><title>no views</title></rect>')
    for (yaw_cell, pitch_cell), views in sorted(cells.items()):
        x = left + yaw_cell * cell
        y = top + (rows - 1 - pitch_cell) * cell
        color = _heat_color(math.sqrt(views / peak))
        yaw = yaw_cell * YAW_BIN - 180
        pitch = pitch_cell * PITCH_BIN - 90
        parts.append(f'<rect class="cell" x="{x}" y="{y}" width="{cell}" height="{cell}" '
                     f'fill="{color}"><title>yaw {yaw}..{yaw + YAW_BIN}&deg;, pitch '
                     f"{pitch}..{pitch + PITCH_BIN}&deg;: {_figure(views)} views</title></rect>")
    for yaw in (-180, -90, 0, 90, 180):
        x = left + (yaw + 180) / YAW_BIN * cell
        parts.append(f'<text class="axis" x="{x}" y="{height - 6}" text-anchor="middle" '
                     f'font-size="10">{yaw}&deg;</text>')
    for pitch in (90, 45, 0, -45, -90):
        y = top + (90 - pitch) / PITCH_BIN * cell
        parts.append(f'<text class="axis" x="{left - 4}" y="{y + 3}" text-anchor="end" '
                     f'font-size="10">{pitch}&deg;</text>')
    horizon = top + rows * cell / 2
    parts.append(f'<line x1="{left}" x2="{left + columns * cell}" y1="{horizon}" y2="{horizon}" '
                 'stroke="#9aa5b1" stroke-dasharray="2,3" stroke-width="0.8"/>')
    parts.append("</svg>")
    return "".join(parts)


def _heat_color(share: float) -> str:
    position = min(max(share, 0.0), 1.0) * (len(_HEAT_STOPS) - 1)
    index = min(int(position), len(_HEAT_STOPS) - 2)
    frac = position - index
    low, high = _HEAT_STOPS[index], _HEAT_STOPS[index + 1]
    r, g, b = (round(a + (c - a) * frac) for a, c in zip(low, high, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _svg_open(chart_id: str, width: float, height: float, css_class: str = "chart") -> str:
    return (f'<svg id="{chart_id}" class="{css_class}" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">')


def _y_axis(left, top, plot_w, plot_h, y_max, side: str, fmt=None) -> str:
    fmt = fmt or _figure
    parts = ['<g class="grid">' if side == "left" else "<g>"]
    for k in range(5):
        value = y_max * k / 4
        y = top + plot_h - plot_h * k / 4
        if side == "left":
            parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>')
            parts.append(f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                         f'font-size="11">{fmt(value)}</text>')
        else:
            parts.append(f'<text class="axis" x="{left + plot_w + 6}" y="{y + 4:.1f}" '
                         f'font-size="11">{fmt(value)}</text>')
    parts.append("</g>")
    return "".join(parts)


def _legend(items: list[tuple[str, str]]) -> str:
    spans = "".join(f'<span style="--swatch:{color}">{_html(label)}</span>'
                    for label, color in items)
    return f'<div class="legend">{spans}</div>'


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (1, 1.2, 1.6, 2, 2.4, 3.2, 4, 6, 8, 10):  # quarters stay round numbers
        if value <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _short_day(label: str) -> str:
    try:
        return dt.date.fromisoformat(label).strftime("%b %d")
    except ValueError:
        return label


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "\u2026"


def _html(value: Any) -> str:
    """The value as HTML text (None as empty)."""
    return html.escape(str(value if value is not None else ""))


def _figure(value: Any) -> str:
    """A count or figure for a reader: thousands separated, millions as 1.2M, None as n/a."""
    if value is None:
        return "n/a"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"
    number = int(value)
    if abs(number) >= 10_000_000:
        return f"{number / 1_000_000:.1f}M"
    return f"{number:,}"


def _fixed(value: Any, digits: int) -> str:
    """The value with `digits` decimals, None as n/a."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 100:.1f}%"
