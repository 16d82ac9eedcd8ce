-- The newest event_date of analytics.web_events: the dbt data tests' window
-- bound (dbt/macros/data_test_window.sql), read once per daily job and given
-- to dbt as $WEBEVENTS_NEWEST_EVENT_DATE rather than once per data test.
-- On Athena and Trino it comes from Iceberg's "$partitions" metadata table
-- (manifests only, no data file is read:
-- https://docs.aws.amazon.com/athena/latest/ug/querying-iceberg-table-metadata.html);
-- the local engine has no metadata tables and reads the column.
{%- set from_metadata = (from_metadata | default("yes")) == "yes" %}
{%- set newest = '"partition".event_date' if from_metadata else "event_date" %}
{%- set events = 'analytics."web_events$partitions"' if from_metadata
    else "analytics.web_events" %}
select cast(max({{ newest }}) as varchar) as newest_event_date
from {{ events }}
