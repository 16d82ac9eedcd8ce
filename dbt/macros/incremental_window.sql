{#-
    The incremental window, shared by every incremental model.

    window_start_date: newest event_date already built minus var lookback_days,
    or the earliest of var late_event_dates when that is earlier. Events dated
    on or after it are re-read each run. late_event_dates are the event dates
    sql/enrich merged since dbt last built (webevents/jobs/arrivals.py passes them:
    --vars locally, $WEBEVENTS_LATE_EVENT_DATES in the daily job), so a late
    event of any age reaches every mart the next run. The window runs from the
    earliest such date on (a superset of lookback window and late dates): the
    models re-derive sessions from one start, not from disjoint ranges.

    On DuckDB the bound is a scalar subquery on the model itself. Athena and
    Trino only prune partitions on constants known at planning time, so there
    the bound is read once at compile time and inlined as a literal
    (https://docs.aws.amazon.com/athena/latest/ug/partitions.html).
-#}

{% macro window_start_date(date_column='event_date') -%}
    {{ return(adapter.dispatch('window_start_date', 'webevents')(date_column)) }}
{%- endmacro %}

{% macro default__window_start_date(date_column) -%}
    {#- a unit test's inputs are fixed: the job's late dates must not move its window -#}
    {%- set earliest_late = none if webevents.in_unit_test()
        else webevents.earliest_late_event_date() -%}
    {%- if earliest_late %}least({% endif -%}
    (
        select
            coalesce(
                cast(
                    {{ dbt.dateadd('day', -var('lookback_days'), 'max(' ~ date_column ~ ')') }}
                    as date
                ),
                cast('1900-01-01' as date)
            )
        from {{ this }}
    )
    {%- if earliest_late %}, cast('{{ earliest_late }}' as date)){% endif -%}
{%- endmacro %}

{#-
    The earliest of var late_event_dates (ISO dates: a list, or one string of
    comma-separated dates; default $WEBEVENTS_LATE_EVENT_DATES), or none.
-#}
{% macro earliest_late_event_date() -%}
    {%- set given = var('late_event_dates', env_var('WEBEVENTS_LATE_EVENT_DATES', '')) -%}
    {%- set items = given if given is iterable and given is not string else
        (given | string).split(',') -%}
    {%- set dates = [] -%}
    {%- for item in items if (item | string | trim) -%}
        {%- set text = item | string | trim -%}
        {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', text) -%}
            {{ exceptions.raise_compiler_error(
                "late_event_dates: '" ~ text ~ "' is not a date (YYYY-MM-DD)"
            ) }}
        {%- endif -%}
        {%- do dates.append(modules.datetime.date.fromisoformat(text)) -%}
    {%- endfor -%}
    {{ return((dates | min).isoformat() if dates else none) }}
{%- endmacro %}

{% macro athena__window_start_date(date_column) -%}
    {%- if webevents.in_unit_test() -%}
        {{ return(webevents.default__window_start_date(date_column)) }}
    {%- endif -%}
    {{ return(webevents.literal_window_start_date(date_column)) }}
{%- endmacro %}

{% macro trino__window_start_date(date_column) -%}
    {%- if webevents.in_unit_test() -%}
        {{ return(webevents.default__window_start_date(date_column)) }}
    {%- endif -%}
    {{ return(webevents.literal_window_start_date(date_column)) }}
{%- endmacro %}

{#-
    A unit test's `this` is a CTE of fixture rows, not a table: the literal
    bounds' compile-time queries cannot read it (dbt does not support
    introspective queries in unit tests), so unit tests use the subquery form,
    which Athena and Trino run as well, only without partition pruning.
-#}
{% macro in_unit_test() -%}
    {{ return(model is mapping and model.get('resource_type') == 'unit_test') }}
{%- endmacro %}

{% macro literal_window_start_date(date_column) -%}
    {%- set bound = '1900-01-01' -%}
    {%- if execute -%}
        {%- set result = run_query(
            'select cast(max(' ~ date_column ~ ') as varchar) from ' ~ this
        ) -%}
        {%- set newest = result.columns[0].values()[0] -%}
        {%- if newest -%}
            {%- set bound = (
                modules.datetime.date.fromisoformat(newest[:10])
                - modules.datetime.timedelta(days=var('lookback_days') | int)
            ).isoformat() -%}
        {%- endif -%}
    {%- endif -%}
    {%- set earliest_late = webevents.earliest_late_event_date() -%}
    {%- if earliest_late and earliest_late < bound -%}
        {%- set bound = earliest_late -%}
    {%- endif -%}
    date '{{ bound }}'
{%- endmacro %}


{#-
    rebuild_from: the earliest start of a visit (gap-based run of events of
    one device and tracker session) that is still open at the window start,
    i.e. has an event within one session gap before it. Everything from
    there on is re-derived, so a late event can extend, merge or split the
    visits it touches. Visits are sequential per key, so this always starts
    on a visit boundary and never truncates one.
-#}

{% macro rebuild_from(
    started_at_column, ended_at_column, date_column='event_date'
) -%}
    {{ return(adapter.dispatch('rebuild_from', 'webevents')(
        started_at_column, ended_at_column, date_column
    )) }}
{%- endmacro %}

{% macro default__rebuild_from(
    started_at_column, ended_at_column, date_column='event_date'
) -%}
    (
        select
            coalesce(
                least(min(built.{{ started_at_column }}), min(bounds.window_start)),
                min(bounds.window_start)
            )
        from (
            select
                cast({{ webevents.window_start_date(date_column) }} as timestamp(6))
                    as window_start
        ) as bounds
        left join {{ this }} as built
            on built.{{ ended_at_column }} >= {{ dbt.dateadd(
                'minute', -var('session_gap_minutes'), 'bounds.window_start'
            ) }}
    )
{%- endmacro %}

{% macro athena__rebuild_from(
    started_at_column, ended_at_column, date_column='event_date'
) -%}
    {%- if webevents.in_unit_test() -%}
        {{ return(webevents.default__rebuild_from(
            started_at_column, ended_at_column, date_column
        )) }}
    {%- endif -%}
    {{ return(webevents.literal_rebuild_from(
        started_at_column, ended_at_column, date_column
    )) }}
{%- endmacro %}

{% macro trino__rebuild_from(
    started_at_column, ended_at_column, date_column='event_date'
) -%}
    {%- if webevents.in_unit_test() -%}
        {{ return(webevents.default__rebuild_from(
            started_at_column, ended_at_column, date_column
        )) }}
    {%- endif -%}
    {{ return(webevents.literal_rebuild_from(
        started_at_column, ended_at_column, date_column
    )) }}
{%- endmacro %}

{% macro literal_rebuild_from(
    started_at_column, ended_at_column, date_column='event_date'
) -%}
    {%- set window_start = 'cast(' ~ webevents.window_start_date(date_column) ~ ' as timestamp(6))' -%}
    {%- set bound = none -%}
    {%- if execute -%}
        {%- set result = run_query(
            'select cast(least(min(' ~ started_at_column ~ '), ' ~ window_start ~ ') as varchar)'
            ~ ' from ' ~ this
            ~ ' where ' ~ ended_at_column ~ ' >= '
            ~ dbt.dateadd('minute', -var('session_gap_minutes'), window_start)
        ) -%}
        {%- set bound = result.columns[0].values()[0] -%}
    {%- endif -%}
    {#- timestamp(6): a bare `timestamp` is timestamp(3) on Athena and Trino and
        rounds .123556 up to .124, so `>=` would drop the session starting there -#}
    {%- if bound -%}
        cast('{{ bound[:26] }}' as timestamp(6))
    {%- else -%}
        {{ window_start }}
    {%- endif -%}
{%- endmacro %}


{#-
    daily_window_start: first day a daily mart recomputes. Sessions re-derived
    by a run start at most one session gap plus one maximum session length
    before window_start_date, and an event's dwell time changes when a late
    event follows it, so daily marts go back that many whole days further.
-#}

{% macro daily_window_start(date_column) -%}
    {%- set minutes_back = var('session_gap_minutes') + var('session_max_minutes') -%}
    {%- set days_back = ((minutes_back + 1439) // 1440) | int -%}
    {{ dbt.dateadd('day', -days_back, webevents.window_start_date(date_column)) }}
{%- endmacro %}
