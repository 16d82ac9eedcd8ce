-- Rows the request erases, per landed table (--dry-run prints these).
select
    'raw.web_events' as erased_table,
    count(*) as erased_rows
from raw.web_events
where
    user_id in ({{ user_id_list }})
    or anonymous_id in ({{ device_id_list }})
    or (user_id is null and anonymous_id in ({{ anonymous_id_list }}))
union all
select
    'analytics.web_events' as erased_table,
    count(*) as erased_rows
from analytics.web_events
where
    user_id in ({{ user_id_list }})
    or anonymous_id in ({{ device_id_list }})
    or (user_id is null and anonymous_id in ({{ anonymous_id_list }}))
union all
select
    'raw.web_events_backfill_stage' as erased_table,
    count(*) as erased_rows
from raw.web_events_backfill_stage
where
    user_id in ({{ user_id_list }})
    or anonymous_id in ({{ device_id_list }})
    or (user_id is null and anonymous_id in ({{ anonymous_id_list }}))
    or (outcome = 'rejected' and regexp_like(line, '{{ identifier_pattern }}'))
union all
select
    'raw.web_events_backfill_rejects' as erased_table,
    count(*) as erased_rows
from raw.web_events_backfill_rejects
where regexp_like(line, '{{ identifier_pattern }}')
