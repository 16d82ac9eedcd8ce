-- Snapshot retention of marts.int_session_boundaries for VACUUM: 14 days, at least 10
-- snapshots, so time-travel reads over the last two weeks keep working.
-- Athena only (Iceberg table properties).
alter table marts.int_session_boundaries set tblproperties (
    'vacuum_max_snapshot_age_seconds' = '1209600',
    'vacuum_min_snapshots_to_keep' = '10'
)
