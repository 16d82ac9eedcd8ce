-- Erase archive lines the backfill rejected that carry any of the request's ids
-- (rejected lines were never parsed, so the ids are matched in the raw text).
delete from raw.web_events_backfill_rejects
where regexp_like(line, '{{ identifier_pattern }}')
