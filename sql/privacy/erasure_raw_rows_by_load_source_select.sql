-- The request's rows in raw.web_events per input kind (load_source), so the
-- local reconciliation can show them as erased, not as lost.
select
    load_source,
    count(*) as erased_rows
from raw.web_events
where
    user_id in ({{ user_id_list }})
    or anonymous_id in ({{ device_id_list }})
    or (user_id is null and anonymous_id in ({{ anonymous_id_list }}))
group by load_source
