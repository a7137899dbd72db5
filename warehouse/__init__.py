"""The warehouse BIMS loads its aggregates into and reads them from.

`connect(url)` returns the backend a URL names: `duckdb:///relative/path` or
`duckdb:////absolute/path` (as SQLAlchemy writes them) for the embedded
default; `redshift://USER@HOST:PORT/DB` for Amazon Redshift (password in
BIMS_REDSHIFT_PASSWORD, redshift_connector options as URL query parameters:
see warehouse/redshift.py).
"""
from __future__ import annotations

import os

from warehouse.base import Publication, Warehouse, WarehouseError, WarehouseUnavailable

DEFAULT_URL = "duckdb:///data/bims.duckdb"


def warehouse_url(url: str | None = None) -> str:
    return url or os.environ.get("BIMS_WAREHOUSE") or DEFAULT_URL


def connect(url: str | None = None) -> Warehouse:
    url = warehouse_url(url)
    if url.startswith("duckdb://"):
        from warehouse.duckdb import DuckDBWarehouse

        return DuckDBWarehouse.from_url(url)
    if url.startswith("redshift://"):
        from warehouse.redshift import RedshiftWarehouse

        return RedshiftWarehouse.from_url(url)
    raise WarehouseError(f"unknown warehouse URL {url!r}: use duckdb:///path/to/file.duckdb "
                         "or redshift://USER@HOST:PORT/DB")


__all__ = ["connect", "warehouse_url", "Publication", "Warehouse", "WarehouseError", "WarehouseUnavailable"]
