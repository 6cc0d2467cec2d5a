"""The embedded PostgreSQL and the simulated incident (demo, tests, benchmarks)."""
