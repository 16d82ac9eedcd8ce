"""`make bench`: run every bench/bench_*.py module's main() and write bench/README.md's table.

Run: .venv/bin/python -m bench.run_all [--only NAME ...] [--output PATH]

Each module's main() returns rows {"benchmark", "figure", "value", "unit", "target",
"command"}. A module that fails is reported in the table with its error and the run
continues, so one broken benchmark never hides the others' figures; the exit code is
non-zero when any failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROW_KEYS = ("benchmark", "figure", "value", "unit", "target", "command")


def discover() -> list[str]:
    """Module names of every bench/bench_*.py, in name order."""
    return sorted(f"bench.{path.stem}" for path in BENCH_DIR.glob("bench_*.py"))


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    import duckdb

    cpu_model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "cores": f"{usable} usable of {os.cpu_count()}",
        "memory": memory,
        "cpu": cpu_model,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "load average at start": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }


def run(modules: list[str]) -> tuple[list[dict[str, Any]], list[str], dict[str, float]]:
    """Every module's rows; failures become error rows (and are listed)."""
    rows: list[dict[str, Any]] = []
    failed: list[str] = []
    seconds: dict[str, float] = {}
    for name in modules:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            produced = importlib.import_module(name).main()
            for row in produced:
                missing = [key for key in ROW_KEYS if key not in row]
                if missing:
                    raise ValueError(f"row {row!r} lacks {missing}")
            rows += produced
        except Exception as error:  # one broken benchmark must not hide the others
            traceback.print_exc()
            failed.append(name)
            short = name.removeprefix("bench.bench_")
            rows.append({"benchmark": short, "figure": "FAILED", "value": type(error).__name__,
                         "unit": "", "target": "", "command": f".venv/bin/python -m {name}",
                         "error": str(error).splitlines()[0] if str(error) else ""})
        seconds[name] = time.perf_counter() - started
    return rows, failed, seconds


def _cell(value: Any) -> str:
    text = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def render(rows: list[dict[str, Any]], about: dict[str, str], seconds: dict[str, float],
           started: dt.datetime) -> str:
    """bench/README.md: how to run, the machine, one table of every figure."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`.venv/bin/python -m bench.run_all`); do not edit by hand.",
        "Each `bench/bench_<area>.py` runs alone too (its command is in the table); its",
        "docstring says what is measured and against which floor.",
        "",
        f"Run on {started:%Y-%m-%d %H:%M} UTC.",
        "",
        "| machine | |",
        "| --- | --- |",
    ]
    lines += [f"| {key} | {_cell(value)} |" for key, value in about.items()]
    lines += [
        "",
        "| benchmark | figure | value | unit | target | command |",
        "| --- | --- | ---: | --- | --- | --- |",
    ]
    for row in rows:
        figure = row["figure"] + (f": {row['error']}" if row.get("error") else "")
        lines.append(
            f"| {_cell(row['benchmark'])} | {_cell(figure)} | {_cell(row['value'])} | "
            f"{_cell(row['unit'])} | {_cell(row['target'])} | `{row['command']}` |"
        )
    lines += ["", "Time per benchmark module: " + ", ".join(
        f"{name.removeprefix('bench.')} {value:.0f} s" for name, value in seconds.items()) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="only these benchmarks, e.g. end_to_end handler")
    parser.add_argument("--output", default=str(BENCH_DIR / "README.md"),
                        help="where to write the table (default: bench/README.md)")
    args = parser.parse_args(argv)
    modules = discover()
    if args.only:
        wanted = {f"bench.bench_{name.removeprefix('bench_')}" for name in args.only}
        unknown = wanted - set(modules)
        if unknown:
            print(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have: "
                  f"{', '.join(m.removeprefix('bench.bench_') for m in modules)}", file=sys.stderr)
            return 2
        modules = [m for m in modules if m in wanted]
    started = dt.datetime.now(dt.UTC)
    about = machine()
    rows, failed, seconds = run(modules)
    Path(args.output).write_text(render(rows, about, seconds, started))
    print(f"wrote {args.output}: {len(rows)} figures from {len(modules)} benchmark(s)"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
