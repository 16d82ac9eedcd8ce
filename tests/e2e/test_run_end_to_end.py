"""`webevents run` end to end on the sample: reconciles with the truth file, re-runs change
nothing, `--input` files go through the same steps, and the report renders in Chromium."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import orjson
import pytest

from tests.e2e.browser import measure, screenshot
from tests.e2e.lake_tables import differences, table_rows
from webevents import clock
from webevents.cli import main
from webevents.local.run import run_pipeline

# every test here reads the one lake built by the module fixture
pytestmark = pytest.mark.xdist_group("e2e_run")

EVENTS, DAYS, SEED = 4_000, 5, 3
# The sample's dates follow the clock. On this day late copies of November events sit in
# the December archive, so one event's copies fall into two backfill chunks. The calendar
# sweep (`make test-calendar`) runs this module on other days through the variable.
TODAY = os.environ.get("WEBEVENTS_E2E_TODAY", "2026-12-05T09:30:00")
def truth(lake: Path) -> list[dict]:
    return [orjson.loads(line)
            for line in (lake / "sample" / "truth.jsonl").read_bytes().splitlines()]


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e") / "lake"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(clock.ENV_VAR, TODAY)
        first = run_pipeline(folder, events=EVENTS, days=DAYS, seed=SEED)
        before = table_rows(folder)
        second = run_pipeline(folder, events=EVENTS, days=DAYS, seed=SEED)
    return folder, first, second, before, table_rows(folder)


@pytest.fixture(autouse=True)
def _same_clock(monkeypatch):
    monkeypatch.setenv(clock.ENV_VAR, TODAY)


def test_every_record_is_accounted_for(lake):
    folder, summary, _, _, _ = lake
    rows = truth(folder)
    outcomes = Counter(row["outcome"] for row in rows)
    assert summary["records_in"] == len(rows)
    assert summary["records_in"] == (summary["landed"] + summary["skipped"] + summary["failed"]
                                     + summary["dropped"])
    assert (summary["landed"] + summary["skipped"], summary["failed"], summary["dropped"]) == (
        outcomes["ok"], outcomes["failed"], outcomes["dropped"])
    assert summary["failed_by_reason"] == dict(
        Counter(row["reason"] for row in rows if row["outcome"] == "failed"))
    for source in summary["sources"]:
        assert source["balanced"]
        assert source["records_in"] == (source["landed"] + source["skipped"] + source["failed"]
                                        + source["dropped"])
    assert summary["balanced"]
    error_output = list((folder / "processing-failed").rglob("*"))
    assert any(path.is_file() for path in error_output)


def test_duplicates_are_removed_to_one_row_per_event(lake):
    folder, summary, _, _, _ = lake
    rows = truth(folder)
    distinct = {row["event_id"] for row in rows if row["outcome"] == "ok"}
    assert summary["raw_rows"] == summary["landed"]
    assert summary["raw_rows"] + summary["skipped"] == sum(
        1 for row in rows if row["outcome"] == "ok")
    assert summary["analytics_rows"] == len(distinct)
    assert summary["duplicates_removed"] == summary["raw_rows"] - len(distinct)
    assert summary["duplicates_removed"] > 0


def test_bots_are_flagged_with_reasons(lake):
    folder, summary, _, _, _ = lake
    bot_ids = {row["event_id"] for row in truth(folder) if row["is_bot"]}
    con = duckdb.connect(str(folder / "lake.duckdb"), read_only=True)
    flagged = {row[0] for row in con.execute(
        "select event_id from analytics.web_events where is_bot").fetchall()}
    con.close()
    assert summary["bot_events"] == len(flagged) > 0
    assert summary["bots_by_reason"] and all(n > 0 for n in summary["bots_by_reason"].values())
    precision = len(flagged & bot_ids) / len(flagged)
    recall = len(flagged & bot_ids) / len(bot_ids)
    assert precision > 0.8 and recall > 0.5, (precision, recall)
    assert sum(summary["quality_distribution"].values()) == summary["analytics_rows"]


def test_running_again_changes_nothing(lake):
    folder, first, second, before, after = lake
    assert set(before) >= {"raw.web_events", "analytics.web_events", "marts.fct_sessions"}
    assert differences(before, after) == []
    assert second["this_run"] == []
    inputs = sorted(str(p) for p in (folder / "sample").glob("*/**/*.jsonl*"))
    assert sorted(second["skipped_files"]) == inputs
    for key in ("records_in", "landed", "failed", "dropped", "raw_rows", "analytics_rows",
                "duplicates_removed", "bots_by_reason", "quality_distribution"):
        assert first[key] == second[key], key


def test_report_renders_in_headless_chromium(lake, tmp_path):
    folder, summary, _, _, _ = lake
    page = folder / "report.html"
    assert summary["report"] == str(page)
    measured = measure(page, tmp_path)
    charts = {chart["id"]: chart for chart in measured["charts"]}
    for chart_id in ("chart-traffic", "chart-funnel", "chart-bots", "chart-exploration",
                     "chart-quality", "heatmap-0"):
        assert chart_id in charts, (chart_id, sorted(charts))
        assert charts[chart_id]["width"] > 200 and charts[chart_id]["height"] > 50
        assert charts[chart_id]["drawn"] > 0
    con = duckdb.connect(str(folder / "lake.duckdb"), read_only=True)
    (days,) = con.execute("select count(*) from marts.daily_kpis").fetchone()
    con.close()
    assert charts["chart-traffic"]["bars"] == 2 * days
    assert charts["heatmap-0"]["cells"] > 20
    assert "missing" not in measured["sections"]
    png = screenshot(page, tmp_path / "report.png", tmp_path)
    assert png.stat().st_size > 50_000


def test_input_files_run_as_the_stream_and_only_new_files_are_ingested(lake, tmp_path, capsys):
    folder, first, _, _, _ = lake
    own = tmp_path / "lake"
    shutil.copytree(folder, own)
    archive_day = sorted((folder / "sample" / "archive").glob("dt=*/events.jsonl.gz"))[0]
    already = sorted((folder / "sample" / "stream").glob("*.jsonl"))[0]
    new_file = tmp_path / "mine.jsonl"
    new_file.write_bytes(
        b'{"type":"page","messageId":"mine-1","anonymousId":"a-9","sessionId":"s-9",'
        b'"timestamp":"2026-01-02T03:04:05Z","properties":{"url":"https://x.io/p"}}\n'
        b'{"type":"page"}\n'
    )
    code = main(["run", "--lake", str(own), "--input", str(new_file), str(already),
                 str(archive_day)])
    assert code == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "already ingested" in err
    summary = orjson.loads((own / "run-summary.json").read_bytes())
    (stream,) = summary["this_run"]  # the archive day came in by backfill: same content, skipped
    assert (stream["records_in"], stream["landed"], stream["failed"]) == (2, 1, 1)
    assert stream["failed_by_reason"] == {"missing_timestamp": 1}
    assert sorted(summary["skipped_files"]) == sorted([str(already), str(archive_day)])
    assert summary["records_in"] == first["records_in"] + 2
    assert summary["analytics_rows"] == first["analytics_rows"] + 1
