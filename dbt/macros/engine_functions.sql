{#- Small functions whose spelling differs between DuckDB, Athena and Trino. -#}

{#- Seconds since 1970-01-01 UTC as a double, for durations and gaps. -#}
{% macro epoch_seconds(timestamp_expression) -%}
    {{ return(adapter.dispatch('epoch_seconds', 'webevents')(timestamp_expression)) }}
{%- endmacro %}

{% macro default__epoch_seconds(timestamp_expression) -%}
    to_unixtime({{ timestamp_expression }})
{%- endmacro %}

{% macro duckdb__epoch_seconds(timestamp_expression) -%}
    epoch({{ timestamp_expression }})
{%- endmacro %}


{#- One row per element of an array column: `from t {{ unnest_array(...) }}`. -#}
{% macro unnest_array(array_expression, relation_alias, column_alias) -%}
    {{ return(adapter.dispatch('unnest_array', 'webevents')(array_expression, relation_alias, column_alias)) }}
{%- endmacro %}

{% macro default__unnest_array(array_expression, relation_alias, column_alias) -%}
    cross join unnest({{ array_expression }}) as {{ relation_alias }} ({{ column_alias }})
{%- endmacro %}


{#- Number of elements of an array (0 for null). -#}
{% macro array_size(array_expression) -%}
    {{ return(adapter.dispatch('array_size', 'webevents')(array_expression)) }}
{%- endmacro %}

{% macro default__array_size(array_expression) -%}
    coalesce(cardinality({{ array_expression }}), 0)
{%- endmacro %}

{% macro duckdb__array_size(array_expression) -%}
    coalesce(len({{ array_expression }}), 0)
{%- endmacro %}


{#- a / b, null when b is 0 or null. -#}
{% macro safe_divide(numerator, denominator) -%}
    cast({{ numerator }} as double) / nullif({{ denominator }}, 0)
{%- endmacro %}
