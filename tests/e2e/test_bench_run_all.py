"""bench/run_all.py collects every benchmark's rows into one table (nothing is timed here)."""

from __future__ import annotations

import sys
import types

from bench import run_all


def fake_module(monkeypatch, name: str, main) -> str:
    module = types.ModuleType(name)
    module.main = main
    monkeypatch.setitem(sys.modules, name, module)
    return name


def test_every_benchmark_module_is_discovered():
    modules = run_all.discover()
    assert "bench.bench_end_to_end" in modules
    assert all(name.startswith("bench.bench_") for name in modules)


def test_rows_become_one_table_and_a_failure_is_reported_not_fatal(monkeypatch, tmp_path):
    good = fake_module(monkeypatch, "bench.bench_fake_good", lambda: [
        {"benchmark": "fake", "figure": "throughput | x", "value": 12345, "unit": "events/s",
         "target": "<= 3", "command": ".venv/bin/python -m bench.bench_fake_good"}])

    def broken():
        raise RuntimeError("no lake here")

    bad = fake_module(monkeypatch, "bench.bench_fake_bad", broken)
    rows, failed, seconds = run_all.run([good, bad])
    assert failed == [bad]
    assert set(seconds) == {good, bad}
    text = run_all.render(rows, {"cores": "2", "duckdb": "x"}, seconds,
                          run_all.dt.datetime(2026, 11, 25, 18, 0))
    assert "| fake | throughput \\| x | 12,345 | events/s | <= 3 |" in text
    assert "FAILED: no lake here" in text
    assert "| cores | 2 |" in text


def test_unknown_benchmark_name_is_an_error(capsys, tmp_path):
    assert run_all.main(["--only", "nonsense", "--output", str(tmp_path / "x.md")]) == 2
    assert "unknown benchmark" in capsys.readouterr().err


def test_machine_names_cores_memory_cpu_and_versions():
    about = run_all.machine()
    assert {"cores", "memory", "cpu", "python", "duckdb"} <= set(about)


def _row(benchmark, figure, value, unit, target=""):
    return {"benchmark": benchmark, "figure": figure, "value": value, "unit": unit,
            "target": target, "command": "x"}


def test_chart_draws_each_target_with_its_lower_bound():
    import xml.etree.ElementTree as ElementTree

    rows = [
        _row("backfill", "backfill time / floor time", 8.4, "x", "<= 2.0"),
        _row("backfill", "lower bound: text lines / floor", 0.6, "x"),
        _row("backfill", "lower bound: one parse of every value / floor", 2.1, "x"),
        _row("dbt", "incremental 90 d / 30 d", 1.02, "ratio", "<= 1.3"),
        _row("sqlrunner", "view", 512.6, "MB/s", ">= 365.3 (within 2x floor)"),
        _row("handler", "FAILED", "RuntimeError", ""),
    ]
    svg = ElementTree.fromstring(run_all.chart(rows))
    namespace = "{http://www.w3.org/2000/svg}"
    bars = [r for r in svg.iter(f"{namespace}rect") if r.get("height") == "13"]
    assert [bar.get("fill") for bar in bars] == ["#c62828", "#2e7d32"]  # missed, met
    bounds = [r for r in svg.iter(f"{namespace}rect") if r.get("height") == "5"]
    assert len(bounds) == 2  # the backfill's tightest lower bound, and the legend's
    assert "2.1" in [t.text for t in svg.iter(f"{namespace}text")]
    labels = "".join(svg.itertext())
    assert "backfill: backfill time / floor time" in labels and "8.4" in labels
    text = run_all.render(rows, {"cores": "2"}, {}, run_all.dt.datetime(2026, 11, 25))
    assert f"]({run_all.CHART_FILE})" in text


def test_no_chart_without_targets():
    text = run_all.render([_row("x", "y", 1, "s")], {"cores": "2"}, {},
                          run_all.dt.datetime(2026, 11, 25))
    assert run_all.CHART_FILE not in text
