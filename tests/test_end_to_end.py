"""Both layouts end to end: generate -> refresh -> every named query answers, and
the warehouse's totals equal an independent pandas computation from the raw files."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from etl.generate import INJECTED, generate
from queries.catalog import catalog
from queries.runner import QueryError, run
from tests.conftest import refresh_into

FORECAST_QUERIES = {n for n, q in catalog().items() if "fact_forecast_monthly" in q.needs}
# A clean sample has no findings: tested on the sample with injected errors below.
EMPTY_ON_CLEAN_DATA = {"data_quality_findings"}


def read(folder, name):
    path = folder / f"{name}.csv"
    if path.exists():
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    return pd.read_parquet(folder / f"{name}.parquet").astype(str)


def pandas_totals(folder, prefix: str = "") -> pd.DataFrame:
    """The brief's measures per fiscal year, computed directly with pandas."""
    sales = read(folder, "fact_sales_monthly")
    sales["date"] = pd.to_datetime(sales["date"])
    sales["sold_quantity"] = sales["sold_quantity"].astype(float)
    sales["fiscal_year"] = sales["date"].dt.year + (sales["date"].dt.month >= 9)
    price = read(folder, prefix + "gross_price").astype({"fiscal_year": int, "gross_price": float})
    cost = read(folder, prefix + "manufacturing_cost").astype({"cost_year": int, "manufacturing_cost": float})
    pre = read(folder, prefix + "pre_invoice_deductions").astype(
        {"fiscal_year": int, "pre_invoice_discount_pct": float})
    customers = read(folder, "dim_customer")[["customer_code", "market"]]
    df = (sales.merge(price, on=["product_code", "fiscal_year"], how="left")
          .merge(cost.rename(columns={"cost_year": "fiscal_year", "manufacturing_cost": "unit_cost"}),
                 on=["product_code", "fiscal_year"], how="left")
          .merge(pre, on=["customer_code", "fiscal_year"], how="left")
          .merge(customers, on="customer_code", how="left"))
    try:
        post = read(folder, "post_invoice_deductions").astype({"discounts_pct": float, "other_deductions_pct": float})
        post["date"] = pd.to_datetime(post["date"])
        df = df.merge(post, on=["customer_code", "product_code", "date"], how="left")
        freight = read(folder, "freight_cost").astype(
            {"fiscal_year": int, "freight_pct": float, "other_cost_pct": float})
        df = df.merge(freight, on=["market", "fiscal_year"], how="left")
    except FileNotFoundError:  # the ad-hoc layout has neither
        df["discounts_pct"] = df["other_deductions_pct"] = df["freight_pct"] = df["other_cost_pct"] = 0.0
    df = df.fillna({c: 0.0 for c in ("pre_invoice_discount_pct", "discounts_pct", "other_deductions_pct",
                                     "freight_pct", "other_cost_pct", "unit_cost")})
    gross = df["sold_quantity"] * df["gross_price"]
    net_invoice = gross * (1 - df["pre_invoice_discount_pct"])
    net = net_invoice * (1 - df["discounts_pct"] - df["other_deductions_pct"])
    cogs = df["sold_quantity"] * df["unit_cost"] + net * (df["freight_pct"] + df["other_cost_pct"])
    df = df.assign(gross_sales=gross, net_sales=net, gross_margin=net - cogs)
    totals = df.groupby("fiscal_year")[["sold_quantity", "gross_sales", "net_sales", "gross_margin"]].sum()
    try:
        forecasts = read(folder, "fact_forecast_monthly")
    except FileNotFoundError:
        return totals
    forecasts["date"] = pd.to_datetime(forecasts["date"])
    forecasts["forecast_quantity"] = forecasts["forecast_quantity"].astype(float)
    both = sales[["date", "customer_code", "product_code", "sold_quantity"]].merge(
        forecasts, on=["date", "customer_code", "product_code"], how="outer").fillna(
        {"sold_quantity": 0.0, "forecast_quantity": 0.0})
    both["fiscal_year"] = both["date"].dt.year + (both["date"].dt.month >= 9)
    actual_months = set(sales["date"])
    both["abs_error"] = (both["forecast_quantity"] - both["sold_quantity"]).abs().where(
        both["date"].isin(actual_months))
    totals = totals.join(both.groupby("fiscal_year")[["forecast_quantity", "abs_error"]].sum(), how="outer")
    return totals.fillna(0.0)


def warehouse_totals(warehouse, columns) -> pd.DataFrame:
    sums = ", ".join(f"COALESCE(SUM({c}), 0) AS {c}" for c in columns)
    table = warehouse.read(f"SELECT fiscal_year, {sums} FROM agg_customer_product_yearly GROUP BY fiscal_year "
                           "ORDER BY fiscal_year").to_pandas()
    return table.set_index("fiscal_year")


def test_full_layout_totals_equal_pandas(full_warehouse, sample_full):
    expected = pandas_totals(sample_full)
    got = warehouse_totals(full_warehouse, expected.columns)
    assert list(got.index) == list(expected.index) == [2018, 2019, 2020, 2021, 2022, 2023][:len(got)]
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_names=False, rtol=1e-9)
    assert expected["forecast_quantity"].sum() > expected["sold_quantity"].sum() > 0


def test_monthly_and_yearly_aggregates_agree(full_warehouse):
    monthly = full_warehouse.read("SELECT fiscal_year, SUM(net_sales) AS n, SUM(abs_error) AS a FROM "
                                  "agg_customer_category_monthly GROUP BY 1 ORDER BY 1").to_pylist()
    yearly = full_warehouse.read("SELECT fiscal_year, SUM(net_sales) AS n, SUM(abs_error) AS a FROM "
                                 "agg_customer_product_yearly GROUP BY 1 ORDER BY 1").to_pylist()
    assert [r["fiscal_year"] for r in monthly] == [r["fiscal_year"] for r in yearly]
    for m, y in zip(monthly, yearly):
        assert m["n"] == pytest.approx(y["n"], rel=1e-9) and m["a"] == pytest.approx(y["a"], rel=1e-9)


def test_adhoc_layout_totals_equal_pandas(adhoc_warehouse, sample_adhoc):
    expected = pandas_totals(sample_adhoc, prefix="fact_")
    got = warehouse_totals(adhoc_warehouse, expected.columns)
    assert list(got.index) == [2020, 2021]
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_names=False, rtol=1e-9)


@pytest.mark.parametrize("name", sorted(set(catalog()) - EMPTY_ON_CLEAN_DATA))
def test_every_named_query_returns_rows_on_the_full_layout(full_warehouse, name):
    assert run(full_warehouse, name).num_rows > 0


@pytest.mark.parametrize("name", sorted(set(catalog()) - FORECAST_QUERIES - EMPTY_ON_CLEAN_DATA))
def test_every_named_query_returns_rows_on_the_adhoc_layout(adhoc_warehouse, name):
    assert run(adhoc_warehouse, name).num_rows > 0


@pytest.mark.parametrize("name", sorted(FORECAST_QUERIES))
def test_forecast_queries_say_forecasts_are_missing_on_the_adhoc_layout(adhoc_warehouse, name):
    with pytest.raises(QueryError, match="fact_forecast_monthly"):
        run(adhoc_warehouse, name)


def test_na_region_survives(full_warehouse, adhoc_warehouse):
    for warehouse in (full_warehouse, adhoc_warehouse):
        markets = {r["market"]: r["region"] for r in warehouse.read("SELECT market, region FROM dim_market").to_pylist()}
        assert markets["USA"] == "NA" and markets["Canada"] == "NA"
    table = run(full_warehouse, "top_markets", region="NA")
    assert set(table.column("market").to_pylist()) == {"USA", "Canada"}


def test_injected_errors_are_quarantined_and_the_refresh_still_succeeds(spark, tmp_path):
    source = tmp_path / "source"
    generate(source, scale=0.01, seed=5, inject_errors=True)
    summary = refresh_into(spark, source, tmp_path / "w.duckdb")
    assert summary.status == "succeeded"
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        found = set(con.execute("SELECT table_name, rule FROM dq_issues WHERE severity = 'rejected'").fetchall())
        rules = {r[0] for r in con.execute("SELECT DISTINCT rule FROM dq_issues").fetchall()}
    rule_names = {1: "unique_key", 2: "valid_date", 3: "value_range", 4: "known_reference",
                  5: "fiscal_year_format", 6: "numeric_value", 7: "required_value", 8: "known_category"}
    for table, rule in INJECTED:
        if rule in rule_names:
            assert (table, rule_names[rule]) in found, (table, rule)
    assert {"geography_mapping", "missing_gross_price", "missing_pre_invoice_deduction"} <= rules
    # The dashboard's Data view reads them through the named query.
    from warehouse.duckdb import DuckDBWarehouse

    findings = run(DuckDBWarehouse(tmp_path / "w.duckdb"), "data_quality_findings").to_pylist()
    assert {(f["table_name"], f["rule"]) for f in findings if f["severity"] == "rejected"} == found


def test_the_category_rollup_sums_the_product_table(full_warehouse):
    """agg_customer_category_yearly (read when no product is asked for) holds
    the product table's sums at its grain, with the product columns empty."""
    measures = ", ".join(f"SUM({m}) AS {m}" for m in ("sold_quantity", "net_sales", "gross_margin",
                                                       "forecast_quantity", "abs_error"))
    grain = "fiscal_year, has_actuals, customer_code, division, segment, category"
    rolled = full_warehouse.read(f"SELECT {grain}, {measures} FROM agg_customer_category_yearly "
                                 f"GROUP BY {grain} ORDER BY {grain}").to_pandas()
    summed = full_warehouse.read(f"SELECT {grain}, {measures} FROM agg_customer_product_yearly "
                                 f"GROUP BY {grain} ORDER BY {grain}").to_pandas()
    pd.testing.assert_frame_equal(rolled, summed, check_dtype=False, rtol=1e-9)
    rows = full_warehouse.read("SELECT COUNT(*), COUNT(product_code), COUNT(product) FROM agg_customer_category_yearly")
    count, codes, products = (c[0].as_py() for c in rows.columns)
    assert count == len(rolled) and codes == 0 and products == 0
