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
from warehouse.base import META_TABLES
from warehouse.duckdb import DuckDBWarehouse

REQUIRED = {"pnl", "sales_monthly", "sales_by_category", "sales_by_channel", "forecast_by_year",
            "forecast_accuracy", "avg_gross_price", "customer_deductions", "manufacturing_cost",
            "freight_by_market", "top_products", "top_customers", "top_markets",
            # the dashboard's
            "kpis", "sales_by_dimension", "forecast_monthly", "forecast_accuracy_by_dimension",
            "gross_price_trend", "refresh_history", "table_rows", "data_quality_findings", "fiscal_years",
            "customer_hierarchy", "product_hierarchy"}
# Queries across every fiscal year, or about the refreshes and the dimensions.
WITHOUT_FISCAL_YEAR = {"gross_price_trend", "refresh_history", "table_rows", "data_quality_findings",
                       "fiscal_years", "customer_hierarchy", "product_hierarchy", "latest_successful_refresh"}
CUSTOMER_FILTERS = {"region", "sub_zone", "market", "channel", "platform", "customer"}
CATEGORY_FILTERS = {"division", "segment", "category"}

CUSTOMERS = {  # code: customer, market, sub_zone, region, platform, channel
    "C1": ("Voltmart", "India", "India", "APAC", "E-Commerce", "Retailer"),
    "C2": ("Voltmart", "USA", "NA", "NA", "Brick & Mortar", "Direct"),
    "C3": ("Nimbus", "USA", "NA", "NA", "Brick & Mortar", "Distributor"),
}
PRODUCTS = {  # code: division, segment, category, product, variant
    "P1": ("P & A", "Accessories", "Mouse", "Glide", "Standard"),
    "P2": ("PC", "Notebook", "Gaming Laptop", "Raptor", "Pro"),
    "P3": ("P & A", "Accessories", "Mouse", "Swift", "Standard"),  # priced, never sold
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


def _monthly_row(year, fiscal_month, actuals, customer_code, product_code, figures):
    return [year, (fiscal_month - 1) // 3 + 1, fiscal_month, _month(year, fiscal_month), actuals, customer_code,
            *CUSTOMERS[customer_code], *PRODUCTS[product_code][:3], *_measures(*figures)]


# The monthly rows beyond the plain ones of C1 (see the fixture):
# fiscal_year, fiscal_month, has_actuals, customer, product (for its category),
# sold, gross, net, gross_margin, forecast, net_error, abs_error
MONTHLY_EXTRA = [
    (2022, 2, True, "C3", "P2", 3, 300.0, 240.0, 60.0, 5, 2, 2),       # Oct 2021: over-forecast
    (2022, 5, False, "C1", "P1", None, None, None, None, 7, None, None),  # Jan 2022: forecast only
    (2022, 6, False, "C1", "P1", None, None, None, None, 7, None, None),  # Feb 2022: forecast only
    (2019, 12, True, "C1", "P1", 2, 25.0, 20.0, 10.0, 0, -2, 2),       # Aug 2019: actuals, no forecast
]
RUNS = [  # etl_runs: run_id, started_at, finished_at, status, source, layout, fiscal_years, missing_tables,
    #         rows_read, rows_rejected, rows_written, seconds, message
    ("r0", dt.datetime(2025, 12, 31), dt.datetime(2025, 12, 31, 0, 4), "succeeded", "data/old", "adhoc", "2021",
     "fact_forecast_monthly", 800, 0, 400, 240.0, None),
    ("r1", dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 1, 0, 5), "succeeded", "data/sample", "full", "all", "",
     1000, 8, 500, 300.0, None),
    ("r2", dt.datetime(2026, 1, 2), dt.datetime(2026, 1, 2, 0, 1), "failed", "data/sample", "full", "all", "",
     1000, 50, 0, 60.0, "fact_sales_monthly: 5.0% of rows rejected, more than 1.0%"),
]
RUN_TABLES = [  # run_id, table_name, rows_read, rows_rejected, rows_written
    ("r0", "fact_sales_monthly", 800, 0, None),
    ("r1", "fact_sales_monthly", 600, 6, None),
    ("r1", "dim_customer", 400, 2, None),
    ("r1", "agg_customer_product_yearly", None, None, 500),
    ("r2", "fact_sales_monthly", 1000, 50, None),
]
DQ_ISSUES = [  # run_id, table_name, source_file, rule, severity, row_key, column_name, offending_value, message
    ("r2", "fact_sales_monthly", "s.csv", "valid_date", "rejected", "k3", "date", "2021-13-01", "not a date"),
    ("r2", "fact_sales_monthly", "s.csv", "valid_date", "rejected", "k1", "date", "2021-02-30", "not a date"),
    ("r2", "fact_sales_monthly", "s.csv", "numeric_value", "rejected", "k2", "sold_quantity", "abc", "not a number"),
    ("r2", "fact_forecast_monthly", "f.csv", "valid_date", "rejected", "f1", "date", "soon", "not a date"),
    ("r2", "fact_sales_monthly", "s.csv", "missing_gross_price", "error", "k9", "product_code", "A9",
     "no gross price"),
    ("r2", "dim_customer", "c.csv", "geography_mapping", "warning", "C9", "market", "Atlantis", "no region"),
    ("r2", "dim_customer", "c.csv", "geography_mapping", "warning", "C8", "market", "Lemuria", "no region"),
    ("r1", "dim_customer", "c.csv", "unique_key", "rejected", "C1", "customer_code", "C1", "duplicate key"),
]


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
    # The rollup the ETL makes (etl/transform.py customer_category_yearly): same columns, products summed.
    con.execute(f"""CREATE TABLE agg_customer_category_yearly AS
        SELECT fiscal_year, has_actuals, {CUSTOMER_COLUMNS}, CAST(NULL AS VARCHAR) AS product_code, division,
               segment, category, CAST(NULL AS VARCHAR) AS product, CAST(NULL AS VARCHAR) AS variant,
               {", ".join(f"SUM({m}) AS {m}" for m in MEASURES)}
        FROM agg_customer_product_yearly
        GROUP BY fiscal_year, has_actuals, {CUSTOMER_COLUMNS}, division, segment, category""")
    con.execute(f"CREATE TABLE agg_customer_category_monthly (fiscal_year INTEGER, fiscal_quarter INTEGER, "
                f"fiscal_month INTEGER, month DATE, has_actuals BOOLEAN, customer_code VARCHAR, customer VARCHAR, "
                f"market VARCHAR, sub_zone VARCHAR, region VARCHAR, platform VARCHAR, channel VARCHAR, "
                f"division VARCHAR, segment VARCHAR, category VARCHAR, {measure_defs})")
    # net sales of 5 a month in FY2020, 10 in FY2021, 20 in the four months of FY2022 with actuals
    monthly = [(year, m, True, "C1", "P1", 1, net * 1.25, net, net / 2, 1, 0, 0)
               for year, months, net in ((2020, 12, 5.0), (2021, 12, 10.0), (2022, 4, 20.0))
               for m in range(1, months + 1)]
    con.executemany(f"INSERT INTO agg_customer_category_monthly VALUES ({', '.join(['?'] * 30)})",
                    [_monthly_row(y, m, a, c, p, figures) for y, m, a, c, p, *figures in monthly + MONTHLY_EXTRA])
    con.execute("CREATE TABLE product_price_cost_yearly AS SELECT * FROM (VALUES "
                "(2021, 'P1', 'P & A', 'Accessories', 'Mouse', 'Glide', 'Standard', 10.0::DOUBLE, 3.0::DOUBLE), "
                "(2021, 'P2', 'PC', 'Notebook', 'Gaming Laptop', 'Raptor', 'Pro', 500.0::DOUBLE, 150.0::DOUBLE), "
                "(2020, 'P1', 'P & A', 'Accessories', 'Mouse', 'Glide', 'Standard', 8.0::DOUBLE, 2.5::DOUBLE), "
                "(2021, 'P3', 'P & A', 'Accessories', 'Mouse', 'Swift', 'Standard', 14.0::DOUBLE, 4.0::DOUBLE), "
                "(2020, 'P3', 'P & A', 'Accessories', 'Mouse', 'Swift', 'Standard', 12.0::DOUBLE, 3.5::DOUBLE), "
                "(2022, 'P2', 'PC', 'Notebook', 'Gaming Laptop', 'Raptor', 'Pro', NULL::DOUBLE, NULL::DOUBLE)) "
                "t(fiscal_year, product_code, division, segment, category, product, variant, gross_price, "
                "unit_manufacturing_cost)")
    con.execute("CREATE TABLE market_cost_rates_yearly AS SELECT * FROM (VALUES "
                "(2021, 'India', 'India', 'APAC', 0.02::DOUBLE, 0.005::DOUBLE), "
                "(2021, 'USA', 'NA', 'NA', 0.03::DOUBLE, 0.004::DOUBLE)) "
                "t(fiscal_year, market, sub_zone, region, freight_pct, other_cost_pct)")
    for ddl in META_TABLES.values():
        con.execute(ddl)
    con.executemany(f"INSERT INTO etl_runs VALUES ({', '.join(['?'] * 13)})", RUNS)
    con.executemany("INSERT INTO etl_run_tables VALUES (?, ?, ?, ?, ?)", RUN_TABLES)
    con.executemany(f"INSERT INTO dq_issues VALUES ({', '.join(['?'] * 9)})", DQ_ISSUES)
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
        assert q.description and ("fiscal_year" in q.params) == (q.name not in WITHOUT_FISCAL_YEAR), q.name


def test_every_query_on_an_aggregate_takes_the_usual_filters():
    for q in catalog().values():
        if "agg_customer_product_yearly" in q.sql:
            assert CUSTOMER_FILTERS | CATEGORY_FILTERS | {"product"} <= set(q.params), q.name
        elif "agg_customer_category_monthly" in q.sql and q.name != "fiscal_years":
            assert CUSTOMER_FILTERS | CATEGORY_FILTERS <= set(q.params) and "product" not in q.params, q.name


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


def test_kpis_against_last_year(warehouse):
    kpis = rows(run(warehouse, "kpis", fiscal_year="2021"))
    assert [r["measure"] for r in kpis] == ["net_sales", "gross_margin", "gm_pct", "sold_quantity",
                                            "forecast_accuracy", "forecast_quantity"]
    assert all(r["fiscal_year"] == 2021 for r in kpis)
    k = {r["measure"]: r for r in kpis}
    net = k["net_sales"]
    assert (net["this_year"], net["last_year"], net["change"]) == (1025.0, 460.0, 565.0)
    assert k["net_sales"]["change_pct"] == pytest.approx(565 / 460)
    assert (k["gross_margin"]["this_year"], k["gross_margin"]["last_year"]) == (350.0, 120.0)
    assert k["gm_pct"]["this_year"] == pytest.approx(350 / 1025)
    assert k["gm_pct"]["last_year"] == pytest.approx(120 / 460)
    assert k["gm_pct"]["change"] == pytest.approx(350 / 1025 - 120 / 460) and k["gm_pct"]["change_pct"] is None
    assert (k["sold_quantity"]["this_year"], k["sold_quantity"]["last_year"]) == (17.0, 9.0)
    assert k["sold_quantity"]["change_pct"] == pytest.approx(8 / 9)
    # FY2021: forecasts 12 + 3 + 4 = 19, absolute errors 2 + 2 + 2 = 6; FY2020: 8 + 1 = 9 and 1 + 0 = 1
    assert k["forecast_accuracy"]["this_year"] == pytest.approx(1 - 6 / 19)
    assert k["forecast_accuracy"]["last_year"] == pytest.approx(1 - 1 / 9)
    assert k["forecast_accuracy"]["change"] == pytest.approx((1 - 6 / 19) - (1 - 1 / 9))
    assert k["forecast_accuracy"]["change_pct"] is None
    assert (k["forecast_quantity"]["this_year"], k["forecast_quantity"]["last_year"]) == (19.0, 9.0)


def test_kpis_of_a_year_with_forecasts_only_and_filtered(warehouse):
    k = {r["measure"]: r for r in rows(run(warehouse, "kpis", fiscal_year="2022"))}
    assert k["net_sales"]["this_year"] is None and k["net_sales"]["last_year"] == 1025.0
    assert k["forecast_accuracy"]["this_year"] is None and k["forecast_quantity"]["this_year"] is None
    assert k["forecast_accuracy"]["last_year"] == pytest.approx(13 / 19)
    nimbus = {r["measure"]: r for r in rows(run(warehouse, "kpis", customer="Nimbus"))}
    assert (nimbus["net_sales"]["this_year"], nimbus["net_sales"]["last_year"]) == (900.0, 400.0)
    assert nimbus["forecast_accuracy"]["this_year"] == pytest.approx(0.5)
    assert nimbus["forecast_accuracy"]["last_year"] == 1.0


def _members(table, *columns):
    return [tuple(r[c] for c in ("member", *columns)) for r in rows(table)]


def test_sales_by_region_with_growth_and_share(warehouse):
    regions = rows(run(warehouse, "sales_by_dimension", dimension="region", fiscal_year="2021"))
    assert [(r["fiscal_year"], r["dimension"], r["member"]) for r in regions] == [(2021, "region", "NA"),
                                                                                  (2021, "region", "APAC")]
    na, apac = regions
    assert (na["net_sales"], na["gross_margin"], na["sold_quantity"], na["last_year_net_sales"]) == (945.0, 320.0,
                                                                                                    7.0, 400.0)
    assert na["gm_pct"] == pytest.approx(320 / 945) and na["yoy_growth_pct"] == pytest.approx(545 / 400)
    assert na["net_sales_share"] == pytest.approx(945 / 1025) and apac["net_sales_share"] == pytest.approx(80 / 1025)
    assert apac["last_year_net_sales"] == 60.0 and apac["yoy_growth_pct"] == pytest.approx(20 / 60)


def test_sales_by_market_customer_product_and_channel(warehouse):
    by_market = run(warehouse, "sales_by_dimension")  # market by default, in the latest complete year
    assert rows(by_market)[0]["dimension"] == "market"
    assert _members(by_market, "net_sales") == [("USA", 945.0), ("India", 80.0)]
    customers = run(warehouse, "sales_by_dimension", dimension="customer")  # names: Voltmart's two codes as one
    assert _members(customers, "net_sales", "last_year_net_sales") == [("Nimbus", 900.0, 400.0),
                                                                       ("Voltmart", 125.0, 60.0)]
    assert [r["net_sales_share"] for r in rows(customers)] == pytest.approx([900 / 1025, 125 / 1025])
    assert rows(customers)[1]["yoy_growth_pct"] == pytest.approx(65 / 60)
    products = run(warehouse, "sales_by_dimension", dimension="product")  # names, not codes
    assert _members(products, "net_sales", "sold_quantity") == [("Raptor", 900.0, 2.0), ("Glide", 125.0, 15.0)]
    channels = run(warehouse, "sales_by_dimension", dimension="channel")
    assert _members(channels, "net_sales", "last_year_net_sales", "yoy_growth_pct") == [
        ("Distributor", 900.0, 400.0, 1.25), ("Retailer", 80.0, 60.0, pytest.approx(1 / 3)),
        ("Direct", 45.0, None, None)]
    # the share is of the filtered total
    usa = run(warehouse, "sales_by_dimension", dimension="customer", market="USA")
    assert _members(usa, "net_sales", "net_sales_share") == [("Nimbus", 900.0, pytest.approx(900 / 945)),
                                                             ("Voltmart", 45.0, pytest.approx(45 / 945))]


def test_sales_by_dimension_leaves_out_members_without_sales(warehouse):
    # FY2022's one row has forecasts only: no net sales, no quantity
    assert rows(run(warehouse, "sales_by_dimension", fiscal_year="2022")) == []


@pytest.mark.parametrize("name, dimension, valid", [
    ("sales_by_dimension", "region; DROP TABLE dim_customer", "region, sub_zone, market, customer, channel, "
                                                              "platform, division, segment, category, product"),
    ("sales_by_dimension", "customer_code", "region, sub_zone, market, customer, channel"),
    ("forecast_accuracy_by_dimension", "channel", "region, sub_zone, market, customer, division, segment"),
])
def test_a_dimension_a_query_does_not_group_by_is_refused(warehouse, name, dimension, valid):
    with pytest.raises(QueryError, match=f"{name} cannot group by .*; --dimension takes: {valid}"):
        run(warehouse, name, dimension=dimension)
    with pytest.raises(QueryError, match="pnl does not take --dimension"):
        run(warehouse, "pnl", dimension="region")
    assert warehouse.read("SELECT count(*) FROM dim_customer").column(0)[0].as_py() == 3


def test_forecast_monthly_includes_months_with_forecasts_only(warehouse):
    months = rows(run(warehouse, "forecast_monthly", fiscal_year="2022"))
    assert [(r["fiscal_month"], r["month"], r["fiscal_quarter"], r["has_actuals"]) for r in months] == [
        (1, dt.date(2021, 9, 1), 1, True), (2, dt.date(2021, 10, 1), 1, True), (3, dt.date(2021, 11, 1), 1, True),
        (4, dt.date(2021, 12, 1), 2, True), (5, dt.date(2022, 1, 1), 2, False), (6, dt.date(2022, 2, 1), 2, False)]
    october = months[1]  # C1's Mouse 1 forecast, 1 sold; C3's Gaming Laptop 5 forecast, 3 sold
    assert (october["forecast_quantity"], october["sold_quantity"], october["net_error"], october["abs_error"]) == (
        6.0, 4.0, 2.0, 2.0)
    assert october["forecast_accuracy"] == pytest.approx(1 - 2 / 6)
    assert months[0]["forecast_accuracy"] == 1.0
    january = months[4]
    assert january["forecast_quantity"] == 7.0 and january["sold_quantity"] is None
    assert january["forecast_accuracy"] is None and january["abs_error"] is None
    nimbus = rows(run(warehouse, "forecast_monthly", fiscal_year="2022", customer="Nimbus"))
    assert [(r["month"], r["forecast_accuracy"]) for r in nimbus] == [(dt.date(2021, 10, 1), pytest.approx(0.6))]
    mice = rows(run(warehouse, "forecast_monthly", fiscal_year="2022", category="Mouse"))
    assert [r["forecast_quantity"] for r in mice] == [1.0, 1.0, 1.0, 1.0, 7.0, 7.0]
    assert len(rows(run(warehouse, "forecast_monthly"))) == 12  # FY2021 by default


def test_forecast_accuracy_by_customer_and_product_with_risk(warehouse):
    customers = rows(run(warehouse, "forecast_accuracy_by_dimension", dimension="customer", fiscal_year="2021"))
    assert [(r["member"], r["forecast_quantity"], r["sold_quantity"], r["net_error"], r["abs_error"], r["risk"])
            for r in customers] == [("Voltmart", 15.0, 15.0, 0.0, 4.0, "balanced"),
                                    ("Nimbus", 4.0, 2.0, 2.0, 2.0, "excess inventory")]
    voltmart, nimbus = customers
    assert voltmart["dimension"] == "customer" and voltmart["abs_error_pct"] == pytest.approx(4 / 15)
    assert voltmart["forecast_accuracy"] == pytest.approx(11 / 15)
    assert voltmart["last_year_forecast_accuracy"] == pytest.approx(7 / 8)
    assert nimbus["forecast_accuracy"] == 0.5 and nimbus["last_year_forecast_accuracy"] == 1.0
    # in the USA Voltmart (C2) sold more than it forecast, and had no forecast the year before
    usa = rows(run(warehouse, "forecast_accuracy_by_dimension", dimension="customer", market="USA"))
    assert [(r["member"], r["net_error"], r["risk"], r["last_year_forecast_accuracy"]) for r in usa] == [
        ("Nimbus", 2.0, "excess inventory", 1.0), ("Voltmart", -2.0, "out of stock", None)]
    assert usa[1]["forecast_accuracy"] == pytest.approx(1 / 3)
    products = rows(run(warehouse, "forecast_accuracy_by_dimension", dimension="product"))
    assert [(r["member"], r["abs_error"], r["forecast_accuracy"], r["last_year_forecast_accuracy"], r["risk"])
            for r in products] == [("Glide", 4.0, pytest.approx(11 / 15), pytest.approx(7 / 8), "balanced"),
                                   ("Raptor", 2.0, 0.5, 1.0, "excess inventory")]
    markets = rows(run(warehouse, "forecast_accuracy_by_dimension"))  # by market, as forecast_accuracy
    assert [(r["member"], r["forecast_accuracy"]) for r in markets] == [("USA", pytest.approx(1 - 4 / 7)),
                                                                        ("India", pytest.approx(1 - 2 / 12))]


def test_gross_price_trend_per_category_and_per_product(warehouse):
    categories = rows(run(warehouse, "gross_price_trend"))  # FY2022's Raptor has no price: left out
    assert [(r["member"], r["fiscal_year"], r["avg_gross_price"], r["products"]) for r in categories] == [
        ("Gaming Laptop", 2021, 500.0, 1), ("Mouse", 2020, 10.0, 2), ("Mouse", 2021, 12.0, 2)]
    assert (categories[1]["division"], categories[1]["segment"], categories[1]["category"]) == (
        "P & A", "Accessories", "Mouse")
    mice = rows(run(warehouse, "gross_price_trend", category="Mouse"))
    assert [(r["member"], r["fiscal_year"], r["avg_gross_price"], r["category"]) for r in mice] == [
        ("Glide", 2020, 8.0, "Mouse"), ("Glide", 2021, 10.0, "Mouse"),
        ("Swift", 2020, 12.0, "Mouse"), ("Swift", 2021, 14.0, "Mouse")]
    swift = rows(run(warehouse, "gross_price_trend", product="P3"))
    assert [(r["member"], r["avg_gross_price"]) for r in swift] == [("Mouse", 12.0), ("Mouse", 14.0)]
    with pytest.raises(QueryError, match="gross_price_trend does not take --fiscal-year"):
        run(warehouse, "gross_price_trend", fiscal_year="2021")


def test_refresh_history_newest_first(warehouse):
    runs = rows(run(warehouse, "refresh_history"))
    assert [(r["run_id"], r["status"]) for r in runs] == [("r2", "failed"), ("r1", "succeeded"), ("r0", "succeeded")]
    failed, ok, old = runs
    assert failed["message"] == "fact_sales_monthly: 5.0% of rows rejected, more than 1.0%"
    assert (ok["rows_read"], ok["rows_rejected"], ok["rows_written"], ok["seconds"]) == (1000, 8, 500, 300.0)
    assert ok["started_at"] == dt.datetime(2026, 1, 1) and ok["finished_at"] == dt.datetime(2026, 1, 1, 0, 5)
    assert (old["layout"], old["fiscal_years"], old["missing_tables"]) == ("adhoc", "2021", "fact_forecast_monthly")
    assert list(runs[0]) == ["run_id", "started_at", "finished_at", "status", "source", "layout", "fiscal_years",
                             "missing_tables", "rows_read", "rows_rejected", "rows_written", "seconds", "message"]
    assert [r["run_id"] for r in rows(run(warehouse, "refresh_history", n="2"))] == ["r2", "r1"]


def test_table_rows_of_the_latest_successful_refresh(warehouse):
    tables = rows(run(warehouse, "table_rows"))  # r1: r2 after it failed
    assert [(r["run_id"], r["table_name"], r["rows_read"], r["rows_rejected"], r["rows_written"]) for r in tables] == [
        ("r1", "agg_customer_product_yearly", None, None, 500),
        ("r1", "dim_customer", 400, 2, None),
        ("r1", "fact_sales_monthly", 600, 6, None)]
    assert [r["rejected_pct"] for r in tables] == [None, pytest.approx(0.005), pytest.approx(0.01)]
    assert tables[0]["finished_at"] == dt.datetime(2026, 1, 1, 0, 5)


def test_data_quality_findings_of_the_latest_refresh(warehouse):
    findings = rows(run(warehouse, "data_quality_findings"))  # r2's, failed as it is; not r1's unique_key
    assert [(r["run_id"], r["table_name"], r["rule"], r["severity"], r["findings"]) for r in findings] == [
        ("r2", "fact_sales_monthly", "valid_date", "rejected", 2),
        ("r2", "fact_forecast_monthly", "valid_date", "rejected", 1),
        ("r2", "fact_sales_monthly", "numeric_value", "rejected", 1),
        ("r2", "fact_sales_monthly", "missing_gross_price", "error", 1),
        ("r2", "dim_customer", "geography_mapping", "warning", 2)]
    assert (findings[0]["example_row_key"], findings[0]["example_value"], findings[0]["message"]) == (
        "k1", "2021-02-30", "not a date")
    # each example column is its own smallest value
    assert (findings[-1]["example_row_key"], findings[-1]["example_value"]) == ("C8", "Atlantis")


def test_fiscal_years_and_their_completeness(warehouse):
    years = rows(run(warehouse, "fiscal_years"))
    assert [(r["fiscal_year"], r["months_with_actuals"], r["complete"], r["has_forecasts"]) for r in years] == [
        (2022, 4, False, True), (2021, 12, True, True), (2020, 12, True, True), (2019, 1, False, False)]


def test_customer_and_product_hierarchies(warehouse):
    customers = rows(run(warehouse, "customer_hierarchy"))
    assert [tuple(r.values()) for r in customers] == [
        ("APAC", "India", "India", "Voltmart", "C1", "Retailer", "E-Commerce"),
        ("NA", "NA", "USA", "Nimbus", "C3", "Distributor", "Brick & Mortar"),
        ("NA", "NA", "USA", "Voltmart", "C2", "Direct", "Brick & Mortar")]
    assert list(customers[0]) == ["region", "sub_zone", "market", "customer", "customer_code", "channel", "platform"]
    products = rows(run(warehouse, "product_hierarchy"))
    assert [tuple(r.values()) for r in products] == [
        ("P & A", "Accessories", "Mouse", "Glide", "P1", "Standard"),
        ("P & A", "Accessories", "Mouse", "Swift", "P3", "Standard"),
        ("PC", "Notebook", "Gaming Laptop", "Raptor", "P2", "Pro")]
    assert list(products[0]) == ["division", "segment", "category", "product", "product_code", "variant"]


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


def test_cli_lists_dimensions_and_groups_by_one(warehouse):
    listed = " ".join(cli(warehouse, "list").stdout.split())  # as one line: the listing wraps
    assert ("--dimension: region, sub_zone, market, customer, channel, platform, division, segment, category, "
            "product (default: market)") in listed
    out = cli(warehouse, "run", "sales_by_dimension", "--dimension", "region", "--fiscal-year", "2021")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["fiscal_year", "dimension", "member", "net_sales", "gross_margin", "gm_pct",
                                "sold_quantity", "last_year_net_sales", "yoy_growth_pct", "net_sales_share"]
    assert lines[2].split() == ["2021", "region", "NA", "945.00", "320.00", "33.9%", "7", "400.00",
                                f"{545 / 400:.1%}", "92.2%"]
    out = cli(warehouse, "run", "sales_by_dimension", "--dimension", "customer_code")
    assert out.returncode == 2 and "--dimension takes: region, sub_zone" in out.stderr


def test_cli_prints_each_kpi_as_its_measure(warehouse):
    out = cli(warehouse, "run", "kpis", "--fiscal-year", "2021")
    lines = {line.split()[1]: line.split()[2:] for line in out.stdout.splitlines()[2:]}
    assert lines["net_sales"] == ["1,025.00", "460.00", "565.00", "122.8%"]
    assert lines["gm_pct"] == ["34.1%", "26.1%", "8.1%", "-"]  # the change in points
    assert lines["forecast_accuracy"] == ["68.4%", "88.9%", "-20.5%", "-"]
    assert lines["sold_quantity"] == ["17", "9", "8", "88.9%"]
    out = cli(warehouse, "run", "table_rows")
    assert "0.5%" in out.stdout and "1.0%" in out.stdout


def test_cli_errors_are_one_clear_line(warehouse, tmp_path):
    out = cli(warehouse, "run", "top_markets", "--market", "Atlantis")
    assert out.returncode == 2 and out.stderr.startswith("error: --market 'Atlantis' is not in the warehouse")
    assert "Traceback" not in out.stderr
    env_missing = dict(os.environ, BIMS_WAREHOUSE=f"duckdb:///{tmp_path / 'none.duckdb'}", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "queries", "run", "pnl"], cwd=ROOT, env=env_missing,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "no warehouse at" in out.stderr and "Traceback" not in out.stderr


def test_product_filter_matches_a_name_in_every_variant_or_one_code(warehouse):
    by_name = run(warehouse, "pnl", fiscal_year=2021, product="Raptor").to_pylist()
    by_code = run(warehouse, "pnl", fiscal_year=2021, product="P2").to_pylist()
    other = run(warehouse, "pnl", fiscal_year=2021, product="Glide").to_pylist()
    assert by_name[0]["line"] == "gross_sales" and by_name[0]["this_year"] is not None
    assert by_name == by_code  # Raptor has one variant, P2, in the fixture
    assert other[0]["this_year"] != by_name[0]["this_year"]


def test_questions_without_a_product_read_the_category_rollup():
    from queries.runner import resolved

    kpis = catalog()["kpis"]
    assert "agg_customer_category_yearly" in resolved(kpis, {"fiscal_year": 2021}).sql
    assert "agg_customer_product_yearly" not in resolved(kpis, {"fiscal_year": 2021}).sql
    assert "agg_customer_product_yearly" in resolved(kpis, {"fiscal_year": 2021, "product": "Raptor"}).sql
    by_dimension = catalog()["sales_by_dimension"]
    assert "agg_customer_category_yearly" in resolved(by_dimension, {"dimension": "category"}).sql
    assert "agg_customer_product_yearly" in resolved(by_dimension, {"dimension": "product"}).sql
    assert catalog()["top_products"].rollup is None  # it ranks products


def test_rollup_and_product_table_give_the_same_answer(warehouse):
    """The same question on both tables: a product filter naming every product
    reads the product table, and must agree with the rollup's answer."""
    rolled = run(warehouse, "sales_by_dimension", fiscal_year=2021, dimension="customer").to_pylist()
    assert rolled and all(r["member"] for r in rolled)
    by_product = {p: run(warehouse, "sales_by_dimension", fiscal_year=2021, dimension="customer", product=p)
                  for p in ("P1", "P2", "P3")}
    summed = {}
    for table in by_product.values():
        for row in table.to_pylist():
            summed[row["member"]] = summed.get(row["member"], 0) + (row["net_sales"] or 0)
    assert {r["member"]: pytest.approx(r["net_sales"]) for r in rolled} == summed
