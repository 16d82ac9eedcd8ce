"""`webevents`: the one command line of the local pipeline. Every subcommand is defined here."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import textwrap

# subcommand -> "module:function"; modules are imported only when their command runs,
# so `webevents query` does not pay for dbt or the generator. A verb's code is in the module
# named like it (webevents/<role>/<verb>.py), except: `build` is the run job's quick loop
# (local/run.py) and `upload-source` uploads to the stack's bucket (aws/stack.py).
COMMANDS = {
    "generate": "webevents.dev.generate:generate_command",
    "ingest": "webevents.local.ingest:ingest_command",
    "replay": "webevents.jobs.replay:replay_command",
    "backfill": "webevents.jobs.backfill:backfill_command",
    "sql": "webevents.jobs.sql:sql_command",
    "query": "webevents.jobs.query:query_command",
    "run": "webevents.local.run:run_command",
    "build": "webevents.local.run:build_command",
    "smoke": "webevents.aws.smoke:smoke_command",
    "upload-source": "webevents.aws.stack:upload_source_command",
    "adopt-retained": "webevents.aws.adopt:adopt_command",
    "serve": "webevents.local.serve:serve_command",
    "forget": "webevents.jobs.forget:forget_command",
    "migrate": "webevents.aws.migrate:migrate_command",
    "arrivals": "webevents.jobs.arrivals:arrivals_command",
}


def _add_lake(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lake",
        help="local lake folder (default: $WEBEVENTS_LAKE or .lake/)",
    )


def _add_summary(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--summary",
        metavar="FILE",
        help="also write the figures and the lake's reconciliation (counted from the tables) "
        "to FILE as one JSON object, atomically",
    )


def _add_engine(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=["local", "athena", "trino"],
        default="local",
        help="local = DuckDB on the lake (default); athena = AWS; trino = the fidelity-tier server",
    )


def _add_deploy_commands(commands) -> None:
    """Commands against a deployed stack (docs/operations.md); they call AWS."""
    smoke = commands.add_parser(
        "smoke",
        help="prove every hop of a deployed stack with tagged events",
        description="Send uniquely tagged events (and one malformed) through the stack's entry "
        "points, wait until they are rows of raw.web_events (Athena) and the malformed one is "
        "in the error output, and print PASS/FAIL per hop. Deletes nothing but its own scratch "
        "database (--scratch); the tagged rows stay (docs/operations.md, smoke test).",
    )
    smoke.add_argument("--stack", required=True, help="CloudFormation stack name")
    smoke.add_argument("--region", help="AWS Region (default: your AWS configuration)")
    smoke.add_argument(
        "--margin",
        type=float,
        default=300.0,
        help="seconds to wait beyond the stack's buffer intervals (default 300)",
    )
    smoke.add_argument(
        "--enrich",
        action="store_true",
        help="also run sql/enrich for today and check the events reach analytics.web_events",
    )
    smoke.add_argument(
        "--scratch",
        action="store_true",
        help="run sql/enrich's MERGE into a scratch Glue database created for this run, "
        "check the tagged events, then drop it (writes no production table)",
    )
    smoke.add_argument(
        "--dbt-model",
        nargs="?",
        const="int_session_boundaries",
        metavar="MODEL",
        help="also `dbt build --select MODEL` into the scratch database (implies --scratch; "
        "default int_session_boundaries; only models whose refs are all staging)",
    )
    upload = commands.add_parser(
        "upload-source", help="upload the project zip the daily CodeBuild job runs"
    )
    upload.add_argument("zip", help="the project zip (make upload-source builds it)")
    upload.add_argument("--stack", required=True, help="CloudFormation stack name")
    upload.add_argument("--region", help="AWS Region (default: your AWS configuration)")
    adopt = commands.add_parser(
        "adopt-retained",
        help="after a stack delete: an IMPORT change set adopting the retained resources",
        description="Find the deleted stack's retained resources (KMS key, table bucket, "
        "namespaces, tables, buckets) and create a CloudFormation IMPORT change set that "
        "recreates the stack around them; review and execute it, then `make deploy` "
        "(docs/operations.md, Redeploy after a stack delete). Executes nothing itself.",
    )
    adopt.add_argument("--stack", required=True, help="the deleted stack's name")
    adopt.add_argument("--region", help="AWS Region (default: your AWS configuration)")
    adopt.add_argument(
        "--config-env", default="default", help="samconfig.toml environment (default: default)"
    )
    adopt.add_argument("--change-set", default="adopt-retained", help="change set name")


# one example per subcommand, shown under its --help (dates are left to the defaults, so
# each works as written on a lake made today)
EXAMPLES = {
    "generate": "webevents generate --out sample --events 50000 --days 14",
    "ingest": "webevents ingest .lake/sample/stream/*.jsonl --lake .lake",
    "backfill": "webevents backfill .lake/sample/archive/dt=*/*.jsonl.gz --lake .lake",
    "sql": "webevents sql sql/enrich sql/bots --param lookback_days=13 --lake .lake",
    "query": 'webevents query "select event_date, count(*) as events from '
             'analytics.web_events group by 1 order by 1" --lake .lake',
    "run": "webevents run --lake .lake",
    "build": "webevents build bot_traffic_daily --lake .lake",
    "smoke": "webevents smoke --stack webevents-dev --enrich",
    "upload-source": "webevents upload-source build/source.zip --stack webevents-dev",
    "adopt-retained": "webevents adopt-retained --stack webevents-dev --config-env default",
    "replay": "webevents replay .lake/processing-failed/ --lake .lake --dry-run",
    "serve": "webevents serve --lake .lake --port 8080",
    "forget": "webevents forget --user-id u-52000 --lake .lake --dry-run",
    "migrate": "webevents migrate --engine athena --stack webevents-dev --dry-run",
    "arrivals": "webevents arrivals enrich --lake .lake",
}


def _describe(commands) -> None:
    """Every subcommand's --help: its one-line description first, then an example."""
    for name, sub in commands.choices.items():
        summary = next((action.help for action in commands._choices_actions
                        if action.dest == name), None)
        sub.formatter_class = argparse.RawDescriptionHelpFormatter
        if summary and not (sub.description or "").startswith(summary):
            sub.description = "\n\n".join(
                textwrap.fill(paragraph, 79) for paragraph in
                [f"{summary[0].upper()}{summary[1:]}.", sub.description] if paragraph)
        if name in EXAMPLES:
            sub.epilog = f"example:\n  {EXAMPLES[name]}"


def _add_build_command(commands) -> None:
    """`webevents build`: the analyst's quick loop over dbt models (docs/analyst-loop.md)."""
    build = commands.add_parser(
        "build",
        help="rebuild a dbt model and everything below it, then the report",
        description="Rebuild MODEL and every model downstream of it from scratch "
        "(`dbt build --select MODEL+ --full-refresh`) on the lake, then the report; print "
        "the rows each rebuilt table gained and lost. Without MODEL: the models whose code "
        "changed since the lake was built. sql/ steps are not re-run (`webevents run` does).",
    )
    build.add_argument("model", nargs="?", metavar="MODEL_SELECTOR",
                       help="a dbt model name or selector, e.g. bot_traffic_daily or "
                       "tag:daily (its descendants are added)")
    _add_lake(build)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="webevents",
        description="Web-events pipeline, run locally on DuckDB (or on Athena / Trino).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_deploy_commands(commands)

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
        "error-record format, dropped (blank) records are counted. Each file commits with its "
        "ledger row; a file whose content the lake already holds is skipped, so a killed "
        "ingest run again resumes where it stopped.",
    )
    ingest.add_argument("files", nargs="+", help="JSON-lines files, plain or .gz")
    ingest.add_argument(
        "--buffer-mb",
        type=float,
        default=0.2,
        help="Firehose processor buffer size hint in MB (default 0.2, as the template)",
    )
    _add_lake(ingest)
    _add_summary(ingest)

    backfill = commands.add_parser("backfill", help="historical archive load through sql/backfill")
    backfill.add_argument("files", nargs="+", help="archive JSON-lines files, plain or .gz")
    backfill.add_argument("--from", dest="date_from", help="first event date to load, YYYY-MM-DD")
    backfill.add_argument("--to", dest="date_to", help="last event date to load, YYYY-MM-DD")
    _add_lake(backfill)
    _add_summary(backfill)

    sql = commands.add_parser("sql", help="run Athena-dialect SQL files, in order")
    sql.add_argument("files", nargs="+",
                     help="sql/ files (or folders, run in their run_order.yml order)")
    sql.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="template parameter, e.g. lookback_days=13 (repeatable; run_date defaults to "
        "yesterday)",
    )
    _add_engine(sql)
    _add_lake(sql)

    replay = commands.add_parser(
        "replay",
        help="Firehose error output (local or s3://) or the backfill rejects back in",
        description="Replay Firehose error output (files, folders or s3://bucket/prefix/, "
        "GZIP or plain JSON lines) or `backfill-rejects`, idempotently (docs/operations.md).",
    )
    replay.add_argument("sources", nargs="+", metavar="SOURCE",
                        help="error-output file/folder, s3://bucket/prefix/, or backfill-rejects")
    replay.add_argument("--to", choices=["local", "firehose", "kinesis"],
                        help="the local lake (default; with --stack and no --lake: firehose), "
                        "or the stack's Firehose / Kinesis stream")
    replay.add_argument("--stack", help="CloudFormation stack whose outputs name the streams")
    replay.add_argument("--since", help="first arrival date to replay, YYYY-MM-DD (UTC)")
    replay.add_argument("--until", help="last arrival date to replay, YYYY-MM-DD (UTC)")
    replay.add_argument("--reason", action="append",
                        help="only this errorCode or reason (repeatable, or comma-separated)")
    replay.add_argument("--archive-date", action="append",
                        help="backfill-rejects: archive day(s), YYYY-MM-DD (repeatable)")
    replay.add_argument("--dry-run", action="store_true",
                        help="run the handler and show what would land or fail; write nothing")
    replay.add_argument("--summary", help="write the summary as JSON to this file")
    _add_lake(replay)

    query = commands.add_parser("query", help="one Athena-dialect query on the lake")
    query.add_argument("sql", help="the query")
    query.add_argument("--format", choices=["table", "csv", "json"], default="table")
    query.add_argument("--write", action="store_true",
                       help="let the query change the local lake (it reads only by default)")
    _add_engine(query)
    _add_lake(query)

    run = commands.add_parser("run", help="the whole main job end to end, with a report")
    run.add_argument(
        "--input",
        nargs="+",
        help="your JSON-lines files (plain or .gz) instead of the sample; they go through the "
        "Firehose stand-in as the stream, and files already ingested into the lake are skipped",
    )
    # unset: the lake's own sample, whatever its size (else 50,000 events, 14 days, seed 7)
    run.add_argument("--events", type=int, help="sample size when generating (default 50000)")
    run.add_argument("--days", type=int, help="sample days when generating (default 14)")
    run.add_argument("--seed", type=int, help="sample seed when generating (default 7)")
    run.add_argument("--fresh", action="store_true",
                     help="start the lake over: remove its tables, sample and outputs first")
    run.add_argument("--full-refresh", action="store_true",
                     help="re-run sql/enrich and sql/bots over every day and rebuild every dbt "
                     "model from scratch, as if all the code had changed")
    _add_lake(run)
    _add_summary(run)
    _add_build_command(commands)

    serve = commands.add_parser(
        "serve",
        help="a local collector with the deployed endpoint's contract, and a demo tour",
        description="A local stand-in for the browser endpoint (same request contract, status "
        "codes and CORS as API Gateway) feeding the Firehose stand-in and the real Lambda; "
        "GET / is a demo tour page using tracker/webevents.js.",
    )
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 = any free)")
    serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve.add_argument("--allow-origin", default="*",
                       help="CORS Access-Control-Allow-Origin (default *, as the dev stack)")
    _add_lake(serve)

    _add_forget(commands)
    _add_arrivals(commands)

    # schema evolution of a deployed stack (docs/operations.md, D-INFRA-3)
    migrate = commands.add_parser(
        "migrate",
        help="add new landing columns to the deployed tables and import them into the stack",
        description="Run ALTER TABLE ... ADD COLUMNS for the landing contract's new columns "
        "through Athena, import the tables into the stack with template.yaml's schema, and "
        "check that the live tables, the template and the contract agree.",
    )
    _add_engine(migrate)
    migrate.add_argument("--stack", help="the stack whose tables to import (with --engine athena)")
    migrate.add_argument("--dry-run", action="store_true", help="only print the ALTER statements")
    _add_lake(migrate)

    _describe(commands)
    return parser


class Terminated(BaseException):
    """SIGTERM, raised where the program is so it unwinds like Ctrl-C (rollbacks run)."""


def _terminate(_signum, _frame) -> None:
    raise Terminated


def _add_forget(commands) -> None:
    forget = commands.add_parser(
        "forget",
        help="erase a person's events everywhere (GDPR art. 17), with an audit row",
        description="File an erasure request (a request file: the id never enters a SQL "
        "statement) and apply every pending one: the person's rows leave raw, analytics, the "
        "backfill stage and rejects and the marts (touched days re-derived); an audit row "
        "records a keyed hash, rows removed and, per store, the date the last copy is gone. "
        "Applied requests are watched 21 days for copies landing again. Runbook: "
        "docs/operations.md, 'Erasure'.",
    )
    forget.add_argument("--user-id", help="the person's user id (their stitched devices too)")
    forget.add_argument("--anonymous-id", help="a device's anonymous id (all its rows)")
    forget.add_argument("--ids-file", help="a file of 'user_id ID' / 'anonymous_id ID' lines")
    forget.add_argument("--dry-run", action="store_true",
                        help="print what would go; delete nothing")
    forget.add_argument("--defer", action="store_true",
                        help="only write the request file(s); the daily job applies them")
    forget.add_argument("--apply-pending", action="store_true",
                        help="apply the requests already filed (the daily job runs this)")
    _add_engine(forget)
    _add_lake(forget)


def _add_arrivals(commands) -> None:
    arrivals = commands.add_parser(
        "arrivals",
        help="merge, flag and build what arrived since the last run, any event date",
        description="enrich: merge the rows that arrived since the last run (received_at) "
        "into analytics.web_events, whatever their event date; bots: flag the event dates "
        "enrich touched since bots last ran; dbt-dates: print those dates for the marts "
        "(WEBEVENTS_LATE_EVENT_DATES); newest-date: print the newest event date, the data "
        "tests' window (WEBEVENTS_NEWEST_EVENT_DATE); dbt-built: record that dbt rebuilt "
        "them. Each step "
        "records its arrival mark in analytics.web_events_arrival_marks (docs/operations.md).",
    )
    arrivals.add_argument("action",
                          choices=["enrich", "bots", "dbt-dates", "newest-date", "dbt-built"])
    arrivals.add_argument("--since", help="enrich: also re-read arrivals since this UTC "
                          "timestamp (after a replay or backfill with older received_at)")
    arrivals.add_argument("--state", metavar="FILE", help="dbt-dates writes, dbt-built reads "
                          "the arrival the dates cover (so dbt-built records what dbt built)")
    _add_engine(arrivals)
    _add_lake(arrivals)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module_name, function_name = COMMANDS[args.command].split(":")
    command = getattr(importlib.import_module(module_name), function_name)
    previous = signal.signal(signal.SIGTERM, _terminate)
    # Here, not at the top: the lake loads DuckDB (~115 ms, python -X importtime) and
    # `webevents --help` needs none of it.
    from webevents.local.lake import LakeError

    try:
        return int(command(args) or 0)
    except LakeError as error:  # the lake cannot be used as asked: one line, no traceback
        print(f"webevents {args.command}: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Terminated) as stop:
        # Every unit of work commits with its bookkeeping, so what finished is kept and a
        # re-run resumes after it; no traceback for an interrupt the user asked for.
        code, name = (130, "interrupted") if isinstance(stop, KeyboardInterrupt) else (
            143, "terminated")
        print(f"webevents {args.command}: {name}; work committed so far is kept, and the "
              f"same command run again resumes after it", file=sys.stderr)
        return code
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
