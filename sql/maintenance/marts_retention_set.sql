-- Table properties of marts.{{ mart }} that VACUUM and OPTIMIZE read.
-- Athena only (Iceberg table properties). One run per row of marts.csv.
-- Snapshot retention for VACUUM: 14 days, at least 10 snapshots, so
-- time-travel reads over the last two weeks keep working.
-- https://docs.aws.amazon.com/athena/latest/ug/vacuum-statement.html
-- OPTIMIZE thresholds at 1 (Athena's defaults: 5 data files, 2 delete
-- files): with the defaults a data file with a single position-delete file
-- (what one erasure DELETE usually leaves on it) is not rewritten, so the
-- erased rows would stay in a file the current snapshot still uses and
-- VACUUM would never free it (docs/decisions.md, D-PRIV-5).
-- https://docs.aws.amazon.com/athena/latest/ug/querying-iceberg-creating-tables.html#querying-iceberg-table-properties
-- https://docs.aws.amazon.com/athena/latest/ug/optimize-statement.html
alter table marts.{{ mart }} set tblproperties (
    'vacuum_max_snapshot_age_seconds' = '1209600',
    'vacuum_min_snapshots_to_keep' = '10',
    'optimize_rewrite_data_file_threshold' = '1',
    'optimize_rewrite_delete_file_threshold' = '1'
)
