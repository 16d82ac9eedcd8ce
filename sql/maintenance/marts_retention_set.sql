-- Snapshot retention of marts.{{ mart }} for VACUUM: 14 days, at least 10
-- snapshots, so time-travel reads over the last two weeks keep working.
-- Athena only (Iceberg table properties). One run per row of marts.csv.
-- VACUUM reads these properties; ALTER TABLE SET TBLPROPERTIES updates them:
-- https://docs.aws.amazon.com/athena/latest/ug/vacuum-statement.html
alter table marts.{{ mart }} set tblproperties (
    'vacuum_max_snapshot_age_seconds' = '1209600',
    'vacuum_min_snapshots_to_keep' = '10'
)
