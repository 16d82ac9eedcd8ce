-- Rows the request erases, per landed table (--dry-run prints these).
select
    'raw.web_events' as erased_table,
    count(*) as erased_rows
from raw.web_events
where
    user_id in ({{ request_user_ids }})
    or anonymous_id in ({{ request_device_ids }})
    or (user_id is null and anonymous_id in ({{ request_anonymous_ids }}))
union all
select
    'analytics.web_events' as erased_table,
    count(*) as erased_rows
from analytics.web_events
where
    user_id in ({{ request_user_ids }})
    or anonymous_id in ({{ request_device_ids }})
    or (user_id is null and anonymous_id in ({{ request_anonymous_ids }}))
union all
select
    'raw.web_events_backfill_stage' as erased_table,
    count(*) as erased_rows
from raw.web_events_backfill_stage as staged
where
    user_id in ({{ request_user_ids }})
    or anonymous_id in ({{ request_device_ids }})
    or (user_id is null and anonymous_id in ({{ request_anonymous_ids }}))
    or (
        outcome = 'rejected'
        and exists (
            select 1 as holds_id from raw.erasure_request_ids as ids
            where
                ids.request_id = '{{ request_id }}'
                and strpos(staged.line, '"' || ids.id || '"') > 0
        )
    )
union all
select
    'raw.web_events_backfill_rejects' as erased_table,
    count(*) as erased_rows
from raw.web_events_backfill_rejects as rejects
where exists (
        select 1 as holds_id from raw.erasure_request_ids as ids
        where
            ids.request_id = '{{ request_id }}'
            and strpos(rejects.line, '"' || ids.id || '"') > 0
    )
