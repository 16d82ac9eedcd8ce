-- Erase the request's rows from raw.web_events_backfill_stage (webevents forget);
-- a rejected line is kept whole in `line`, so it is matched on its text.
delete from raw.web_events_backfill_stage
where
    user_id in ({{ user_id_list }})
    or anonymous_id in ({{ device_id_list }})
    or (user_id is null and anonymous_id in ({{ anonymous_id_list }}))
    or (outcome = 'rejected' and regexp_like(line, '{{ identifier_pattern }}'))
