-- Archive files that hold the person's lines (parsed or rejected): the local
-- runner rewrites them without those lines, so the backfill stays re-runnable.
select staged.source_file
from raw.web_events_backfill_stage as staged
where
    staged.user_id in ({{ request_user_ids }})
    or staged.anonymous_id in ({{ request_device_ids }})
    or (
        staged.user_id is null
        and staged.anonymous_id in ({{ request_anonymous_ids }})
    )
    or (
        staged.outcome = 'rejected'
        and exists (
            select 1 as holds_id from raw.erasure_request_ids as ids
            where
                ids.request_id = '{{ request_id }}'
                and strpos(staged.line, '"' || ids.id || '"') > 0
        )
    )
union
select rejects.source_file
from raw.web_events_backfill_rejects as rejects
where exists (
        select 1 as holds_id from raw.erasure_request_ids as ids
        where
            ids.request_id = '{{ request_id }}'
            and strpos(rejects.line, '"' || ids.id || '"') > 0
    )
