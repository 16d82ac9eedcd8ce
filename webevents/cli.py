"""`webevents`: the one command line of the local pipeline. Every subcommand is defined here."""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> "module:function"; modules are imported only when their command runs,
# so `webevents query` does not pay for dbt or the generator.
COMMANDS = {
    "generate": "webevents.generate:generate_command",
    "ingest": "webevents.firehose:ingest_command",
    "backfill": "webevents.backfill:backfill_command",
    "sql": "webevents.sqlrunner:sql_command",
    "query": "webevents.query:query_command",
    "run": "webevents.pipeline:run_command",
    "migrate": "webevents.migrate:migrate_command",
}


def _add_lake(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lake",
        help="local lake folder (default: $WEBEVENTS_LAKE or .lake/)",
    )


def _add_engine(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=["local", "athena", "trino"],
        default="local",
        help="local = DuckDB on the lake (default); athena = AWS; trino = the fidelity-tier server",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="webevents",
        description="Web-events pipeline, run locally on DuckDB (or on Athena / Trino).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = commands.add_parser("generate", help="write realistic sample events")
    generate.add_argument("--out", default="sample", help="output folder (default: sample/)")
    generate.add_argument("--events", type=int, default=50_000, help="about how many events")
    generate.add_argument("--days", type=int, default=14, help="days of traffic")
    generate.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")
    generate.add_argument("--end-date", help="last day of traffic, YYYY-MM-DD (default: yesterday)")

    ingest = commands.add_parser(
        "ingest",
        help="JSON-lines files through the Firehose stand-in and the real Lambda",
        description="Send JSON-lines files (plain or .gz, one event per line) through the "
        "local Firehose stand-in and the real transform Lambda: Ok rows are appended to "
        "raw.web_events, failed records go to <lake>/processing-failed/ in Firehose's "
        "error-record format, dropped (blank) records are counted. Re-ingesting a file "
        "appends its events again: raw is append-only and dedupe happens downstream.",
    )
    ingest.add_argument("files", nargs="+", help="JSON-lines files, plain or .gz")
    ingest.add_argument(
        "--buffer-mb",
        type=float,
        default=0.2,
        help="Firehose processor buffer size hint in MB (default 0.2, as the template)",
    )
    _add_lake(ingest)

    backfill = commands.add_parser("backfill", help="historical archive load through sql/backfill")
    backfill.add_argument("files", nargs="+", help="archive JSON-lines files, plain or .gz")
    backfill.add_argument("--from", dest="date_from", help="first event date to load, YYYY-MM-DD")
    backfill.add_argument("--to", dest="date_to", help="last event date to load, YYYY-MM-DD")
    _add_lake(backfill)

    sql = commands.add_parser("sql", help="run Athena-dialect SQL files, in order")
    sql.add_argument("files", nargs="+", help="sql/ files (or folders, run in name order)")
    sql.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="template parameter, e.g. run_date=2026-11-24 (repeatable)",
    )
    _add_engine(sql)
    _add_lake(sql)

    query = commands.add_parser("query", help="one Athena-dialect query on the lake")
    query.add_argument("sql", help="the query")
    query.add_argument("--format", choices=["table", "csv", "json"], default="table")
    _add_engine(query)
    _add_lake(query)

    run = commands.add_parser("run", help="the whole main job end to end, with a report")
    run.add_argument(
        "--input",
        nargs="+",
        help="your JSON-lines files (plain or .gz) instead of the sample; they go through the "
        "Firehose stand-in as the stream, and files already ingested into the lake are skipped",
    )
    run.add_argument("--events", type=int, default=50_000, help="sample size when generating")
    run.add_argument("--days", type=int, default=14, help="sample days when generating")
    run.add_argument("--seed", type=int, default=7, help="sample seed when generating")
    _add_lake(run)

    # issue 19: schema evolution of a deployed stack (docs/operations.md, D-INFRA-3)
    migrate = commands.add_parser(
        "migrate",
        help="add the landing contract's new columns to deployed tables, then import them "
        "into the stack with template.yaml's schema, and check all three agree",
    )
    _add_engine(migrate)
    migrate.add_argument("--stack", help="the stack whose tables to import (with --engine athena)")
    migrate.add_argument("--dry-run", action="store_true", help="only print the ALTER statements")
    _add_lake(migrate)

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module_name, function_name = COMMANDS[args.command].split(":")
    command = getattr(importlib.import_module(module_name), function_name)
    return int(command(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
