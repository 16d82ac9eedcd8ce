{#-
    The target of every incremental MERGE is pruned to the dates the run
    rewrites.

    A MERGE joins the new rows to the whole target: neither Athena nor Trino
    derives a partition filter on the target from the source rows reliably
    (dbt-labs/dbt-adapters issue 1801, trinodb/trino issue 23313), so each
    merge scans the whole table. Every incremental model's unique_key starts
    with the date its table is partitioned by (or whose month it is
    partitioned by), so no source row can match a target row of another
    date: adding `target.<date> in (<the source's dates>)` (or `>=` the
    earliest when there are many) to the ON clause changes no result and
    lets the engine plan the target scan on those partitions only.

    The dates are read from the staged source rows when the merge runs, as
    literals: `incremental_predicates` in a model's config is rendered at
    parse time, when no query can run, and the planner needs constants.
    Reading them from the source, rather than recomputing the window, keeps
    the predicate right whatever chose the rows (the lookback window, late
    arrivals of any age). The model's own incremental_predicates are kept.
-#}

{% macro merge_target_predicates(target_alias, source, unique_key, incremental_predicates) -%}
    {%- set predicates = [] if incremental_predicates is none else [] + incremental_predicates -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- if not execute or not keys -%}
        {{ return(predicates) }}
    {%- endif -%}
    {%- set date_column = keys[0] -%}
    {%- set listed = run_query(
        'select distinct cast(' ~ date_column ~ ' as varchar) from ' ~ source ~ ' order by 1'
    ) -%}
    {%- set dates = listed.columns[0].values() | reject('none') | list -%}
    {%- if not dates -%}
        {{ return(predicates) }}
    {%- endif -%}
    {%- for value in dates -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
            {#- the first key is not a date: nothing to prune by -#}
            {{ return(predicates) }}
        {%- endif -%}
    {%- endfor -%}
    {%- set column = target_alias ~ '.' ~ date_column -%}
    {%- if dates | length <= var('merge_target_max_listed_dates', 31) -%}
        {%- set literals = [] -%}
        {%- for value in dates -%}
            {%- do literals.append("date '" ~ value ~ "'") -%}
        {%- endfor -%}
        {%- do predicates.append(column ~ ' in (' ~ literals | join(', ') ~ ')') -%}
    {%- else -%}
        {%- do predicates.append(column ~ " >= date '" ~ dates[0] ~ "'") -%}
    {%- endif -%}
    {{ return(predicates) }}
{%- endmacro %}

{#- dbt-athena's Iceberg merge, given the pruning predicates (its target
    alias is `target`). -#}
{% macro iceberg_merge(
    on_schema_change,
    tmp_relation,
    target_relation,
    unique_key,
    incremental_predicates,
    existing_relation,
    delete_condition,
    update_condition,
    insert_condition,
    force_batch,
    statement_name="main"
) -%}
    {{ return(dbt.iceberg_merge(
        on_schema_change,
        tmp_relation,
        target_relation,
        unique_key,
        webevents.merge_target_predicates(
            'target', tmp_relation, unique_key, incremental_predicates
        ),
        existing_relation,
        delete_condition,
        update_condition,
        insert_condition,
        force_batch,
        statement_name,
    )) }}
{%- endmacro %}

{#- dbt-duckdb's merge, given the same predicates (its target alias is
    DBT_INTERNAL_DEST), so the local target runs the same statements. -#}
{% macro duckdb__get_incremental_merge_sql(args_dict) -%}
    {%- do args_dict.update({
        'incremental_predicates': webevents.merge_target_predicates(
            'DBT_INTERNAL_DEST',
            args_dict['temp_relation'],
            args_dict['unique_key'],
            args_dict.get('incremental_predicates'),
        )
    }) -%}
    {{ return(dbt.duckdb__get_incremental_merge_sql(args_dict)) }}
{%- endmacro %}
