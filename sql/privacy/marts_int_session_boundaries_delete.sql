-- Erase the person's events from marts.int_session_boundaries (before
-- marts.fct_web_events, whose rows name them).
delete from marts.int_session_boundaries
where event_id in (
        select person_events.event_id
        from marts.fct_web_events as person_events
        where
            person_events.user_id in ({{ user_id_list }})
            or person_events.anonymous_id in ({{ device_id_list }})
            or (
                person_events.user_id is null
                and person_events.anonymous_id in ({{ anonymous_id_list }})
            )
    )
