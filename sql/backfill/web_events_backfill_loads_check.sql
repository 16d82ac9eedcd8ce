-- The chunk's reconciliation as `webevents backfill` checks it: unaccounted
-- lines must be 0 (every source line landed, rejected or dropped).
select
    date_from,
    date_to,
    source_lines,
    landed_lines,
    rejected_lines,
    dropped_lines,
    source_lines - landed_lines - rejected_lines - dropped_lines
        as unaccounted_lines
from raw.web_events_backfill_loads
where date_from = date '{{ date_from }}' and date_to = date '{{ date_to }}'
