{#-
    identity_window_start: the first event_date dim_identity_ranges reads on
    an incremental run: its newest last_identified_at date minus var
    identity_window_days. Its own bound, not window_start_date: the counts
    it keeps per range (window_identified_event_count) are taken against
    exactly this date, so it must not move with lookback_days or with
    anything else that widens the other models' window (docs/dbt.md,
    "Identity").

    A literal on Athena and Trino (partition pruning needs a constant at
    planning time), a scalar subquery on DuckDB and in unit tests.

    Late arrivals (var late_event_dates) dated before that start would be
    missed, and the carried counts only hold against the start they were
    written with, so an earlier start cannot be used for one run: the start
    becomes 1900-01-01 instead, which re-derives every range from all
    identified events (what a full refresh computes) and carries nothing in.
-#}

{% macro identity_window_start() -%}
    {{ return(adapter.dispatch('identity_window_start', 'webevents')()) }}
{%- endmacro %}

{% macro default__identity_window_start() -%}
    {#- a unit test's inputs are fixed: the job's late dates must not move its window -#}
    {%- set earliest_late = none if webevents.in_unit_test()
        else webevents.earliest_late_event_date() -%}
    {%- if earliest_late %}
    (
        select
            case
                when cast('{{ earliest_late }}' as date) < {{
                    webevents.identity_window_subquery() }}
                    then cast('1900-01-01' as date)
                else {{ webevents.identity_window_subquery() }}
            end
    )
    {%- else -%}
        {{ webevents.identity_window_subquery() }}
    {%- endif -%}
{%- endmacro %}

{% macro identity_window_subquery() -%}
    (
        select
            coalesce(
                cast({{ dbt.dateadd(
                    'day',
                    -var('identity_window_days'),
                    'max(cast(last_identified_at as date))'
                ) }} as date),
                cast('1900-01-01' as date)
            )
        from {{ this }}
    )
{%- endmacro %}

{% macro athena__identity_window_start() -%}
    {{ return(webevents.literal_identity_window_start()) }}
{%- endmacro %}

{% macro trino__identity_window_start() -%}
    {{ return(webevents.literal_identity_window_start()) }}
{%- endmacro %}

{% macro literal_identity_window_start() -%}
    {%- if webevents.in_unit_test() -%}
        {{ return(webevents.default__identity_window_start()) }}
    {%- endif -%}
    {%- set bound = '1900-01-01' -%}
    {%- if execute -%}
        {%- set newest = run_query(
            'select cast(max(cast(last_identified_at as date)) as varchar) from ' ~ this
        ).columns[0].values()[0] -%}
        {%- if newest -%}
            {%- set bound = (
                modules.datetime.date.fromisoformat(newest[:10])
                - modules.datetime.timedelta(days=var('identity_window_days') | int)
            ).isoformat() -%}
        {%- endif -%}
    {%- endif -%}
    {%- set earliest_late = webevents.earliest_late_event_date() -%}
    {%- if earliest_late and earliest_late < bound -%}
        {%- set bound = '1900-01-01' -%}
    {%- endif -%}
    date '{{ bound }}'
{%- endmacro %}
