{#-
    dbt-trino's merge without deletes, plus the two conditions dbt-athena's
    Iceberg merge takes (delete_condition, insert_condition), written against
    the same aliases (src, target), so fct_sessions deletes the sessions a late
    event merged away on Trino exactly as on Athena. Trino MERGE:
    https://trino.io/docs/current/sql/merge.html
-#}

{% macro trino__get_merge_sql(
    target, source, unique_key, dest_columns, incremental_predicates
) -%}
    {#- the target pruned to the source's dates (macros/merge_target_window.sql) -#}
    {%- set predicates = webevents.merge_target_predicates(
        'target', source, unique_key, incremental_predicates
    ) -%}
    {%- set delete_condition = config.get('delete_condition') -%}
    {%- set insert_condition = config.get('insert_condition') -%}
    {%- set update_columns = get_merge_update_columns(
        config.get('merge_update_columns'), config.get('merge_exclude_columns'), dest_columns
    ) -%}
    {%- set column_names = dest_columns | map(attribute='name') | list -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set source_columns = [] -%}
    {%- for column in column_names -%}
        {%- do source_columns.append('src.' ~ adapter.quote(column)) -%}
    {%- endfor -%}
    {%- for key in keys -%}
        {%- do predicates.append('src.' ~ key ~ ' = target.' ~ key) -%}
    {%- endfor -%}

    {{ config.get('sql_header') or '' }}

    merge into {{ target }} as target
    using {{ source }} as src
        on ({{ predicates | join(') and (') }})
    {% if delete_condition %}
        when matched and ({{ delete_condition }}) then delete
    {% endif %}
    when matched then update set
    {%- for column in update_columns %}
        {{ column }} = src.{{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
    {% if insert_condition %}
        when not matched and ({{ insert_condition }}) then insert
    {% else %}
        when not matched then insert
    {% endif %}
    ({{ get_quoted_csv(column_names) }})
    values ({{ source_columns | join(', ') }})
{%- endmacro %}
