-- Rows of watched requests' persons that landed again after the erasure, per
-- request: in every landed table (equi-joins on the kept ids, so each table is
-- read once) and, as text, in the backfill rejects.
with watched as (
    select
        ids.request_id,
        ids.id_kind,
        ids.id
    from raw.erasure_request_ids as ids
    inner join raw.erasure_requests as requests
        on ids.request_id = requests.request_id
    where requests.request_id in ({{ request_id_list }})
),

landed as (
    select
        user_id,
        anonymous_id
    from raw.web_events
    union all
    select
        user_id,
        anonymous_id
    from analytics.web_events
    union all
    select
        user_id,
        anonymous_id
    from raw.web_events_backfill_stage
)

select
    watched.request_id,
    count(*) as landed_rows
from landed
inner join watched on landed.user_id = watched.id
where watched.id_kind = 'user_id'
group by watched.request_id
union all
select
    watched.request_id,
    count(*) as landed_rows
from landed
inner join watched on landed.anonymous_id = watched.id
where watched.id_kind = 'device_id'
group by watched.request_id
union all
select
    watched.request_id,
    count(*) as landed_rows
from landed
inner join watched on landed.anonymous_id = watched.id
where watched.id_kind = 'anonymous_id' and landed.user_id is null
group by watched.request_id
union all
select
    watched.request_id,
    count(*) as landed_rows
from raw.web_events_backfill_rejects as rejects
inner join watched on strpos(rejects.line, '"' || watched.id || '"') > 0
group by watched.request_id
