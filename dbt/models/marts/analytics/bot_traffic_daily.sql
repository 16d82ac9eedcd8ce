{#- Athena: monthly Iceberg partitions, as a day of this mart is only a few rows;
    an identity column (event_month), not month(event_date): Athena's OPTIMIZE filters
    on partition columns only (sql/maintenance, docs/engine-fidelity.md). -#}
{{
    config(
        unique_key=['event_date', 'reason_day_key'],
        **webevents.incremental_config(partition_by='event_month')
    )
}}

-- Bot traffic share per event day and bot rule (sql/bots): one row per day
-- and rule ever seen. An event flagged by several rules counts under each,
-- so shares by reason can add up to more than the day's bot share.

with

web_events as (

    select * from {{ ref('fct_web_events') }}

),

scoped_events as (

    select * from web_events
    {% if is_incremental() %}
        where event_date >= {{ webevents.daily_window_start('event_date') }}
    {% endif %}

),

flagged as (

    select
        scoped_events.event_date,
        fired.bot_reason

    from scoped_events
    {{ webevents.unnest_array(
        'scoped_events.bot_reasons', 'fired', 'bot_reason'
    ) }}
    where scoped_events.is_bot

),

reasons as (

    select distinct bot_reason from flagged
    {% if is_incremental() %}
        union
        select distinct bot_reason from {{ this }}
    {% endif %}

),

day_totals as (

    select
        event_date,
        count(*) as event_count,
        sum(case when is_bot then 1 else 0 end) as bot_event_count

    from scoped_events
    group by 1

),

reason_counts as (

    select
        event_date,
        bot_reason,
        count(*) as reason_event_count

    from flagged
    group by 1, 2

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            'cast(day_totals.event_date as varchar)', "'|'", 'reasons.bot_reason'
        ])) }} as reason_day_key,
        day_totals.event_date,
        reasons.bot_reason,
        coalesce(reason_counts.reason_event_count, 0) as reason_event_count,
        day_totals.bot_event_count,
        day_totals.event_count,
        {{ webevents.safe_divide(
            'coalesce(reason_counts.reason_event_count, 0)', 'day_totals.event_count'
        ) }} as reason_share_of_events,
        {{ webevents.safe_divide(
            'day_totals.bot_event_count', 'day_totals.event_count'
        ) }}
            as bot_share_of_events,
        cast(date_trunc('month', day_totals.event_date) as date) as event_month

    from day_totals
    cross join reasons
    left join reason_counts
        on
            day_totals.event_date = reason_counts.event_date
            and reasons.bot_reason = reason_counts.bot_reason

)

select * from final
