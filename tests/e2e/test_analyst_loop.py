"""The analyst's loop: docs/analyst-loop.md's commands run as written (every shell block between the
`analyst-loop` markers, in a folder laid out as the project, on a lake made that day by the
clock the code reads, no date written in them), and the report they leave reads right in
headless Chromium at 1400 and 800 px, its headline equal to the summary JSON and the
tables."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.e2e.browser import measure, screenshot
from webevents import PROJECT_ROOT, clock
from webevents.local.report import HEADLINE_LABELS, headline_text

pytestmark = pytest.mark.xdist_group("readme_loop")

NOW = "2026-12-05T09:30:00"
SMALL_LAKE = ["--events", "1500", "--days", "4", "--seed", "3"]


def loop_blocks(readme: str) -> list[str]:
    """The ```sh blocks between <!-- analyst-loop --> and <!-- /analyst-loop -->."""
    sections = re.findall(r"<!-- analyst-loop -->(.*?)<!-- /analyst-loop -->", readme, re.S)
    blocks = [block for section in sections
              for block in re.findall(r"```sh\n(.*?)```", section, re.S)]
    return [re.sub(r"^ {3}", "", block, flags=re.M) for block in blocks]  # list indent


def test_the_loop_has_commands_and_no_fixed_date():
    blocks = loop_blocks((PROJECT_ROOT / "docs" / "analyst-loop.md").read_text())
    assert blocks and any("webevents run" in block for block in blocks)
    assert any("webevents build" in block for block in blocks)
    for block in blocks:
        assert not re.search(r"\d{4}-\d{2}-\d{2}", block), block


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    """A project-shaped folder with a small lake made today, after docs/analyst-loop.md."""
    folder = tmp_path_factory.mktemp("analyst_loop") / "project"
    folder.mkdir()
    for name in ("sql", "dbt"):
        (folder / name).symlink_to(PROJECT_ROOT / name)
    (folder / ".venv").symlink_to(Path(sys.executable).parent.parent)
    env = {**os.environ, clock.ENV_VAR: NOW}
    env.pop("WEBEVENTS_LAKE", None)
    env.pop("WEBEVENTS_FAILPOINT", None)
    made = subprocess.run([str(Path(sys.executable).with_name("webevents")), "run", "--lake",
                           ".lake", *SMALL_LAKE], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=900)
    assert made.returncode == 0, made.stderr[-2000:]
    results = [(block, subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=folder,
                                      env=env, capture_output=True, text=True, timeout=900))
               for block in loop_blocks((PROJECT_ROOT / "docs" / "analyst-loop.md").read_text())]
    return folder, results


def test_the_readme_loop_runs_as_written_on_a_lake_made_today(loop):
    _, results = loop
    for block, result in results:
        assert result.returncode == 0, f"{block}\n{result.stderr[-3000:]}"
        output = result.stdout + result.stderr
        assert "many_pages_per_session" in output  # the bot query printed its rows
        assert re.search(r"rebuilt bot_traffic_daily [\d,]+ rows", output)
        assert "is_bot" in output  # the csv header


def cards(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-figure="(\w+)"><div class="value">([^<]*)</div>', html))


def test_the_report_headline_equals_the_summary_json_and_the_tables(loop):
    folder, _ = loop
    lake = folder / ".lake"
    summary = json.loads((lake / "run-summary.json").read_text())
    shown = cards((lake / "report.html").read_text())
    assert set(shown) == set(HEADLINE_LABELS) == set(summary["headline"])
    for name, value in summary["headline"].items():
        assert shown[name] == headline_text(name, value), name
    con = duckdb.connect(str(lake / "lake.duckdb"), read_only=True)
    events, bots, quality = con.execute(
        "select count(*), count(*) filter (where is_bot), avg(data_quality_score) "
        "from analytics.web_events").fetchone()
    con.close()
    assert summary["headline"]["events"] == events == summary["analytics_rows"]
    assert summary["headline"]["bot_share_pct"] == round(100 * bots / events, 1)
    assert summary["headline"]["avg_quality_score"] == round(quality, 3)
    assert summary["headline"]["duplicates_removed"] == summary["duplicates_removed"]
    assert summary["headline"]["records_rejected"] == summary["failed"]


def test_the_report_shows_what_changed_scales_and_definitions(loop):
    folder, _ = loop
    html = (folder / ".lake" / "report.html").read_text()
    assert 'id="changes"' in html and "What changed since the last run" in html
    assert "webevents build bot_traffic_daily" in html  # the last command that built it
    assert 'id="heat-scale"' in html and "views per 10&deg; &times; 10&deg; cell" in html
    assert html.count('class="def"') >= 6  # a definition beside every figure
    assert re.search(r'<text class="axis"[^>]*>50%</text>', html)  # bars on a % axis
    # a room's views differ between heat map and table only with the reason beside them
    captions = re.findall(r'<div class="heatmap"><h3>.*?</h3><p>(.*?)</p>', html)
    assert captions and all("human views with a view direction" in c for c in captions)
    assert any("views also count bots and views without one" in c for c in captions)


@pytest.mark.parametrize("width", [1400, 800])
def test_the_report_reads_at_1400_and_800_px(loop, tmp_path, width):
    folder, _ = loop
    page = folder / ".lake" / "report.html"
    measured = measure(page, tmp_path, width=width)
    charts = {chart["id"]: chart for chart in measured["charts"]}
    for chart_id in ("chart-traffic", "chart-bots", "chart-exploration", "chart-quality",
                     "heatmap-0", "heat-scale"):
        assert charts[chart_id]["drawn"] > 0, chart_id
    png = screenshot(page, tmp_path / f"report-{width}.png", tmp_path, width=width)
    assert png.stat().st_size > 50_000


def test_build_without_a_model_rebuilds_nothing_when_no_code_changed(loop):
    folder, _ = loop
    env = {**os.environ, clock.ENV_VAR: NOW}
    result = subprocess.run([str(Path(sys.executable).with_name("webevents")), "build",
                             "--lake", ".lake"], cwd=folder, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "no model's code changed since the lake was built; nothing to do" in result.stderr
