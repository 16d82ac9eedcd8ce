-- sqlfluff:ignore:parsing
-- (sqlfluff's athena dialect has no OPTIMIZE grammar; Athena runs it.)
-- Rewrite the data files of the days an erasure touched in marts.fct_web_events:
-- Athena's DELETE only adds position-delete files, so the person's rows stay in
-- the old data files until they are rewritten; the next VACUUM then removes
-- those files with the snapshots that still use them. Athena/Trino only.
-- https://docs.aws.amazon.com/athena/latest/ug/querying-iceberg-delete.html
optimize marts.fct_web_events rewrite data using bin_pack
where event_date in ({{ date_list }})
