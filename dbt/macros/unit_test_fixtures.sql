{#-
    Unit-test rows for the staging model, which is ephemeral on Athena and
    Trino. dbt cannot build dict fixtures for an ephemeral input (there is no
    relation to read column types from) and requires `format: sql` with every
    column (https://docs.getdbt.com/reference/resource-properties/unit-tests),
    so a test lists only the columns that matter and this macro writes the
    SELECT with the rest as typed nulls.

    In the YAML, `rows` is wrapped in {% raw %}...{% endraw %} markers: dbt
    renders unit-test YAML once at parse time, where project macros do not
    exist; the SQL fixture itself is compiled later, with them.
-#}

{% macro stg_events_fixture(rows) -%}
    {%- set columns = webevents.stg_events_columns() -%}
    {%- set selects = [] -%}
    {%- for row in (rows if rows else [{}]) -%}
        {%- set values = [] -%}
        {%- for name, type in columns -%}
            {%- do values.append(
                webevents.fixture_value(row.get(name), type) ~ ' as ' ~ name
            ) -%}
        {%- endfor -%}
        {%- do selects.append(
            'select ' ~ values | join(', ') ~ ('' if rows else ' where false')
        ) -%}
    {%- endfor -%}
    {{ return(selects | join('\nunion all\n')) }}
{%- endmacro %}


{% macro fixture_value(value, type) -%}
    {%- if value is none -%}
        cast(null as {{ type }})
    {%- elif value is sameas true or value is sameas false -%}
        {{ "true" if value else "false" }}
    {%- elif type in ("double", "integer") -%}
        cast({{ value }} as {{ type }})
    {%- else -%}
        cast('{{ value | replace("'", "''") }}' as {{ type }})
    {%- endif -%}
{%- endmacro %}


{#- stg_analytics__web_events's columns and types, in its order -#}
{% macro stg_events_columns() -%}
    {%- set text = "varchar" -%}
    {%- set moment = "timestamp(6)" -%}
    {%- set texts = webevents.text_array_type() -%}
    {{ return([
        ("event_id", text), ("anonymous_id", text), ("user_id", text),
        ("tracker_session_id", text), ("app_id", text),
        ("event_type", text), ("event_name", text), ("source_format", text),
        ("load_source", text),
        ("page_url", text), ("page_path", text), ("page_referrer", text),
        ("user_agent", text),
        ("space_id", text), ("space_name", text), ("space_type", text),
        ("room_id", text), ("room_name", text), ("community", text),
        ("building", text), ("floorplan", text),
        ("view_pitch", "double"), ("view_yaw", "double"), ("view_hfov", "double"),
        ("properties_json", text),
        ("data_quality_score", "double"), ("quality_issues", texts),
        ("is_bot", "boolean"), ("bot_reasons", texts),
        ("duplicate_count", "integer"),
        ("event_timestamp", moment), ("event_date", "date"),
        ("received_at", moment), ("processed_at", moment),
    ]) }}
{%- endmacro %}


{% macro text_array_type() -%}
    {{ return(adapter.dispatch('text_array_type', 'webevents')()) }}
{%- endmacro %}

{% macro default__text_array_type() -%}
    {{ return("array(varchar)") }}
{%- endmacro %}

{% macro duckdb__text_array_type() -%}
    {{ return("varchar[]") }}
{%- endmacro %}
