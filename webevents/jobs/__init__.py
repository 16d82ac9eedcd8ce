"""What runs against a deployed lake on any engine (athena, trino, local): the daily job's
steps and the operator's commands."""
