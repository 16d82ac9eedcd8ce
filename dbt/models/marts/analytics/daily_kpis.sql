{#- Athena: monthly Iceberg partitions, as a day of this mart is only a few rows;
    an identity column (kpi_month), not month(kpi_date): Athena's OPTIMIZE filters
    on partition columns only (sql/maintenance, docs/engine-fidelity.md). -#}
{{
    config(
        unique_key='kpi_date',
        **webevents.incremental_config(partition_by='kpi_month')
    )
}}

-- Daily KPIs: traffic by event date, sessions by the day they started.

with

web_events as (

    select * from {{ ref('fct_web_events') }}

),

sessions as (

    select * from {{ ref('fct_sessions') }}

),

scoped_events as (

    select * from web_events
    {% if is_incremental() %}
        where event_date >= {{ webevents.daily_window_start('kpi_date') }}
    {% endif %}

),

event_kpis as (

    select
        event_date as kpi_date,
        count(*) as event_count,
        sum(case when is_bot then 0 else 1 end) as human_event_count,
        sum(case when is_bot then 1 else 0 end) as bot_event_count,
        sum(case when event_type = 'page' and not is_bot then 1 else 0 end)
            as page_view_count,
        count(distinct case when not is_bot then device_key end)
            as human_device_count,
        count(distinct case when not is_bot then stitched_user_id end)
            as identified_user_count,
        count(distinct case when not is_bot then space_id end) as space_count,
        avg(data_quality_score) as avg_data_quality_score

    from scoped_events
    group by 1

),

session_kpis as (

    select
        session_date as kpi_date,
        count(*) as human_session_count,
        avg(duration_seconds) as avg_session_duration_seconds,
        {{ webevents.safe_divide(
            'sum(case when event_count = 1 then 1 else 0 end)', 'count(*)'
        ) }} as bounce_rate,
        sum(case when is_cut_session then 1 else 0 end) as cut_session_count

    from sessions
    where
        not is_bot
        {% if is_incremental() %}
            and session_date >= {{ webevents.daily_window_start('kpi_date') }}
        {% endif %}
    group by 1

),

final as (

    select  -- noqa: ST06
        event_kpis.*,
        session_kpis.avg_session_duration_seconds,
        session_kpis.bounce_rate,
        coalesce(session_kpis.human_session_count, 0) as human_session_count,
        coalesce(session_kpis.cut_session_count, 0) as cut_session_count,
        cast(date_trunc('month', event_kpis.kpi_date) as date) as kpi_month

    from event_kpis
    left join session_kpis
        on event_kpis.kpi_date = session_kpis.kpi_date

)

select * from final
