-- Identity stitching: which user a device (anonymous_id) belonged to when.
-- Consecutive identified events of one device with the same user_id form a
-- range valid from its first event until the next range starts, so a device
-- shared by several users over time maps to each of them in turn (not only
-- "latest wins"). Rebuilt in full each run from identified events only.

with

events as (

    select * from "t_test_erasure_on_trino_631a67"."marts"."stg_analytics__web_events"

),

identified_events as (

    select
        event_id,
        anonymous_id,
        user_id,
        event_timestamp

    from events
    where anonymous_id is not null and user_id is not null

),

user_changes as (

    select
        *,
        case
            when lag(user_id)
                    over (
                        partition by anonymous_id
                        order by event_timestamp, event_id
                    )
                = user_id then 0
            else 1
        end as is_new_range

    from identified_events

),

numbered_ranges as (

    select
        *,
        sum(is_new_range) over (
            partition by anonymous_id
            order by event_timestamp, event_id
            rows between unbounded preceding and current row
        ) as range_number

    from user_changes

),

ranges as (

    select
        anonymous_id,
        user_id,
        range_number,
        min(event_timestamp) as valid_from,
        max(event_timestamp) as last_identified_at,
        count(*) as identified_event_count

    from numbered_ranges
    group by 1, 2, 3

),

final as (

    select
        lower(to_hex(md5(to_utf8(cast(anonymous_id || '|' || cast(range_number as varchar) as varchar))))) as identity_key,
        anonymous_id,
        user_id,
        range_number,
        valid_from,
        lead(valid_from) over (
            partition by anonymous_id order by valid_from
        ) as valid_to,
        last_identified_at,
        identified_event_count,
        lead(valid_from) over (
            partition by anonymous_id order by valid_from
        ) is null as is_current

    from ranges

)

select * from final