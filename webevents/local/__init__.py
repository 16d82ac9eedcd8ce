"""The local stand-ins for AWS: Firehose ingest, the DuckDB lake and its ledger, the run job,
the collector, reconciliation, the report and dbt as a subprocess."""
