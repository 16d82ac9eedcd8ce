-- Identity stitching: which user a device (anonymous_id) belonged to when.
-- Consecutive identified events of one device with the same user_id form a
-- range valid from its first event until the next range starts, so a device
-- shared by several users over time maps to each of them in turn (not only
-- "latest wins"). Rebuilt in full each run from identified events only.
-- identity_key names the event that opened the range, not its position: a
-- late identification inserts or splits ranges and renumbers them, and a
-- positional key would then point fact rows built earlier at another user's
-- range. An opener is always its own user's event, so a key never changes
-- hands (it can only stop existing, when a late event of the same user
-- extends the range backwards).

with

events as (

    select * from {{ ref('stg_analytics__web_events') }}

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
        max(case when is_new_range = 1 then event_id end) as opened_by_event_id,
        min(event_timestamp) as valid_from,
        max(event_timestamp) as last_identified_at,
        count(*) as identified_event_count

    from numbered_ranges
    group by 1, 2, 3

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            'anonymous_id', "'|'", 'opened_by_event_id'
        ])) }} as identity_key,
        anonymous_id,
        user_id,
        range_number,
        opened_by_event_id,
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
