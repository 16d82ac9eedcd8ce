-- Erase archive lines the backfill rejected that carry any of the request's ids
-- (rejected lines were never parsed, so the ids are matched in the raw text).
delete from raw.web_events_backfill_rejects
where exists (
        select 1 as holds_id from raw.erasure_request_ids as ids
        where
            ids.request_id = '{{ request_id }}'
            and strpos(line, '"' || ids.id || '"') > 0
    )
