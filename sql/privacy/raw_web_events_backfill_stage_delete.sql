-- Erase the request's rows from raw.web_events_backfill_stage (webevents forget);
-- a rejected line is kept whole in `line`, so it is matched on its text.
delete from raw.web_events_backfill_stage
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
                and strpos(line, '"' || ids.id || '"') > 0
        )
    )
