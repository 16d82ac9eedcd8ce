"""`make bench`: run every bench/bench_*.py module's main() and write bench/README.md's table.

Run: .venv/bin/python -m bench.run_all [--only NAME ...] [--output PATH]

Each module's main() returns rows {"benchmark", "figure", "value", "unit", "target",
"command"}. A module that fails is reported in the table with its error and the run
continues, so one broken benchmark never hides the others' figures; the exit code is
non-zero when any failed. Beside the table, targets.svg charts every "<= N" target on a
ratio (x floor, x baseline) against its measured value and, where a benchmark measures
one, its lower bound (the least the design can do), so a target below the lower bound
shows as out of reach.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import importlib
import math
import os
import platform
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROW_KEYS = ("benchmark", "figure", "value", "unit", "target", "command")
CHART_FILE = "targets.svg"
RATIO_UNITS = ("x", "x floor")
_AT_MOST = re.compile(r"<=\s*([0-9.]+)")


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
    if any(_target_bars(rows)):
        lines += ["", f"![Each target against the measured value and lower bound]({CHART_FILE})"]
    lines += ["", "Time per benchmark module: " + ", ".join(
        f"{name.removeprefix('bench.')} {value:.0f} s" for name, value in seconds.items()) + "."]
    return "\n".join(lines) + "\n"


def _target_bars(rows: list[dict[str, Any]]) -> list[tuple[str, float, float, float | None]]:
    """(label, measured, target, lower bound or None) for each "<= N" target on a ratio."""
    bars = []
    for row in rows:
        target = _AT_MOST.match(str(row["target"]))
        ratio = row["unit"] in RATIO_UNITS or row["unit"] == "ratio"
        if not (target and ratio and isinstance(row["value"], int | float)):
            continue
        bounds = [
            other["value"] for other in rows
            if other["benchmark"] == row["benchmark"]
            and str(other["figure"]).startswith("lower bound")
            and other["unit"] in RATIO_UNITS and row["unit"] in RATIO_UNITS
            and isinstance(other["value"], int | float)
        ]
        bars.append((f"{row['benchmark']}: {row['figure']}", float(row["value"]),
                     float(target[1]), max(bounds) if bounds else None))
    return bars


def chart(rows: list[dict[str, Any]]) -> str:
    """targets.svg: one bar per target on a log scale from 1, a tick at the target and a
    thin grey bar under it up to the lower bound."""
    bars = _target_bars(rows)
    label_width, plot_width, row_height, top = 330, 400, 32, 34
    largest = max([1.5] + [max(v, t, b or 0) for _, v, t, b in bars]) * 1.25
    height = top + row_height * len(bars) + 40

    def x(value: float) -> float:
        return label_width + plot_width * math.log(max(value, 1.0)) / math.log(largest)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + plot_width + 20}" '
        f'height="{height}" font-family="sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="white"/>',
        '<text x="4" y="16" font-size="13" font-weight="bold">Measured against target '
        '(log scale; 1 = the floor or the baseline)</text>',
    ]
    for index, (label, value, target, bound) in enumerate(bars):
        y = top + index * row_height
        met = value <= target
        short = label if len(label) <= 52 else label[:51] + "…"
        parts += [
            f'<text x="4" y="{y + 15}"><title>{html.escape(label)}</title>'
            f"{html.escape(short)}</text>",
            f'<rect x="{label_width}" y="{y + 4}" width="{x(value) - label_width:.1f}" '
            f'height="13" fill="{"#2e7d32" if met else "#c62828"}"/>',
            f'<text x="{max(x(value), x(target)) + 5:.1f}" y="{y + 15}">{value:g}</text>',
            f'<line x1="{x(target):.1f}" x2="{x(target):.1f}" y1="{y}" y2="{y + 22}" '
            'stroke="black" stroke-width="2"/>',
        ]
        if bound is not None:
            parts += [
                f'<rect x="{label_width}" y="{y + 19}" width="{x(bound) - label_width:.1f}" '
                'height="5" fill="#9e9e9e"/>',
                f'<text x="{max(x(bound), x(target)) + 5:.1f}" y="{y + 25}" font-size="9" '
                'fill="#616161">'
                f"{bound:g}</text>",
            ]
    legend_y = top + row_height * len(bars) + 20
    parts += [
        f'<line x1="4" x2="4" y1="{legend_y - 9}" y2="{legend_y + 3}" stroke="black" '
        'stroke-width="2"/>',
        f'<text x="10" y="{legend_y}">target</text>',
        f'<rect x="60" y="{legend_y - 5}" width="14" height="5" fill="#9e9e9e"/>',
        f'<text x="80" y="{legend_y}">lower bound: the least the design can do (measured)</text>',
        f'<rect x="380" y="{legend_y - 9}" width="12" height="12" fill="#2e7d32"/>',
        f'<text x="396" y="{legend_y}">met</text>',
        f'<rect x="430" y="{legend_y - 9}" width="12" height="12" fill="#c62828"/>',
        f'<text x="446" y="{legend_y}">missed</text>',
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


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
    output = Path(args.output)
    output.write_text(render(rows, about, seconds, started))
    if any(_target_bars(rows)):
        (output.parent / CHART_FILE).write_text(chart(rows))
    print(f"wrote {args.output}: {len(rows)} figures from {len(modules)} benchmark(s)"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
