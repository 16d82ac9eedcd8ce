"""Developer tooling: sample traffic, the Trino fidelity-tier server, the scan budget."""
