-- sqlfluff:ignore:parsing
-- (sqlfluff's athena dialect has no OPTIMIZE/VACUUM grammar; Athena runs them.)
-- Expire old snapshots of marts.{{ mart }} and delete the files only they used.
-- Keeps what the table properties set by marts_retention_set.sql allow.
-- Athena only. https://docs.aws.amazon.com/athena/latest/ug/vacuum-statement.html
vacuum marts.{{ mart }}
