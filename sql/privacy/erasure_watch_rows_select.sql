-- Rows of watched requests' persons that landed again after the erasure, per
-- request: in every landed table (one equi-join of each row's ids, by kind, on
-- the kept ids) and, as text, in the backfill rejects. A row matched by two of
-- its ids counts twice: the figure only says whether a follow-up is needed.
with watched as (
    select
        ids.request_id,
        ids.id_kind,
        ids.id
    from raw.erasure_request_ids as ids
    where ids.request_id in ({{ request_id_list }})
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
),

-- each landed row under the id kinds that erase it (the rule of every delete)
landed_ids as (
    select
        'user_id' as id_kind,
        user_id as id
    from landed
    union all
    select
        'device_id' as id_kind,
        anonymous_id as id
    from landed
    union all
    select
        'anonymous_id' as id_kind,
        anonymous_id as id
    from landed
    where user_id is null
)

select
    watched.request_id,
    count(*) as landed_rows
from landed_ids
inner join watched
    on landed_ids.id_kind = watched.id_kind and landed_ids.id = watched.id
group by watched.request_id
union all
select
    watched.request_id,
    count(*) as landed_rows
from raw.web_events_backfill_rejects as rejects
inner join watched on strpos(rejects.line, '"' || watched.id || '"') > 0
group by watched.request_id
