-- Erase the request's rows from raw.web_events (webevents forget).
delete from raw.web_events
where
    user_id in ({{ user_id_list }})
    or anonymous_id in ({{ device_id_list }})
    or (user_id is null and anonymous_id in ({{ anonymous_id_list }}))
