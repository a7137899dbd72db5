"""The brief's measures against values worked out by hand on tiny inputs."""
from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import Observation
from pyspark.sql import functions as F

from etl import transform as tf

D = dt.date


def frame(spark, columns: str, rows: list[tuple]):
    return spark.createDataFrame(rows, columns)


def combine(sales, forecasts, post):
    """The combined facts and what the pipeline observes of them on the same pass."""
    summary = Observation()
    combined = tf.combine_facts(sales, forecasts, post).observe(summary, *tf.fact_summary()).cache()
    combined.count()
    return combined, summary.get


def assert_measures(row, expected: dict) -> None:
    for name, value in expected.items():
        assert row[name] == pytest.approx(value, abs=1e-9), name


@pytest.mark.parametrize("date, start, year, quarter, month", [
    (D(2020, 8, 1), 9, 2020, 4, 12),   # last month of FY2020
    (D(2020, 9, 1), 9, 2021, 1, 1),    # first month of FY2021
    (D(2020, 11, 1), 9, 2021, 1, 3),
    (D(2020, 12, 1), 9, 2021, 2, 4),
    (D(2021, 2, 1), 9, 2021, 2, 6),
    (D(2021, 3, 1), 9, 2021, 3, 7),
    (D(2021, 6, 1), 9, 2021, 4, 10),
    (D(2021, 1, 1), 1, 2021, 1, 1),    # calendar fiscal year
    (D(2021, 12, 1), 1, 2021, 4, 12),
    (D(2020, 7, 1), 7, 2021, 1, 1),    # July start
    (D(2021, 6, 1), 7, 2021, 4, 12),
])
def test_fiscal_calendar(spark, date, start, year, quarter, month):
    row = spark.createDataFrame([(date,)], "date date").select(
        tf.fiscal_year(F.col("date"), start).alias("y"),
        tf.fiscal_quarter(F.col("date"), start).alias("q"),
        tf.fiscal_month(F.col("date"), start).alias("m"),
    ).first()
    assert (row.y, row.q, row.m) == (year, quarter, month)


def test_fiscal_year_bounds():
    assert tf.fiscal_year_bounds([2021]) == [(D(2020, 9, 1), D(2021, 8, 1))]
    assert tf.fiscal_year_bounds([2021], start_month=1) == [(D(2021, 1, 1), D(2021, 12, 1))]


@pytest.fixture(scope="module")
def tiny(spark):
    customers = frame(spark, "customer_code string, customer string, market string, sub_zone string, "
                             "region string, platform string, channel string", [
        ("C1", "Voltmart", "India", "India", "APAC", "E-Commerce", "Retailer"),
        ("C2", "Nimbus", "USA", "NA", "NA", "Brick & Mortar", "Direct"),
    ])
    products = frame(spark, "product_code string, division string, segment string, category string, "
                            "product string, variant string", [
        ("P1", "P & A", "Peripherals", "Mouse", "Glide", "Standard"),
        ("P2", "PC", "Notebook", "Gaming Laptop", "Raptor", "Pro"),
    ])
    sales = frame(spark, "date date, customer_code string, product_code string, sold_quantity double", [
        (D(2020, 8, 1), "C1", "P1", 10.0),   # FY2020, no forecast
        (D(2020, 9, 1), "C1", "P1", 20.0),   # FY2021
        (D(2020, 9, 1), "C2", "P2", 3.0),    # P2 has no FY2021 price; C2 no FY2021 pre-invoice
        (D(2020, 10, 1), "C2", "P1", 0.0),   # a zero quantity
    ])
    forecasts = frame(spark, "date date, customer_code string, product_code string, forecast_quantity double", [
        (D(2020, 9, 1), "C1", "P1", 25.0),   # over-forecast by 5
        (D(2020, 10, 1), "C1", "P1", 30.0),  # forecast without actuals, in a month that has actuals
        (D(2020, 9, 1), "C2", "P2", 1.0),    # under-forecast by 2
        (D(2022, 1, 1), "C1", "P1", 50.0),   # a month with no actuals at all
    ])
    post = frame(spark, "date date, customer_code string, product_code string, discounts_pct double, "
                        "other_deductions_pct double", [
        (D(2020, 8, 1), "C1", "P1", 0.05, 0.01),
        (D(2020, 9, 1), "C1", "P1", 0.10, 0.02),
    ])
    gross_price = frame(spark, "product_code string, fiscal_year int, gross_price double", [
        ("P1", 2020, 15.5), ("P1", 2021, 16.0), ("P2", 2020, 500.0),
    ])
    mfg = frame(spark, "product_code string, cost_year int, manufacturing_cost double", [
        ("P1", 2020, 4.0), ("P1", 2021, 4.5), ("P2", 2021, 200.0),
    ])
    pre = frame(spark, "customer_code string, fiscal_year int, pre_invoice_discount_pct double", [
        ("C1", 2020, 0.1), ("C1", 2021, 0.2),
    ])
    freight = frame(spark, "market string, fiscal_year int, freight_pct double, other_cost_pct double", [
        ("India", 2020, 0.02, 0.005), ("India", 2021, 0.03, 0.004),
    ])
    combined, summary = combine(sales, forecasts, post)
    months = tf.fact_months(spark, summary)
    lines = tf.sales_lines(combined, months, products, gross_price, mfg)
    rates = tf.customer_rates(customers, months, pre, freight)
    # The measures of each single line: the brief's definitions, worked out by hand below.
    measured = tf.with_measures(lines.join(rates, on=["customer_code", "fiscal_year"]))
    rows = {(r.date, r.customer_code, r.product_code): r.asDict() for r in measured.collect()}
    return dict(lines=lines, rates=rates, rows=rows, combined=combined, customers=customers, products=products,
                summary=summary)


def test_the_facts_summary_observed_on_the_combine(tiny):
    # Months in the facts: Aug, Sep, Oct 2020 (actuals) and Jan 2022 (a forecast only).
    summary = tiny["summary"]
    assert sorted(summary["months"]) == [D(2020, 8, 1), D(2020, 9, 1), D(2020, 10, 1), D(2022, 1, 1)]
    assert sorted(summary["months_with_actuals"]) == [D(2020, 8, 1), D(2020, 9, 1), D(2020, 10, 1)]
    assert summary["most_rows_per_key"] == 1


@pytest.mark.parametrize("start, years", [(9, [2020, 2021]), (1, [2020, 2020])])
def test_fact_months_carry_their_fiscal_year(spark, start, years):
    summary = {"months": [D(2020, 9, 1), D(2020, 8, 1)], "months_with_actuals": [D(2020, 8, 1)]}
    rows = tf.fact_months(spark, summary, start).collect()
    assert [(r.date, r.has_actuals, r.fiscal_year) for r in rows] == [
        (D(2020, 8, 1), True, years[0]), (D(2020, 9, 1), False, years[1])]


def test_fact_months_are_held_in_the_plan(spark):
    """Every broadcast of the transform reads the months: held in the plan, they
    need no Python worker processes to read (rows from Python would)."""
    summary = {"months": [D(2020, 9, 1)], "months_with_actuals": []}
    plan = tf.fact_months(spark, summary)._jdf.queryExecution().optimizedPlan().toString()
    assert "LocalRelation" in plan and "LogicalRDD" not in plan


def test_money_measures_follow_the_brief(tiny):
    aug = tiny["rows"][(D(2020, 8, 1), "C1", "P1")]
    # gross 10 x 15.5; pre 10%; post 5% + 1% of net invoice; freight 2% + 0.5% of net; cost 10 x 4
    expected = dict(fiscal_year=2020, gross_sales=155.0, pre_invoice_deduction=15.5, net_invoice_sales=139.5,
                    post_invoice_discount=6.975, post_invoice_other=1.395, net_sales=131.13,
                    freight_cost=2.6226, other_cost=0.65565, manufacturing_cost=40.0,
                    cogs=43.27825, gross_margin=87.85175)
    assert_measures(aug, expected)
    sep = tiny["rows"][(D(2020, 9, 1), "C1", "P1")]
    expected = dict(fiscal_year=2021, gross_sales=320.0, pre_invoice_deduction=64.0, net_invoice_sales=256.0,
                    post_invoice_discount=25.6, post_invoice_other=5.12, net_sales=225.28,
                    freight_cost=6.7584, other_cost=0.90112, manufacturing_cost=90.0,
                    cogs=97.65952, gross_margin=127.62048)
    assert_measures(sep, expected)


def test_missing_price_leaves_money_empty_but_counts_quantity(tiny):
    row = tiny["rows"][(D(2020, 9, 1), "C2", "P2")]
    assert row["sold_quantity"] == 3.0
    for name in ("gross_sales", "net_sales", "manufacturing_cost", "cogs", "gross_margin"):
        assert row[name] is None, name


def test_missing_deductions_and_freight_count_as_zero(tiny):
    # C2 (USA) has no pre-invoice row, no post-invoice row and no freight in FY2021
    row = tiny["rows"][(D(2020, 10, 1), "C2", "P1")]
    assert row["gross_sales"] == 0.0 and row["pre_invoice_deduction"] == 0.0
    assert row["net_sales"] == 0.0 and row["freight_cost"] == 0.0


def test_forecast_errors_at_the_key_grain(tiny):
    rows = tiny["rows"]
    assert rows[(D(2020, 8, 1), "C1", "P1")]["net_error"] == -10.0      # actuals without forecast
    assert rows[(D(2020, 9, 1), "C1", "P1")]["net_error"] == 5.0
    assert rows[(D(2020, 9, 1), "C2", "P2")]["abs_error"] == 2.0
    assert rows[(D(2020, 10, 1), "C1", "P1")]["net_error"] == 30.0      # forecast without actuals
    assert rows[(D(2020, 10, 1), "C1", "P1")]["sold_quantity"] is None
    future = rows[(D(2022, 1, 1), "C1", "P1")]
    assert future["has_actuals"] is False and future["net_error"] is None and future["abs_error"] is None
    assert future["forecast_quantity"] == 50.0


def test_accuracy_sums_abs_error_before_dividing(tiny):
    # FY2021 months with actuals: Sep and Oct 2020.
    # abs errors: |25-20| + |1-3| + |30-0| + |0-0| = 37; net: 5 - 2 + 30 + 0 = 33; forecast 25 + 1 + 30 = 56
    yearly = tf.customer_product_yearly(tiny["lines"], tiny["rates"], tiny["products"]) \
        .where("fiscal_year = 2021 AND has_actuals")
    total = yearly.agg(F.sum("abs_error").alias("a"), F.sum("forecast_quantity").alias("f"),
                       F.sum("net_error").alias("n")).first()
    assert (total.a, total.f, total.n) == (37.0, 56.0, 33.0)
    # The netted error would have given 33/56; the brief's accuracy is 1 - 37/56
    assert max(0.0, 1 - total.a / total.f) == pytest.approx(19 / 56)


def test_monthly_aggregate_carries_fiscal_calendar_and_sums(tiny):
    monthly = tf.customer_category_monthly(tiny["lines"], tiny["rates"]) \
        .where("customer_code = 'C1' AND category = 'Mouse'")
    rows = {r.month: r for r in monthly.collect()}
    assert rows[D(2020, 8, 1)].fiscal_year == 2020 and rows[D(2020, 8, 1)].fiscal_month == 12
    assert rows[D(2020, 9, 1)].fiscal_quarter == 1 and rows[D(2020, 9, 1)].fiscal_month == 1
    assert rows[D(2020, 9, 1)].net_sales == pytest.approx(225.28)
    assert rows[D(2020, 9, 1)].region == "APAC"
    assert rows[D(2022, 1, 1)].has_actuals is False


def test_aggregates_equal_the_sum_of_their_lines_measures(spark):
    # One customer (India, FY2021: pre-invoice 20%, freight 3%, other cost 0.4%) and
    # two Mouse products. P1 (price 16, cost 4.5) sells in September (post-invoice
    # 10% + 2%) and November (0% + 5%); P3 (price 10, cost 2) in September only,
    # without post-invoice deductions. The aggregates sum the lines' amounts and
    # apply the customer's rates once: they must equal the sums of the lines' measures.
    customers = frame(spark, "customer_code string, customer string, market string, sub_zone string, "
                             "region string, platform string, channel string",
                      [("C1", "Voltmart", "India", "India", "APAC", "E-Commerce", "Retailer")])
    products = frame(spark, "product_code string, division string, segment string, category string, "
                            "product string, variant string",
                     [("P1", "P & A", "Peripherals", "Mouse", "Glide", "Standard"),
                      ("P3", "P & A", "Peripherals", "Mouse", "Pebble", "Standard")])
    sales = frame(spark, "date date, customer_code string, product_code string, sold_quantity double",
                  [(D(2020, 9, 1), "C1", "P1", 20.0), (D(2020, 11, 1), "C1", "P1", 10.0),
                   (D(2020, 9, 1), "C1", "P3", 5.0)])
    post = frame(spark, "date date, customer_code string, product_code string, discounts_pct double, "
                        "other_deductions_pct double",
                 [(D(2020, 9, 1), "C1", "P1", 0.10, 0.02), (D(2020, 11, 1), "C1", "P1", 0.0, 0.05)])
    combined, summary = combine(sales, None, post)
    months = tf.fact_months(spark, summary)
    lines = tf.sales_lines(combined, months, products,
                           frame(spark, "product_code string, fiscal_year int, gross_price double",
                                 [("P1", 2021, 16.0), ("P3", 2021, 10.0)]),
                           frame(spark, "product_code string, cost_year int, manufacturing_cost double",
                                 [("P1", 2021, 4.5), ("P3", 2021, 2.0)]))
    rates = tf.customer_rates(customers, months,
                              frame(spark, "customer_code string, fiscal_year int, pre_invoice_discount_pct double",
                                    [("C1", 2021, 0.2)]),
                              frame(spark, "market string, fiscal_year int, freight_pct double, "
                                           "other_cost_pct double", [("India", 2021, 0.03, 0.004)]))
    # P1's year: September gross 320, pre 64, net invoice 256, post 25.6 + 5.12, net 225.28;
    # November gross 160, pre 32, net invoice 128, post 0 + 6.4, net 121.6.
    p1 = tf.customer_product_yearly(lines, rates, products).where("product_code = 'P1'").first()
    expected = dict(sold_quantity=30.0, gross_sales=480.0, pre_invoice_deduction=96.0, net_invoice_sales=384.0,
                    post_invoice_discount=25.6, post_invoice_other=11.52, net_sales=346.88,
                    freight_cost=10.4064, other_cost=1.38752, manufacturing_cost=135.0, cogs=146.79392,
                    gross_margin=200.08608, net_error=-30.0, abs_error=30.0)
    assert_measures(p1, expected)
    # September's Mouse category: P1's September line plus P3's (gross 50, pre 10, net 40).
    september = tf.customer_category_monthly(lines, rates).where("month = '2020-09-01'").first()
    expected = dict(sold_quantity=25.0, gross_sales=370.0, pre_invoice_deduction=74.0, net_invoice_sales=296.0,
                    post_invoice_discount=25.6, post_invoice_other=5.12, net_sales=265.28,
                    freight_cost=7.9584, other_cost=1.06112, manufacturing_cost=100.0, cogs=109.01952,
                    gross_margin=156.26048, net_error=-25.0, abs_error=25.0)
    assert_measures(september, expected)
    assert (september.customer, september.region, september.category) == ("Voltmart", "APAC", "Mouse")


def test_duplicate_fact_keys_are_quarantined(spark):
    sales = frame(spark, "date date, customer_code string, product_code string, sold_quantity double", [
        (D(2021, 1, 1), "C1", "P1", 5.0), (D(2021, 1, 1), "C1", "P1", 7.0), (D(2021, 2, 1), "C1", "P1", 1.0),
    ])
    combined, summary = combine(sales, None, None)
    assert summary["most_rows_per_key"] == 2
    # January's only actuals are the duplicated key's: the month has none left.
    assert summary["months_with_actuals"] == [D(2021, 2, 1)]
    rows = {r.date: r for r in combined.collect()}
    assert rows[D(2021, 1, 1)].sold_quantity is None and rows[D(2021, 1, 1)].n_sales == 2
    assert rows[D(2021, 2, 1)].sold_quantity == 1.0
    findings = tf.duplicate_keys(combined).collect()
    assert [(f.table_name, f.rule, f.offending_value) for f in findings] == [
        ("fact_sales_monthly", "unique_key", "2")]
    assert "date=2021-01-01" in findings[0].row_key


def test_missing_lookup_findings(tiny):
    yearly = tf.customer_product_yearly(tiny["lines"], tiny["rates"], tiny["products"])
    findings = tf.missing_lookups(yearly, {"gross_price", "manufacturing_cost", "pre_invoice_deductions",
                                                 "post_invoice_deductions", "freight_cost"})
    got = {(f.rule, f.severity, f.row_key) for f in findings.collect()}
    assert ("missing_gross_price", "error", "product_code=P2, fiscal_year=2021") in got
    assert ("missing_pre_invoice_deduction", "warning", "customer_code=C2, fiscal_year=2021") in got
    assert ("missing_freight_cost", "warning", "market=USA, fiscal_year=2021") in got
    assert ("missing_post_invoice_deduction", "warning",
            "customer_code=C2, product_code=P2, fiscal_year=2021") in got
    # P1 has prices in both years: no finding for it
    assert not any(f[0] == "missing_gross_price" and "P1" in f[2] for f in got)
