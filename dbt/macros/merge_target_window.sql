{#-
    The target of every incremental MERGE is pruned to the dates the run
    rewrites.

    A MERGE joins the new rows to the whole target: neither Athena nor Trino
    derives a partition filter on the target from the source rows reliably
    (https://github.com/dbt-labs/dbt-adapters/issues/1801,
    https://github.com/trinodb/trino/issues/23313), so each
    merge scans the whole table. Every incremental model's unique_key starts
    with the date its table is partitioned by (or whose month it is
    partitioned by), so no source row can match a target row of another
    date: adding `target.<date> in (<the source's dates>)` (or `>=` the
    earliest when there are many) to the ON clause, and the same for an
    identity partition column derived from that date (the monthly marts'
    `<x>_month`), changes no result and lets the engine plan the target scan
    on those partitions only.

    The dates are read from the staged source rows when the merge runs, as
    literals: `incremental_predicates` in a model's config is rendered at
    parse time, when no query can run, and the planner needs constants.
    Reading them from the source, rather than recomputing the window, keeps
    the predicate right whatever chose the rows (the lookback window, late
    arrivals of any age). The model's own incremental_predicates are kept.
-#}

{% macro merge_target_predicates(target_alias, source, unique_key, incremental_predicates) -%}
    {%- set predicates = [] if incremental_predicates is none else [] + incremental_predicates -%}
    {%- set keys = [unique_key] if unique_key is string else (unique_key or []) -%}
    {%- if not execute or not keys -%}
        {{ return(predicates) }}
    {%- endif -%}
    {%- set columns = [keys[0]] -%}
    {%- for column in webevents.identity_partition_columns() if column not in columns -%}
        {%- do columns.append(column) -%}
    {%- endfor -%}
    {#- only date columns get a predicate: reading the distinct values of
        another key (dim_identity_ranges' identity_key) would cost a scan of
        the staged rows for nothing -#}
    {%- set date_columns = [] -%}
    {%- for found in adapter.get_columns_in_relation(source)
        if found.dtype | lower == 'date' -%}
        {%- do date_columns.append(found.name | lower) -%}
    {%- endfor -%}
    {%- for column in columns if column | lower in date_columns -%}
        {%- set predicate = webevents.listed_dates_predicate(
            target_alias ~ '.' ~ column, column, source
        ) -%}
        {%- if predicate -%}
            {%- do predicates.append(predicate) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(predicates) }}
{%- endmacro %}

{#- `<target column> in (<the source's dates>)`, or `>=` the earliest when
    there are many; none when the column does not hold dates. -#}
{% macro listed_dates_predicate(target_column, column, source) -%}
    {%- set listed = run_query(
        'select distinct cast(' ~ column ~ ' as varchar) from ' ~ source ~ ' order by 1'
    ) -%}
    {%- set dates = listed.columns[0].values() | reject('none') | list -%}
    {%- if not dates -%}
        {{ return('') }}
    {%- endif -%}
    {%- for value in dates -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
            {{ return('') }}
        {%- endif -%}
    {%- endfor -%}
    {%- if dates | length <= var('merge_target_max_listed_dates', 31) -%}
        {%- set literals = [] -%}
        {%- for value in dates -%}
            {%- do literals.append("date '" ~ value ~ "'") -%}
        {%- endfor -%}
        {{ return(target_column ~ ' in (' ~ literals | join(', ') ~ ')') }}
    {%- endif -%}
    {{ return(target_column ~ " >= date '" ~ dates[0] ~ "'") }}
{%- endmacro %}

{#- The model's identity partition columns (Athena partitioned_by, Trino
    properties.partitioning; transforms such as month(x) are left out): the
    monthly marts are partitioned by a month column derived from the key's
    date, so the target is pruned through that column too. -#}
{% macro identity_partition_columns() -%}
    {%- set columns = [] -%}
    {%- set listed = config.get('partitioned_by') or [] -%}
    {%- set trino_partitioning = (config.get('properties') or {}).get('partitioning') -%}
    {%- if trino_partitioning -%}
        {%- set listed = modules.re.findall("'([^']*)'", trino_partitioning) -%}
    {%- endif -%}
    {%- for column in listed -%}
        {%- if modules.re.match('^[a-z_][a-z0-9_]*$', column) -%}
            {%- do columns.append(column) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(columns) }}
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
