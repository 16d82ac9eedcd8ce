-- Erase the person's events from marts.int_session_boundaries (before
-- marts.fct_web_events, whose rows name them).
delete from marts.int_session_boundaries
where event_id in (
        select person_events.event_id
        from marts.fct_web_events as person_events
        where
            person_events.user_id in ({{ request_user_ids }})
            or person_events.anonymous_id in ({{ request_device_ids }})
            or (
                person_events.user_id is null
                and person_events.anonymous_id in ({{ request_anonymous_ids }})
            )
    )
