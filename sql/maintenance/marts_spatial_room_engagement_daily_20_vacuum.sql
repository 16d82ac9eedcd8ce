-- sqlfluff:ignore:parsing
-- (sqlfluff's athena dialect has no OPTIMIZE/VACUUM grammar; Athena runs them.)
-- Expire old snapshots of marts.spatial_room_engagement_daily and delete the files only they used.
-- Keeps what the table properties set by marts_spatial_room_engagement_daily_00_retention_set.sql allow.
-- Athena only. https://docs.aws.amazon.com/athena/latest/ug/vacuum-statement.html
vacuum marts.spatial_room_engagement_daily
