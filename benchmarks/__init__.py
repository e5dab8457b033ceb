"""Benchmarks of the payments detectors against pandas and DuckDB twins (see README.md)."""
