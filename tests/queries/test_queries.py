"""The named queries on a hand-written warehouse, where every answer is known."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys

import duckdb
import pytest

from queries.catalog import bind, catalog
from queries.runner import MAX_N, QueryError, default_fiscal_year, run
from tests.conftest import ROOT
from warehouse.duckdb import DuckDBWarehouse

REQUIRED = {"pnl", "sales_monthly", "sales_by_category", "sales_by_channel", "forecast_by_year",
            "forecast_accuracy", "avg_gross_price", "customer_deductions", "manufacturing_cost",
            "freight_by_market", "top_products", "top_customers", "top_markets"}

CUSTOMERS = {  # code: customer, market, sub_zone, region, platform, channel
    "C1": ("Voltmart", "India", "India", "APAC", "E-Commerce", "Retailer"),
    "C2": ("Voltmart", "USA", "NA", "NA", "Brick & Mortar", "Direct"),
    "C3": ("Nimbus", "USA", "NA", "NA", "Brick & Mortar", "Distributor"),
}
PRODUCTS = {  # code: division, segment, category, product, variant
    "P1": ("P & A", "Accessories", "Mouse", "Glide", "Standard"),
    "P2": ("PC", "Notebook", "Gaming Laptop", "Raptor", "Pro"),
}
# fiscal_year, has_actuals, customer, product, sold, gross, net, gross_margin, forecast, net_error, abs_error
YEARLY = [
    (2021, True, "C1", "P1", 10, 100.0, 80.0, 30.0, 12, 2, 2),
    (2021, True, "C2", "P1", 5, 50.0, 45.0, 20.0, 3, -2, 2),
    (2021, True, "C3", "P2", 2, 1000.0, 900.0, 300.0, 4, 2, 2),
    (2020, True, "C1", "P1", 8, 80.0, 60.0, 20.0, 8, 0, 1),
    (2020, True, "C3", "P2", 1, 500.0, 400.0, 100.0, 1, 0, 0),
    (2022, False, "C1", "P1", None, None, None, None, 50, None, None),
]


def _measures(sold, gross, net, margin, forecast, net_error, abs_error):
    """The P&L lines implied by a few figures: 10% pre-invoice, the rest of the
    gap to net sales post-invoice discount, and the cost of net - margin."""
    if gross is None:
        return [sold, None, None, None, None, None, None, None, None, None, None, None, forecast, net_error, abs_error]
    pre = gross * 0.1
    cost = net - margin
    return [sold, gross, pre, gross - pre, gross - pre - net, 0.0, net, 0.0, 0.0, cost, cost, margin,
            forecast, net_error, abs_error]


MEASURES = ("sold_quantity", "gross_sales", "pre_invoice_deduction", "net_invoice_sales", "post_invoice_discount",
            "post_invoice_other", "net_sales", "freight_cost", "other_cost", "manufacturing_cost", "cogs",
            "gross_margin", "forecast_quantity", "net_error", "abs_error")
CUSTOMER_COLUMNS = "customer_code, customer, market, sub_zone, region, platform, channel"
PRODUCT_COLUMNS = "product_code, division, segment, category, product, variant"


def _month(fiscal_year: int, fiscal_month: int) -> dt.date:
    month = (8 + fiscal_month - 1) % 12 + 1
    return dt.date(fiscal_year - 1 if month >= 9 else fiscal_year, month, 1)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("queries") / "bims.duckdb"
    con = duckdb.connect(str(path))
    measure_defs = ", ".join(f"{m} DOUBLE" for m in MEASURES)
    con.execute(f"CREATE TABLE dim_customer (customer_code VARCHAR, customer VARCHAR, market VARCHAR, "
                f"sub_zone VARCHAR, region VARCHAR, platform VARCHAR, channel VARCHAR)")
    con.executemany("INSERT INTO dim_customer VALUES (?, ?, ?, ?, ?, ?, ?)", [(k, *v) for k, v in CUSTOMERS.items()])
    con.execute("CREATE TABLE dim_product (product_code VARCHAR, division VARCHAR, segment VARCHAR, "
                "category VARCHAR, product VARCHAR, variant VARCHAR)")
    con.executemany("INSERT INTO dim_product VALUES (?, ?, ?, ?, ?, ?)", [(k, *v) for k, v in PRODUCTS.items()])
    con.execute("CREATE TABLE dim_market AS SELECT DISTINCT market, sub_zone, region FROM dim_customer")
    con.execute(f"CREATE TABLE agg_customer_product_yearly (fiscal_year INTEGER, has_actuals BOOLEAN, "
                f"customer_code VARCHAR, customer VARCHAR, market VARCHAR, sub_zone VARCHAR, region VARCHAR, "
                f"platform VARCHAR, channel VARCHAR, product_code VARCHAR, division VARCHAR, segment VARCHAR, "
                f"category VARCHAR, product VARCHAR, variant VARCHAR, {measure_defs})")
    for year, actuals, c, p, *figures in YEARLY:
        con.execute(f"INSERT INTO agg_customer_product_yearly VALUES ({', '.join(['?'] * 30)})",
                    [year, actuals, c, *CUSTOMERS[c], p, *PRODUCTS[p], *_measures(*figures)])
    con.execute(f"CREATE TABLE agg_customer_category_monthly (fiscal_year INTEGER, fiscal_quarter INTEGER, "
                f"fiscal_month INTEGER, month DATE, has_actuals BOOLEAN, customer_code VARCHAR, customer VARCHAR, "
                f"market VARCHAR, sub_zone VARCHAR, region VARCHAR, platform VARCHAR, channel VARCHAR, "
                f"division VARCHAR, segment VARCHAR, category VARCHAR, {measure_defs})")
    # net sales of 5 a month in FY2020, 10 in FY2021, 20 in the four months of FY2022 with actuals
    for year, months, net in ((2020, 12, 5.0), (2021, 12, 10.0), (2022, 4, 20.0)):
        for m in range(1, months + 1):
            con.execute(f"INSERT INTO agg_customer_category_monthly VALUES ({', '.join(['?'] * 30)})",
                        [year, (m - 1) // 3 + 1, m, _month(year, m), True, "C1", *CUSTOMERS["C1"],
                         *PRODUCTS["P1"][:3], *_measures(1, net * 1.25, net, net / 2, 1, 0, 0)])
    con.execute("CREATE TABLE product_price_cost_yearly AS SELECT * FROM (VALUES "
                "(2021, 'P1', 'P & A', 'Accessories', 'Mouse', 'Glide', 'Standard', 10.0::DOUBLE, 3.0::DOUBLE), "
                "(2021, 'P2', 'PC', 'Notebook', 'Gaming Laptop', 'Raptor', 'Pro', 500.0::DOUBLE, 150.0::DOUBLE), "
                "(2020, 'P1', 'P & A', 'Accessories', 'Mouse', 'Glide', 'Standard', 8.0::DOUBLE, 2.5::DOUBLE)) "
                "t(fiscal_year, product_code, division, segment, category, product, variant, gross_price, "
                "unit_manufacturing_cost)")
    con.execute("CREATE TABLE market_cost_rates_yearly AS SELECT * FROM (VALUES "
                "(2021, 'India', 'India', 'APAC', 0.02::DOUBLE, 0.005::DOUBLE), "
                "(2021, 'USA', 'NA', 'NA', 0.03::DOUBLE, 0.004::DOUBLE)) "
                "t(fiscal_year, market, sub_zone, region, freight_pct, other_cost_pct)")
    con.execute("CREATE TABLE etl_runs AS SELECT 'r1' AS run_id, 'succeeded' AS status, "
                "TIMESTAMP '2026-01-01 00:00:00' AS finished_at, '' AS missing_tables")
    con.close()
    w = DuckDBWarehouse(path)
    yield w
    w.close()


def rows(table):
    return table.to_pylist()


def test_the_catalog_has_every_required_query():
    queries = catalog()
    assert REQUIRED <= set(queries)
    for q in queries.values():
        assert q.description and "fiscal_year" in q.params, q.name


def test_binding_uses_placeholders_only():
    query = catalog()["top_products"]
    sql, args = bind(query, {"fiscal_year": 2021, "by": "net_sales", "n": 3}, "?")
    assert ":fiscal_year" not in sql and ":by" not in sql and "include:" not in sql
    assert sql.count("?") == len(args) and args.count(2021) >= 3 and "net_sales" in args
    sql, _ = bind(query, {}, "%s")
    assert "%s" in sql and "?" not in sql


def test_default_fiscal_year_is_the_latest_complete_one(warehouse):
    assert default_fiscal_year(warehouse) == 2021


def test_pnl_against_last_year(warehouse):
    lines = {r["line"]: r for r in rows(run(warehouse, "pnl"))}
    assert list(lines)[0] == "gross_sales" and list(lines)[-1] == "sold_quantity"
    assert lines["net_sales"]["this_year"] == 1025.0 and lines["net_sales"]["last_year"] == 460.0
    assert lines["net_sales"]["change"] == 565.0
    assert lines["net_sales"]["change_pct"] == pytest.approx(565 / 460)
    assert lines["gross_sales"]["this_year"] == 1150.0
    assert lines["pre_invoice_deduction"]["this_year"] == pytest.approx(115.0)
    assert lines["gm_pct"]["this_year"] == pytest.approx(350 / 1025)
    assert lines["gm_pct"]["last_year"] == pytest.approx(120 / 460)


def test_customer_filter_matches_a_name_in_every_market_or_one_code(warehouse):
    by_name = {r["line"]: r for r in rows(run(warehouse, "pnl", customer="Voltmart"))}
    assert by_name["net_sales"]["this_year"] == 125.0 and by_name["net_sales"]["last_year"] == 60.0
    by_code = {r["line"]: r for r in rows(run(warehouse, "pnl", customer="C2"))}
    assert by_code["net_sales"]["this_year"] == 45.0 and by_code["net_sales"]["last_year"] is None


def test_top_customers_rank_names_with_growth(warehouse):
    top = rows(run(warehouse, "top_customers", fiscal_year="2021"))
    assert [(r["rank"], r["customer"], r["value"]) for r in top] == [(1, "Nimbus", 900.0), (2, "Voltmart", 125.0)]
    assert top[0]["yoy_growth_pct"] == pytest.approx(1.25) and top[1]["markets"] == 2
    assert top[0]["measure"] == "net_sales"


def test_top_products_by_a_chosen_measure_and_n(warehouse):
    top = rows(run(warehouse, "top_products", by="sold_quantity", n="1"))
    assert [(r["product_code"], r["value"], r["last_year_value"]) for r in top] == [("P1", 15.0, 8.0)]


def test_top_markets_and_the_na_region(warehouse):
    top = rows(run(warehouse, "top_markets"))
    assert [(r["market"], r["region"], r["value"]) for r in top] == [("USA", "NA", 945.0), ("India", "APAC", 80.0)]
    assert [r["market"] for r in rows(run(warehouse, "top_markets", region="NA"))] == ["USA"]


def test_forecast_accuracy_by_market(warehouse):
    by_market = {r["market"]: r for r in rows(run(warehouse, "forecast_accuracy"))}
    assert by_market["India"]["forecast_accuracy"] == pytest.approx(1 - 2 / 12)
    assert by_market["India"]["risk"] == "excess inventory"
    assert by_market["USA"]["abs_error"] == 4 and by_market["USA"]["net_error"] == 0
    assert by_market["USA"]["forecast_accuracy"] == pytest.approx(1 - 4 / 7)
    assert by_market["USA"]["risk"] == "balanced"
    assert by_market["USA"]["last_year_forecast_accuracy"] == 1.0


def test_forecast_by_year_includes_years_without_actuals(warehouse):
    years = {r["fiscal_year"]: r for r in rows(run(warehouse, "forecast_by_year", product="P1"))}
    assert years[2022]["forecast_quantity"] == 50 and years[2022]["forecast_quantity_with_actuals"] is None
    assert years[2021]["forecast_quantity"] == 15


def test_sales_monthly_in_fiscal_order_against_last_year(warehouse):
    months = rows(run(warehouse, "sales_monthly"))
    assert [r["month"] for r in months][:2] == [dt.date(2020, 9, 1), dt.date(2020, 10, 1)]
    assert len(months) == 12 and months[-1]["month"] == dt.date(2021, 8, 1)
    assert months[0]["net_sales"] == 10.0 and months[0]["last_year_net_sales"] == 5.0
    assert months[0]["net_sales_change_pct"] == pytest.approx(1.0)


def test_prices_costs_freight_and_deductions(warehouse):
    prices = {r["product"]: r for r in rows(run(warehouse, "avg_gross_price"))}
    assert prices["Glide"]["avg_gross_price"] == 10.0 and prices["Glide"]["change_pct"] == pytest.approx(0.25)
    costs = rows(run(warehouse, "manufacturing_cost", n="1"))
    assert [(r["position"], r["product_code"]) for r in costs] == [("highest", "P2"), ("lowest", "P1")]
    freight = {r["market"]: r for r in rows(run(warehouse, "freight_by_market"))}
    assert freight["USA"]["freight_pct"] == 0.03 and freight["USA"]["net_sales"] == 945.0
    deductions = {r["customer_code"]: r for r in rows(run(warehouse, "customer_deductions"))}
    assert deductions["C3"]["pre_invoice_deduction"] == pytest.approx(100.0)
    assert deductions["C3"]["total_deductions"] == pytest.approx(100.0)
    assert deductions["C3"]["pre_invoice_discount_pct"] == pytest.approx(0.1)


@pytest.mark.parametrize("params, message", [
    ({"market": "Atlantis"}, "valid values: India, USA"),
    ({"market": "India' OR '1'='1"}, "not in the warehouse"),
    ({"customer": "x'; DROP TABLE dim_customer; --"}, "not in the warehouse"),
    ({"fiscal_year": "2021 OR 1=1"}, "whole number"),
    ({"fiscal_year": "1999"}, "valid values: 2020, 2021, 2022"),
    ({"n": "0"}, f"between 1 and {MAX_N}"),
    ({"n": str(10**9)}, f"between 1 and {MAX_N}"),
    ({"by": "net_sales; DROP TABLE dim_customer"}, "valid values: sold_quantity"),
])
def test_bad_values_are_refused_with_the_valid_ones(warehouse, params, message):
    with pytest.raises(QueryError, match=message.replace("(", r"\(")):
        run(warehouse, "top_markets", **params)
    assert warehouse.read("SELECT count(*) FROM dim_customer").column(0)[0].as_py() == 3


def test_unknown_query_and_filters_not_taken(warehouse):
    with pytest.raises(QueryError, match="the queries are: .*pnl"):
        run(warehouse, "profit")
    with pytest.raises(QueryError, match="avg_gross_price does not take --market; it takes: --fiscal-year"):
        run(warehouse, "avg_gross_price", market="India")


def cli(warehouse, *args):
    env = dict(os.environ, BIMS_WAREHOUSE=f"duckdb:///{warehouse.path}", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "queries", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_cli_list_and_formats(warehouse):
    listed = cli(warehouse, "list")
    assert listed.returncode == 0 and all(name in listed.stdout for name in REQUIRED)
    out = cli(warehouse, "run", "top_markets", "--format", "csv")
    table = list(csv.DictReader(io.StringIO(out.stdout)))
    assert out.returncode == 0 and [(r["market"], float(r["value"])) for r in table] == [("USA", 945.0),
                                                                                          ("India", 80.0)]
    out = cli(warehouse, "run", "pnl", "--customer", "Voltmart", "--format", "json")
    assert {r["line"]: r["this_year"] for r in json.loads(out.stdout)}["net_sales"] == 125.0
    out = cli(warehouse, "run", "pnl")
    assert "net_sales" in out.stdout and "1,025.00" in out.stdout and "34.1%" in out.stdout


def test_cli_errors_are_one_clear_line(warehouse, tmp_path):
    out = cli(warehouse, "run", "top_markets", "--market", "Atlantis")
    assert out.returncode == 2 and out.stderr.startswith("error: --market 'Atlantis' is not in the warehouse")
    assert "Traceback" not in out.stderr
    env_missing = dict(os.environ, BIMS_WAREHOUSE=f"duckdb:///{tmp_path / 'none.duckdb'}", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "queries", "run", "pnl"], cwd=ROOT, env=env_missing,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "no warehouse at" in out.stderr and "Traceback" not in out.stderr
