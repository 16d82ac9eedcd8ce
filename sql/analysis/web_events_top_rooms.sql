-- The 20 rooms with the most human events over the run window, with the space
-- they belong to and how many visitors and sessions reached them.
select
    space_id,
    space_name,
    room_id,
    room_name,
    count(*) as events,
    count(distinct anonymous_id) as anonymous_visitors,
    count(distinct session_id) as sessions
from analytics.web_events
where
    event_date
    between date_add('day', -{{ lookback_days }}, date '{{ run_date }}')
    and date '{{ run_date }}'
    and not is_bot
    and room_id is not null
group by space_id, space_name, room_id, room_name
order by events desc, room_id asc
limit 20
