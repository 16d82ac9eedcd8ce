"""Named points where a test can stop the program as a crash or an interrupt would.

`WEBEVENTS_FAILPOINT=NAME[:SIGNAL]` (SIGNAL KILL, the default, or INT or TERM) makes the
process send itself that signal when it reaches `reach(NAME)`: the fault tests kill a
run at every step this way and check that a re-run ends identical to an uninterrupted
run. Unset, `reach` is one dictionary lookup. (The failpoint idea as in FreeBSD's
fail(9) and TiKV's fail-rs.)
"""

from __future__ import annotations

import os
import signal

ENV_VAR = "WEBEVENTS_FAILPOINT"
POINTS = (
    "sample.written",           # sample files written, not yet in place
    "backfill.chunk_written",   # a chunk's statements ran, its transaction not committed
    "backfill.chunk_committed",
    "ingest.rows_written",      # a file's rows and ledger row written, not committed
    "ingest.committed",         # committed, error output not yet published
    "enrich.started",
    "enrich.merged",            # every window merged, the enrich mark not yet committed
    "bots.started",
    "bots.flagged",             # every window flagged, the bots mark not yet committed
    "dbt.running",              # while the dbt child runs
    "dbt.built",                # dbt succeeded, the dbt mark not yet recorded
    "report.started",
    "report.written",           # report and summary written, the command not finished
)
# `webevents forget` (webevents/jobs/forget.py), in the order an erasure reaches them;
# tests/e2e/test_interrupted_forget.py stops it at each.
FORGET_POINTS = (
    "forget.filed",             # request files filed into the table, the files not deleted
    "forget.planned",           # ids, dates, counts, archive files kept; nothing deleted
    "forget.sources_deleted",   # per-event marts and every landed copy deleted
    "forget.days_deleted",      # the touched days of the daily marts deleted, not re-derived
    "forget.rederiving",        # dbt: dim_identity_ranges rebuilt, the other models not yet
    "forget.rederived",         # dbt done; OPTIMIZE (Athena/Trino) and the audit not yet
    "forget.audited",           # audit row written, the request not closed
)
# The watch after an erasure (D-ERASURE-2), reached only when a person's rows landed again.
WATCH_POINTS = (
    "forget.following",         # the follow-up's copy of the ids kept, its request not filed
)


def reach(name: str) -> None:
    """Stop here if the environment names this point."""
    wanted = os.environ.get(ENV_VAR)
    if not wanted:
        return
    point, _, signal_name = wanted.partition(":")
    if point == name:
        os.kill(os.getpid(), getattr(signal, f"SIG{signal_name or 'KILL'}"))
