{{
    config(
        unique_key='identity_key',
        **webevents.incremental_config(delete_when='is_superseded')
    )
}}

-- Identity stitching: which user a device (anonymous_id) belonged to when.
-- Consecutive identified events of one device with the same user_id form a
-- range valid from its first event until the next range starts, so a device
-- shared by several users over time maps to each of them in turn (not only
-- "latest wins").
-- identity_key names the event that opened the range, not its position: a
-- late identification inserts or splits ranges and renumbers them, and a
-- positional key would then point fact rows built earlier at another user's
-- range. An opener is always its own user's event, so a key never changes
-- hands (it can only stop existing, when a late event of the same user
-- extends the range backwards).
--
-- Incremental: only identified events dated on or after the identity window
-- start (newest identified date built - var identity_window_days) are read.
-- Per device with such events, the range open at the window start is
-- carried in as one row: its opener, start and number from the built table,
-- and its events before the window from two columns kept for this,
-- window_identified_event_count (its events dated on or after the window
-- start of the run that wrote it) and identified_before_window_at (its last
-- event before). That window start is the one this run reads from, so
-- identified_event_count - window_identified_event_count is the count before
-- it, without reading older events. Ranges re-derived from there replace
-- the built ones; a built range that no longer exists is emitted with
-- is_superseded = true and the merge deletes it. Equal to a full rebuild
-- (tests/dbt/test_dbt_scoped_scans.py, tests/trino/test_scoped_scans_on_trino.py).

{%- if is_incremental() %}
    {%- set window_start = webevents.identity_window_start() %}
{%- endif %}

with

events as (

    select * from {{ ref('stg_analytics__web_events') }}

),

identified_events as (

    select
        event_id,
        anonymous_id,
        user_id,
        event_timestamp,
        event_date

    from events
    where
        anonymous_id is not null and user_id is not null
        {% if is_incremental() %}  -- noqa: LT02
            and event_date >= {{ window_start }}
        {% endif %}  -- noqa: LT02

),

-- the window start the written rows keep their counts against: newest
-- identified date - identity_window_days (never before this run's own)
next_window as (

    select
        {% if is_incremental() %}
            greatest(
                {{ window_start }},
                coalesce(
                    cast({{ dbt.dateadd(
                        'day', -var('identity_window_days'), 'max(event_date)'
                    ) }} as date),
                    {{ window_start }}
                )
            )
        {% else %}
            cast({{ dbt.dateadd(
                'day', -var('identity_window_days'), 'max(event_date)'
            ) }} as date)
        {% endif %} as window_start_date

    from identified_events

),

{% if is_incremental() %}

    built as (

        select * from {{ this }}

    ),

    touched_devices as (

        select distinct anonymous_id from identified_events

    ),

    -- per touched device, the built range open at the window start
    open_ranges as (

        select built.*

        from built
        inner join touched_devices
            on built.anonymous_id = touched_devices.anonymous_id
        where
            built.valid_from < cast({{ window_start }} as timestamp(6))  -- noqa: LT02
            and (
                built.valid_to is null
                or built.valid_to >= cast({{ window_start }} as timestamp(6))
            )

    ),

    sequenced_events as (

        -- the open range's events before the window, as one row
        select
            opened_by_event_id as event_id,
            anonymous_id,
            user_id,
            valid_from as event_timestamp,
            cast(null as date) as event_date,
            identified_event_count - window_identified_event_count
                as event_weight,
            identified_before_window_at as last_event_at,
            range_number - 1 as range_offset

        from open_ranges

        union all

        select
            identified_events.event_id,
            identified_events.anonymous_id,
            identified_events.user_id,
            identified_events.event_timestamp,
            identified_events.event_date,
            1 as event_weight,
            identified_events.event_timestamp as last_event_at,
            coalesce(open_ranges.range_number - 1, 0) as range_offset

        from identified_events
        left join open_ranges
            on identified_events.anonymous_id = open_ranges.anonymous_id

    ),

{% else %}

    sequenced_events as (

        select
            event_id,
            anonymous_id,
            user_id,
            event_timestamp,
            event_date,
            1 as event_weight,
            event_timestamp as last_event_at,
            0 as range_offset

        from identified_events

    ),

{% endif %}

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

    from sequenced_events

),

numbered_ranges as (

    select
        *,
        range_offset + sum(is_new_range) over (
            partition by anonymous_id
            order by event_timestamp, event_id
            rows between unbounded preceding and current row
        ) as range_number

    from user_changes

),

ranges as (

    select
        numbered_ranges.anonymous_id,
        numbered_ranges.user_id,
        numbered_ranges.range_number,
        max(
            case when numbered_ranges.is_new_range = 1 then numbered_ranges.event_id end  -- noqa: LT05
        ) as opened_by_event_id,
        min(numbered_ranges.event_timestamp) as valid_from,
        max(numbered_ranges.last_event_at) as last_identified_at,
        sum(numbered_ranges.event_weight) as identified_event_count,
        sum(
            case
                when numbered_ranges.event_date >= next_window.window_start_date
                    then numbered_ranges.event_weight
                else 0
            end
        ) as window_identified_event_count,
        max(
            case
                when
                    numbered_ranges.event_date is null
                    or numbered_ranges.event_date < next_window.window_start_date  -- noqa: LT05
                    then numbered_ranges.last_event_at
            end
        ) as identified_before_window_at

    from numbered_ranges
    cross join next_window
    group by 1, 2, 3

),

derived as (

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
        cast(identified_event_count as bigint) as identified_event_count,
        lead(valid_from) over (
            partition by anonymous_id order by valid_from
        ) is null as is_current,
        cast(window_identified_event_count as bigint)
            as window_identified_event_count,
        identified_before_window_at,
        false as is_superseded

    from ranges

),

{% if is_incremental() %}

    -- built ranges of the touched devices, from the open one on, that the
    -- run no longer derives: deleted by the merge
    superseded_ranges as (

        select
            built.identity_key,
            built.anonymous_id,
            built.user_id,
            built.range_number,
            built.opened_by_event_id,
            built.valid_from,
            built.valid_to,
            built.last_identified_at,
            built.identified_event_count,
            built.is_current,
            built.window_identified_event_count,
            built.identified_before_window_at,
            true as is_superseded

        from built
        inner join touched_devices
            on built.anonymous_id = touched_devices.anonymous_id
        left join derived
            on built.identity_key = derived.identity_key
        where
            derived.identity_key is null
            and (
                built.valid_to is null
                or built.valid_to >= cast({{ window_start }} as timestamp(6))
            )

    ),

    final as (

        select * from derived
        union all
        select * from superseded_ranges

    )

{% else %}

    final as (

        select * from derived

    )

{% endif %}

select * from final
