"""Long run-date windows split into writes of under 100 partitions (webevents/jobs/windows.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from webevents.jobs.sql import SqlRunError, run_files
from webevents.jobs.windows import MAX_WINDOW_DAYS, window_chunks


def days_of(chunks) -> list[dt.date]:
    days = []
    for chunk in chunks:
        end = dt.date.fromisoformat(chunk["run_date"])
        days += [end - dt.timedelta(days=n) for n in range(int(chunk["lookback_days"]), -1, -1)]
    return days


def test_a_short_window_runs_once_unchanged():
    params = {"run_date": "2026-11-24", "lookback_days": "3", "other": "x"}
    assert window_chunks(params) == [params]


def test_a_long_window_runs_as_consecutive_chunks_oldest_first_covering_every_day():
    params = {"run_date": "2026-11-24", "lookback_days": "29", "other": "x"}
    chunks = window_chunks(params, max_days=12)
    assert [(c["run_date"], c["lookback_days"]) for c in chunks] == [
        ("2026-11-06", "11"), ("2026-11-18", "11"), ("2026-11-24", "5"),
    ]
    assert days_of(chunks) == [dt.date(2026, 10, 26) + dt.timedelta(days=n) for n in range(30)]
    assert all(c["other"] == "x" for c in chunks)


def test_without_a_window_the_params_pass_through():
    assert window_chunks({"date_from": "2026-01-01"}) == [{"date_from": "2026-01-01"}]


@pytest.mark.parametrize("bad", ["-1", "three"])
def test_a_bad_lookback_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="lookback_days"):
        window_chunks({"run_date": "2026-11-24", "lookback_days": bad})


def write_and_query(tmp_path):
    merge = tmp_path / "t_merge.sql"
    merge.write_text(
        "insert into analytics.bot_user_agent_patterns (version, pattern, category) "
        "select cast(date_diff('day', date '2000-01-01', date '{{ run_date }}') as integer), "
        "'p{{ lookback_days }}', 'c'"
    )
    query = tmp_path / "t_query.sql"
    query.write_text("select date '{{ run_date }}' - interval '{{ lookback_days }}' day as d")
    return merge, query


def test_a_windowed_write_runs_per_chunk_and_a_query_runs_once(tmp_path):
    merge, query = write_and_query(tmp_path)
    lookback = 2 * MAX_WINDOW_DAYS + 1
    params = {"run_date": "2026-11-24", "lookback_days": str(lookback)}
    lines: list[str] = []
    results = run_files([merge, query], params=params, lake=tmp_path / "lake", echo=lines.append)
    assert [r.path.name for r in results] == ["t_merge.sql"] * 3 + ["t_query.sql"]
    assert "(window 1/3: " in lines[0] and "..2026-11-24)" in lines[2]
    assert results[-1].rows == [(dt.date(2026, 11, 24) - dt.timedelta(days=lookback),)]


def test_a_bad_lookback_is_refused_before_any_file_runs(tmp_path):
    merge, _ = write_and_query(tmp_path)
    with pytest.raises(SqlRunError, match="parameter lookback_days='-4' is not a whole number"):
        run_files([merge], params={"run_date": "2026-11-24", "lookback_days": "-4"},
                  lake=tmp_path / "lake", echo=None)
