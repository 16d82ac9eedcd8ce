-- The raw namespace of the S3 Tables bucket: the landing table and backfill bookkeeping.
-- Runs with the S3 Tables catalog (s3tablescatalog/<bucket>) as Athena's query context.
create database if not exists raw
