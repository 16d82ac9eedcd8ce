-- The Glue database of the archive's external table (S3 Tables namespaces
-- hold Iceberg tables only).
create database if not exists archive
