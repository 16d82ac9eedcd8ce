{#-
    Data tests read the rebuild window, not the whole history.

    Every data test carries `where: __rebuild_window__` (dbt_project.yml).
    A test's `where` is rendered at parse time, when no query can run, so the
    placeholder is replaced here, at run time (dbt's documented way for a
    dynamic `where`: override get_where_subquery). The relation's window
    column (var data_test_window_columns) gets a literal lower bound, so
    Athena and Trino prune partitions at planning time; a relation without
    a window column (dim_identity_ranges, snapshots) is tested whole.

    The bound: the newest event_date in analytics.web_events (var
    newest_event_date, default $WEBEVENTS_NEWEST_EVENT_DATE: the daily job
    reads it once, `webevents arrivals newest-date`; when not given, each
    test reads it from Iceberg metadata) minus
    lookback_days, minus the days a daily mart goes back further
    (daily_window_start), minus one day because the tests run after the
    models and the newest date may have moved on by one. Everything a daily
    run rewrites is inside it.

    `--vars '{data_test_scope: full}'` tests whole tables (docs/dbt.md,
    "Data tests").
-#}

{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if '__rebuild_window__' in where -%}
        {%- set where = where | replace(
            '__rebuild_window__', webevents.rebuild_window_predicate(relation)
        ) -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) as dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}

{#- The window predicate on a relation; `1 = 1` when it has no window column. -#}
{% macro rebuild_window_predicate(relation, extra_days=0) -%}
    {%- set columns = webevents.window_columns(relation) -%}
    {%- if not columns or var('data_test_scope', 'window') == 'full' -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {%- set bound = webevents.data_test_window_start(extra_days) -%}
    {%- set predicates = [] -%}
    {%- for column in columns -%}
        {%- if column.endswith('_timestamp') or column.endswith('_at') -%}
            {%- do predicates.append(
                column ~ " >= cast(date '" ~ bound ~ "' as timestamp(6))"
            ) -%}
        {%- else -%}
            {%- do predicates.append(column ~ " >= date '" ~ bound ~ "'") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(predicates | join(' and ')) }}
{%- endmacro %}

{#- The window columns of a model, seed or source (ephemeral models arrive
    as their CTE name, __dbt__cte__<model>). -#}
{% macro window_columns(relation) -%}
    {%- set name = (relation.identifier or '') | replace('__dbt__cte__', '') -%}
    {%- set by_name = var('data_test_window_columns') -%}
    {%- set key = relation.schema ~ '.' ~ name -%}
    {%- if key in by_name -%}
        {{ return(by_name[key]) }}
    {%- endif -%}
    {{ return(by_name.get(name, [])) }}
{%- endmacro %}

{#- First day the data tests read, as 'YYYY-MM-DD' (1900-01-01 when empty). -#}
{% macro data_test_window_start(extra_days=0) -%}
    {%- set bound = '1900-01-01' -%}
    {%- if execute -%}
        {%- set newest = webevents.given_newest_event_date()
            or run_query(webevents.newest_event_date_sql()).columns[0].values()[0] -%}
        {%- if newest -%}
            {%- set minutes_back = var('session_gap_minutes') + var('session_max_minutes') -%}
            {%- set days_back = (
                var('lookback_days') | int
                + ((minutes_back + 1439) // 1440) | int
                + 1 + extra_days
            ) -%}
            {%- set bound = (
                modules.datetime.date.fromisoformat(newest[:10])
                - modules.datetime.timedelta(days=days_back)
            ).isoformat() -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(bound) }}
{%- endmacro %}

{#- var newest_event_date (default $WEBEVENTS_NEWEST_EVENT_DATE), or none -#}
{% macro given_newest_event_date() -%}
    {%- set given = var('newest_event_date', env_var('WEBEVENTS_NEWEST_EVENT_DATE', ''))
        | string | trim -%}
    {%- if given and not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', given) -%}
        {{ exceptions.raise_compiler_error(
            "newest_event_date: '" ~ given ~ "' is not a date (YYYY-MM-DD)"
        ) }}
    {%- endif -%}
    {{ return(given or none) }}
{%- endmacro %}

{#- The newest event_date of analytics.web_events: from Iceberg's
    "$partitions" metadata table on Athena and Trino (no data file is read;
    https://docs.aws.amazon.com/athena/latest/ug/querying-iceberg-table-metadata.html),
    from the table itself on DuckDB. -#}
{% macro newest_event_date_sql() -%}
    {{ return(adapter.dispatch('newest_event_date_sql', 'webevents')()) }}
{%- endmacro %}

{% macro default__newest_event_date_sql() -%}
    select cast(max(event_date) as varchar) from {{ source('analytics', 'web_events') }}
{%- endmacro %}

{% macro athena__newest_event_date_sql() -%}
    {{ return(webevents.iceberg_newest_event_date_sql()) }}
{%- endmacro %}

{% macro trino__newest_event_date_sql() -%}
    {{ return(webevents.iceberg_newest_event_date_sql()) }}
{%- endmacro %}

{% macro iceberg_newest_event_date_sql() -%}
    {%- set events = source('analytics', 'web_events') -%}
    {%- set partitions = events.incorporate(
        path={'identifier': events.identifier ~ '$partitions'}
    ) -%}
    select cast(max("partition".event_date) as varchar) from {{ partitions }}
{%- endmacro %}

{#-
    relationships, with the parent read by the window too. The child rows
    are already in the window (get_where_subquery); their parent rows lie at
    most one day earlier (an event's session starts at most one session gap
    plus one maximum session length before it), so the parent is read from
    one day before the child's bound.
-#}
-- noqa: disable=LT02
-- (its parent CTE's optional where renders differently in the two lint passes)
{% macro default__test_relationships(model, column_name, to, field) %}

with child as (
    select {{ column_name }} as from_field
    from {{ model }}
    where {{ column_name }} is not null
),

parent as (
    select {{ field }} as to_field
    from {{ to }}
    {%- if '__rebuild_window__' in config.get('where', '') %}
    where {{ webevents.rebuild_window_predicate(to, extra_days=1) }}
    {%- endif %}
)

select
    from_field

from child
left join parent
    on child.from_field = parent.to_field

where parent.to_field is null

{% endmacro %}
-- noqa: enable=LT02
