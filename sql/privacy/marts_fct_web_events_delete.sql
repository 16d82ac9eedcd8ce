-- Erase the person's events from marts.fct_web_events.
delete from marts.fct_web_events
where
    user_id in ({{ request_user_ids }})
    or anonymous_id in ({{ request_device_ids }})
    or (user_id is null and anonymous_id in ({{ request_anonymous_ids }}))
