"""`webevents backfill`: the command line over archive files, progress, exit codes."""

from __future__ import annotations

import datetime as dt
import gzip
import json

from webevents.cli import main
from webevents.jobs.backfill import date_ranges, month_chunks

LINES = [
    '{"type":"page","messageId":"m-1","timestamp":"2024-01-31T10:00:00Z"}',
    '{"eventData":{"type":"track","event":"x"},"eventTimestamp":{"$date":1706781600000}}',
    "not json",
    "",
]


def write_day(root, day: str, lines: list[str]):
    folder = root / "archive" / f"dt={day}"
    folder.mkdir(parents=True)
    path = folder / "events.jsonl.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


def test_backfill_prints_progress_per_chunk_and_reconciled_totals(tmp_path, capsys):
    files = [write_day(tmp_path, "2024-01-31", LINES[:2]), write_day(tmp_path, "2024-02-01", LINES)]
    code = main(["backfill", *map(str, files), "--lake", str(tmp_path / "lake")])
    out = capsys.readouterr().out
    assert code == 0
    assert "chunk 1/2 2024-01-31..2024-01-31: 2 lines = 2 landed + 0 already landed" in out
    # the same two events again in the next day's file: landed already, nothing new
    assert ("chunk 2/2 2024-02-01..2024-02-01: 4 lines = 0 landed + 2 already landed + "
            "1 rejected + 1 dropped") in out
    assert ("backfill: 6 lines in 2 chunk(s) = 2 landed + 2 already landed + 1 rejected + "
            "1 dropped") in out


def test_backfill_summary_file_holds_the_reconciliation_counted_from_the_tables(tmp_path):
    files = [write_day(tmp_path, "2024-01-31", LINES[:2]), write_day(tmp_path, "2024-02-01", LINES)]
    summary_file = tmp_path / "out" / "summary.json"
    assert main(["backfill", *map(str, files), "--lake", str(tmp_path / "lake"),
                 "--summary", str(summary_file)]) == 0
    summary = json.loads(summary_file.read_text())
    (archive,) = summary["sources"]
    assert (archive["records_in"], archive["landed"], archive["skipped"], archive["failed"],
            archive["dropped"], archive["balanced"]) == (6, 2, 2, 1, 1, True)
    assert summary["this_run"][0]["landed"] == 2 and summary["raw_rows"] == 2
    # run again: nothing lands, and the lake's figures are the same
    assert main(["backfill", *map(str, files), "--lake", str(tmp_path / "lake"),
                 "--summary", str(summary_file)]) == 0
    again = json.loads(summary_file.read_text())
    assert again["sources"] == summary["sources"] and again["this_run"][0]["landed"] == 0


def test_backfill_from_to_limits_the_days(tmp_path, capsys):
    files = [write_day(tmp_path, "2024-01-31", LINES[:1]), write_day(tmp_path, "2024-02-01", LINES)]
    code = main(["backfill", *map(str, files), "--from", "2024-02-01", "--to", "2024-02-01",
                 "--lake", str(tmp_path / "lake")])
    assert code == 0
    assert "backfill: 4 lines in 1 chunk(s)" in capsys.readouterr().out


def test_bad_input_gets_a_clear_error_and_exit_code(tmp_path, capsys):
    stray = tmp_path / "events.jsonl"
    stray.write_text(LINES[0] + "\n")
    assert main(["backfill", str(stray), "--lake", str(tmp_path / "lake")]) == 1
    assert "no dt=YYYY-MM-DD folder" in capsys.readouterr().err
    assert main(["backfill", str(tmp_path / "missing.jsonl"), "--lake", str(tmp_path)]) == 1
    assert "not found" in capsys.readouterr().err
    assert main(["backfill", str(stray), "--from", "2024-13-01"]) == 2


def test_month_chunks_and_insert_ranges_stay_under_100_partitions():
    days = [dt.date(2024, 1, 30), dt.date(2024, 1, 31), dt.date(2024, 2, 1), dt.date(2024, 1, 30)]
    assert month_chunks(days) == [
        (dt.date(2024, 1, 30), dt.date(2024, 1, 31)), (dt.date(2024, 2, 1), dt.date(2024, 2, 1))]
    dates = [dt.date(2020, 1, 1) + dt.timedelta(days=n) for n in range(200)]
    ranges = date_ranges(dates)
    assert [len([d for d in dates if a <= d <= b]) for a, b in ranges] == [90, 90, 20]
    assert date_ranges([]) == []


def test_a_day_backfilled_in_two_files_keeps_both_files_lines_and_rejects(tmp_path, capsys):
    day = tmp_path / "archive" / "dt=2024-02-01"
    day.mkdir(parents=True)
    part1, part2 = day / "part-1.jsonl", day / "part-2.jsonl"
    part1.write_text(LINES[0] + "\nnot json\n")
    part2.write_text(LINES[1] + "\n{broken\n")
    lake = str(tmp_path / "lake")
    summary = tmp_path / "summary.json"
    assert main(["backfill", str(part1), "--lake", lake]) == 0
    assert main(["backfill", str(part2), "--lake", lake, "--summary", str(summary)]) == 0
    (archive,) = json.loads(summary.read_text())["sources"]
    assert (archive["records_in"], archive["landed"], archive["failed"], archive["balanced"]) == (
        4, 2, 2, True)
    assert archive["failed_by_reason"] == {"invalid_json": 2}
    # part-1 gone from its folder: refused, naming it, rather than dropping its lines
    part1.unlink()
    capsys.readouterr()
    assert main(["backfill", str(part2), "--lake", lake]) == 1
    assert "dt=2024-02-01 was loaded before with" in capsys.readouterr().err
