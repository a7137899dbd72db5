"""The interface every warehouse backend offers, and the tables it keeps for
itself (run history and data-quality findings)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pyarrow as pa


class WarehouseError(Exception):
    """The warehouse refused an operation."""


class WarehouseUnavailable(WarehouseError):
    """The warehouse cannot be reached or has not been loaded yet."""


# Portable DDL (DuckDB, PostgreSQL and Redshift accept it).
META_TABLES = {
    "etl_runs": """CREATE TABLE IF NOT EXISTS etl_runs (
        run_id VARCHAR(64) NOT NULL,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP,
        status VARCHAR(16) NOT NULL,
        source VARCHAR(1024),
        layout VARCHAR(16),
        fiscal_years VARCHAR(256),
        missing_tables VARCHAR(1024),
        rows_read BIGINT,
        rows_rejected BIGINT,
        rows_written BIGINT,
        seconds DOUBLE PRECISION,
        message VARCHAR(4096)
    )""",
    "etl_run_tables": """CREATE TABLE IF NOT EXISTS etl_run_tables (
        run_id VARCHAR(64) NOT NULL,
        table_name VARCHAR(128) NOT NULL,
        rows_read BIGINT,
        rows_rejected BIGINT,
        rows_written BIGINT
    )""",
    "dq_issues": """CREATE TABLE IF NOT EXISTS dq_issues (
        run_id VARCHAR(64) NOT NULL,
        table_name VARCHAR(128),
        source_file VARCHAR(1024),
        rule VARCHAR(64),
        severity VARCHAR(16),
        row_key VARCHAR(1024),
        column_name VARCHAR(128),
        offending_value VARCHAR(1024),
        message VARCHAR(1024)
    )""",
}
RUN_COLUMNS = ("run_id", "started_at", "finished_at", "status", "source", "layout", "fiscal_years",
               "missing_tables", "rows_read", "rows_rejected", "rows_written", "seconds", "message")
RUN_TABLE_COLUMNS = ("run_id", "table_name", "rows_read", "rows_rejected", "rows_written")


@dataclass
class Publication:
    """What one refresh hands the warehouse, to be applied all at once.

    `tables` maps an aggregate or dimension table to a folder of Parquet files
    holding its new rows; a column whose name begins with `_` is the
    refresh's own working column (`working_columns`) and is not published.
    With `replace_fiscal_years` set, a table that has a fiscal_year column
    keeps its other years; every other table is replaced whole. A failed run
    publishes no tables, only its record and findings.
    """

    run: dict
    run_tables: list[dict]
    dq_issues: pa.Table
    tables: dict[str, str] = field(default_factory=dict)
    replace_fiscal_years: Sequence[int] | None = None


def working_columns(columns: Sequence[str]) -> list[str]:
    """The columns of a staged table that a refresh wrote for itself (the yearly
    table's counts of missing lookups): the warehouse leaves them out."""
    return [c for c in columns if c.startswith("_")]


def parquet_files(folder: str | Path) -> list[Path]:
    """The data files of a Parquet folder: not Spark's _SUCCESS or .crc files."""
    return sorted(p for p in Path(folder).iterdir()
                  if p.is_file() and p.name.endswith(".parquet") and not p.name.startswith(("_", ".")))


class Warehouse(ABC):
    url: str
    # How a query parameter is written in SQL sent to this backend.
    placeholder: str = "?"

    @abstractmethod
    def read(self, sql: str, params: Sequence = ()) -> pa.Table:
        """Run a read-only query; WarehouseUnavailable when there is nothing to read."""

    @abstractmethod
    def publish(self, publication: Publication) -> dict[str, int]:
        """Apply a refresh atomically; return rows written per table."""

    def close(self) -> None:  # pragma: no cover - backends without state
        pass
