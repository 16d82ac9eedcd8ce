-- Backfill chunks and whether each reconciles: every archive line either landed,
-- was rejected (raw.web_events_backfill_rejects says why) or was dropped by rule.
select
    date_from,
    date_to,
    source_lines,
    landed_lines,
    rejected_lines,
    dropped_lines,
    logged_at,
    source_lines
    - landed_lines
    - rejected_lines
    - dropped_lines as unaccounted_lines,
    source_lines
    = landed_lines + rejected_lines + dropped_lines as is_reconciled
from raw.web_events_backfill_loads
order by date_from, date_to
