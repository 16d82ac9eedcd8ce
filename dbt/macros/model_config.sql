{#-
    What an incremental model states once about its table, turned into each
    adapter's config. A model's config() takes it with `**` (one per call):

        {{ config(
            unique_key=['session_date', 'session_key'],
            **webevents.incremental_config(
                partition_by='session_date', delete_when='is_superseded'
            )
        ) }}

    The intermediate and mart folders default to an incremental MERGE that
    fails on a schema change (dbt_project.yml).

    partition_by: Athena's `partitioned_by`; on the Trino tier the same
    layout through dbt-trino's Iceberg `partitioning` property (so OPTIMIZE
    filters and merge pruning meet the partitions Athena has); none on
    DuckDB.

    delete_when: a boolean column of the model; the MERGE deletes the built
    rows whose new row has it true and inserts only the others.
    dbt-athena's Iceberg merge and the project's Trino merge
    (trino_merge.sql) read delete_condition and insert_condition, on the
    source alias `src`; dbt-duckdb reads merge_clauses. Each adapter ignores
    the other's keys.
-#}

{% macro incremental_config(partition_by=none, delete_when=none) -%}
    {#- the keys each adapter had when models set them by hand; none when
        unpartitioned (dbt-trino renders an empty `properties` as `WITH ()`,
        a syntax error) -#}
    {%- set settings = {} -%}
    {%- if partition_by and target.type == 'athena' -%}
        {%- do settings.update({'partitioned_by': [partition_by], 'properties': {}}) -%}
    {%- elif partition_by and target.type == 'trino' -%}
        {%- do settings.update({
            'partitioned_by': none,
            'properties': {'partitioning': "ARRAY['" ~ partition_by ~ "']"},
        }) -%}
    {%- elif partition_by -%}
        {%- do settings.update({'partitioned_by': none, 'properties': {}}) -%}
    {%- endif -%}
    {%- if delete_when -%}
        {%- do settings.update({
            'delete_condition': 'src.' ~ delete_when,
            'insert_condition': 'not src.' ~ delete_when,
            'merge_clauses': {
                'when_matched': [
                    {'action': 'delete',
                     'condition': 'DBT_INTERNAL_SOURCE.' ~ delete_when},
                    {'action': 'update', 'mode': 'by_name'},
                ],
                'when_not_matched': [
                    {'action': 'insert', 'mode': 'by_name',
                     'condition': 'not DBT_INTERNAL_SOURCE.' ~ delete_when},
                ],
            },
        }) -%}
    {%- endif -%}
    {{ return(settings) }}
{%- endmacro %}
