-- The newest event_date of analytics.web_events: the dbt data tests' window
-- bound (dbt/macros/data_test_window.sql), read once per daily job and given
-- to dbt as $WEBEVENTS_NEWEST_EVENT_DATE rather than once per data test.
-- On Athena and Trino it comes from Iceberg's "$partitions" metadata table
-- (manifests only, no data file is read:
-- https://docs.aws.amazon.com/athena/latest/ug/querying-iceberg-table-metadata.html);
-- the local engine has no metadata tables and reads the column.
{%- set from_metadata = from_metadata | default("yes") %}
select
    {%- if from_metadata == "yes" %}
        cast(max("partition".event_date) as varchar) as newest_event_date
    from analytics."web_events$partitions"
    {%- else %}
        cast(max(event_date) as varchar) as newest_event_date
    from analytics.web_events
    {%- endif %}
