"""What every warehouse backend promises of a Publication (warehouse/base.py),
checked on the DuckDB file and on the Redshift backend (a real PostgreSQL)."""
from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl.validate import DQ_COLUMNS
from warehouse import connect
from warehouse.base import Publication, working_columns


@pytest.fixture(params=["duckdb", "redshift"])
def url(request, tmp_path):
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'w.duckdb'}"
    return request.getfixturevalue("postgres").new_database("publication_working_columns")


def staged(folder, **columns) -> str:
    """A table as a refresh stages it: a folder of Parquet part files."""
    folder.mkdir(parents=True)
    pq.write_table(pa.table(columns), folder / "part-00000.parquet")
    (folder / "_SUCCESS").touch()
    return str(folder)


def publication(run_id: str, tables: dict[str, str], fiscal_years=None) -> Publication:
    now = dt.datetime(2026, 11, 26, 12, 0)
    run = {"run_id": run_id, "started_at": now, "finished_at": now, "status": "succeeded", "source": "test",
           "layout": "full", "fiscal_years": "all", "missing_tables": "", "rows_read": 0, "rows_rejected": 0,
           "seconds": 1.0, "message": ""}
    empty_findings = pa.schema([(c, pa.string()) for c in DQ_COLUMNS]).empty_table()
    return Publication(run, [], empty_findings, tables, fiscal_years)


def test_working_columns_are_the_underscored_ones():
    assert working_columns(["fiscal_year", "_missing_gross_price", "net_sales", "_sales_rows"]) == [
        "_missing_gross_price", "_sales_rows"]
    assert working_columns(["fiscal_year", "net_sales"]) == []


def test_a_refresh_s_working_columns_are_not_published(url, tmp_path):
    warehouse = connect(url)
    try:
        warehouse.publish(publication("run-1", {"agg_customer_product_yearly": staged(
            tmp_path / "run-1", fiscal_year=[2021, 2022], net_sales=[1.5, 2.5], _missing_gross_price=[2, 0])}))
        # An incremental refresh of FY2022 replaces that year's rows only.
        warehouse.publish(publication("run-2", {"agg_customer_product_yearly": staged(
            tmp_path / "run-2", fiscal_year=[2022], net_sales=[4.0], _missing_gross_price=[7])}, [2022]))
        table = warehouse.read("SELECT * FROM agg_customer_product_yearly ORDER BY fiscal_year")
    finally:
        warehouse.close()
    assert table.column_names == ["fiscal_year", "net_sales"]
    assert table.to_pylist() == [{"fiscal_year": 2021, "net_sales": 1.5}, {"fiscal_year": 2022, "net_sales": 4.0}]
