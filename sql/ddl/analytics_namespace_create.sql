-- The analytics namespace of the S3 Tables bucket: enriched events and reference tables.
create database if not exists analytics
