"""Benchmarks of the BIMS ETL (run `python bench/etl.py`; see docs/performance.md)."""
