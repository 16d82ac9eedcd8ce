"""`webevents run` pieces: the lake's ledger of input files, step failures that name the step
and the file."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from webevents.cli import main
from webevents.engines.local import connect
from webevents.local import ledger, run
from webevents.local.ingest import IngestSummary


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


EVENT = ('{{"type":"page","messageId":"m-{n}","anonymousId":"a-1","sessionId":"s-1",'
         '"timestamp":"2026-11-20T10:00:0{n}.000Z","properties":{{"url":"https://x.io/p"}}}}')


def test_ledger_skips_a_file_with_the_same_content_under_another_name(tmp_path):
    lake = tmp_path / "lake"
    lake.mkdir()
    first = write_lines(tmp_path / "a.jsonl", [EVENT.format(n=1), "not json", ""])
    figures = run.run_ingest(lake, [first], say=lambda _m: None)
    assert (figures.records_in, figures.landed, figures.failed, figures.dropped) == (3, 1, 1, 1)
    assert figures.failed_by_reason == {"invalid_json": 1}

    copy = tmp_path / "copy-of-a.jsonl"
    copy.write_bytes(first.read_bytes())
    messages: list[str] = []
    again = run.run_ingest(lake, [copy], say=messages.append)
    assert again is None
    assert "already ingested" in messages[0] and "a.jsonl" in messages[0]
    con = connect(lake)
    (entry,) = ledger.rows(con)
    assert (entry["path"], entry["records_in"], entry["landed"]) == (str(first), 3, 1)
    con.close()


def test_a_json_ledger_from_an_older_lake_is_imported_once(tmp_path):
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / ledger.LEGACY_FILE).write_text(json.dumps({
        "files": {"d1": {"path": "s.jsonl", "step": "ingest"},
                  "d2": {"path": "dt=2026-11-01/a.jsonl.gz", "step": "backfill"}},
        "stream_batches": [{"records_in": 5, "landed": 3, "failed": 1, "dropped": 1,
                            "failed_by_reason": {"invalid_json": 1}, "files": ["s.jsonl"]}],
    }))
    con = connect(lake)
    ledger.ensure(con, lake)
    ledger.ensure(con, lake)
    entries = {row["content_sha256"]: row for row in ledger.rows(con)}
    con.close()
    assert set(entries) == {"d1", "d2"}
    assert (entries["d1"]["step"], entries["d1"]["records_in"], entries["d1"]["landed"]) == (
        "ingest", 5, 3)
    assert entries["d2"]["step"] == "backfill" and entries["d2"]["records_in"] is None
    assert not (lake / ledger.LEGACY_FILE).exists()


def test_ingest_figures_keep_dropped_reasons_out_of_failures():
    result = IngestSummary(records_in=5, ok=2, failed=2, dropped=1,
                           reasons=Counter({"invalid_json": 2, "empty_record": 1}))
    figures = run.stream_source_figures(result)
    assert figures.failed_by_reason == {"invalid_json": 2}
    assert figures.records_in == figures.landed + figures.failed + figures.dropped


def test_failing_sql_step_names_the_step_and_the_file(tmp_path, monkeypatch):
    sql_dir = tmp_path / "sql"
    (sql_dir / "enrich").mkdir(parents=True)
    (sql_dir / "enrich" / "broken_merge.sql").write_text("select * from no_such_table\n")
    monkeypatch.setattr(run, "SQL_DIR", sql_dir)
    with pytest.raises(run.StepFailed) as failure:
        run.run_sql_step("enrich", tmp_path / "lake", {"run_date": "2026-11-24"},
                              say=lambda _m: None)
    assert failure.value.step == "enrich"
    assert "broken_merge.sql" in str(failure.value)


def test_empty_sql_step_is_an_error_not_a_silent_pass(tmp_path, monkeypatch):
    (tmp_path / "bots").mkdir()
    monkeypatch.setattr(run, "SQL_DIR", tmp_path)
    with pytest.raises(run.StepFailed, match="holds no .sql files"):
        run.run_sql_step("bots", tmp_path / "lake", {}, say=lambda _m: None)


def test_failing_dbt_model_names_the_model(tmp_path, monkeypatch):
    project = tmp_path / "dbt"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: broken\nversion: '1.0.0'\nconfig-version: 2\nprofile: broken\n"
    )
    (project / "profiles.yml").write_text(
        "broken:\n  target: local\n  outputs:\n    local:\n      type: duckdb\n"
        "      path: \"{{ env_var('WEBEVENTS_LAKE') }}/lake.duckdb\"\n      schema: marts\n"
    )
    (project / "models" / "orders_by_day.sql").write_text("select no_such_column from range(3)\n")
    monkeypatch.setattr(run, "DBT_DIR", project)
    lake = tmp_path / "lake"
    lake.mkdir()
    with pytest.raises(run.StepFailed) as failure:
        run.run_dbt(lake, say=lambda _m: None)
    assert failure.value.step == "dbt"
    assert "orders_by_day" in str(failure.value)


def test_run_with_a_missing_input_file_says_so_before_any_step(tmp_path, capsys):
    code = main(["run", "--lake", str(tmp_path / "lake"), "--input",
                 str(tmp_path / "nowhere.jsonl")])
    assert code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "webevents run: --input file(s) not found" in err and "nowhere.jsonl" in err
    assert "step" not in err and not (tmp_path / "lake" / "lake.duckdb").exists()


def test_a_changed_sample_size_is_refused_on_a_lake_that_holds_the_first(tmp_path,
                                                                         monkeypatch):
    monkeypatch.setenv("WEBEVENTS_NOW", "2026-11-20")
    lake = tmp_path / "lake"
    lake.mkdir()
    sample = run.prepare_sample(lake, 200, 3, 1, say=lambda _m: None)
    assert run.prepare_sample(lake, 200, 3, 1, say=lambda _m: None) == sample  # reused
    run.run_ingest(lake, sorted((sample / "stream").glob("*")), say=lambda _m: None)
    with pytest.raises(ValueError, match="--events 200 --days 3 --seed 1, or add --fresh"):
        run.prepare_sample(lake, 300, 3, 1, say=lambda _m: None)
    messages: list[str] = []
    run.start_over(lake, messages.append)
    assert not (lake / "lake.duckdb").exists() and not sample.exists()
    run.prepare_sample(lake, 300, 3, 1, say=messages.append)
    assert "300" in (sample / run.SAMPLE_PARAMS_FILE).read_text()


def test_a_sample_whose_generation_was_stopped_is_made_again(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBEVENTS_NOW", "2026-11-20")
    lake = tmp_path / "lake"
    (lake / "sample" / "archive").mkdir(parents=True)  # what a killed older version left
    (lake / ".sample-partial").mkdir()
    messages: list[str] = []
    sample = run.prepare_sample(lake, 200, 3, 1, say=messages.append)
    assert "incomplete" in messages[0]
    assert (sample / "truth.jsonl").exists() and not (lake / ".sample-partial").exists()
