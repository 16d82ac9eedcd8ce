"""What `webevents run` prints when its output is a log or a pipe, not a terminal."""

from __future__ import annotations

import io

from rich.console import Console

from webevents.local.run import print_summary


def summary() -> dict:
    source = {"name": "archive via sql/backfill", "records_in": 1_042_188, "landed": 1_042_009,
              "skipped": 0, "failed": 167, "dropped": 12, "balanced": True}
    return {**source, "name": "all inputs", "sources": [source],
            "failed_by_reason": {"invalid_json": 100, "invalid_timestamp": 67},
            "duplicates_removed": 863, "raw_rows": 1_042_009, "analytics_rows": 1_041_146,
            "bot_events": 5_298, "quality_distribution": {"1.0": 35_563, "0.8-1": 13_570},
            "bots_by_reason": {"high_event_rate": 2_905, "sustained_subsecond_gaps": 2_747,
                               "many_pages_per_session": 2_299, "ua_crawler": 1_663},
            "skipped_files": [], "report": "/a/rather/long/path/to/a/lake/report.html"}


def test_the_reconciliation_is_a_plain_table_that_does_not_wrap_in_a_log():
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=False)
    print_summary(console, summary(), 12.3)
    lines = out.getvalue().splitlines()
    header = next(line for line in lines if line.startswith("input"))
    assert header.split() == ["input", "records", "in", "landed", "already", "landed",
                              "failed", "dropped", "balanced"]
    rows = [line for line in lines if line.startswith(("archive via", "all inputs"))]
    assert [row.split()[-5:] for row in rows] == [["1,042,009", "0", "167", "12", "yes"]] * 2
    assert not any(char in out.getvalue() for char in "┏│━")
    bots = next(line for line in lines if line.startswith("bots flagged"))
    assert bots.endswith("ua_crawler 1,663")  # one line, however long


def test_the_ingest_summary_lists_failure_reasons_under_failed_and_drop_rules_under_dropped(
        capsys, tmp_path):
    from collections import Counter

    from webevents.local.ingest import IngestSummary
    from webevents.local.ingest import print_summary as print_ingest

    summary = IngestSummary(files=1, records_in=10, ok=5, failed=3, dropped=2,
                            reasons=Counter({"invalid_json": 2, "unknown_shape": 1,
                                             "empty_record": 2}),
                            tables=Counter({"raw.web_events": 5}))
    print_ingest(summary, tmp_path)
    rows = [line.strip("│ ").split("│")[0].strip() for line in capsys.readouterr().out.splitlines()
            if "│" in line]
    failed, dropped = rows.index("failed → processing-failed/"), rows.index("dropped")
    assert rows[failed + 1:dropped] == ["reason: invalid_json", "reason: unknown_shape"]
    assert rows[dropped + 1:] == ["rule: empty_record"]
