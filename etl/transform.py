"""Transform: the brief's measures, once, as pure functions of DataFrames.

No I/O happens here: every function takes DataFrames (and plain settings) and
returns DataFrames, so each is testable on a handful of hand-written rows.
"""
from __future__ import annotations

from functools import reduce

import pyarrow as pa

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from etl.schema import (  # noqa: F401  (re-exported for callers)
    CUSTOMER_ATTRIBUTES, FORECAST_MEASURES, MEASURES, PRODUCT_ATTRIBUTES, SALES_MEASURES,
)

CATEGORY_PATH = ("division", "segment", "category")


# --- the fiscal calendar ------------------------------------------------------

def _months_ahead(start_month: int) -> int:
    """Months to add to a date so that its calendar year is its fiscal year
    (a fiscal year is named for the calendar year in which it ends)."""
    return (13 - start_month) % 12


def fiscal_year(date: SparkColumn, start_month: int = 9) -> SparkColumn:
    """fiscal_year(date) = year(date + 4 months) for a September start."""
    return F.year(F.add_months(date, _months_ahead(start_month)))


def fiscal_month(date: SparkColumn, start_month: int = 9) -> SparkColumn:
    """1 for the fiscal year's first month (September) ... 12 for its last."""
    return (F.month(date) - start_month + 12) % 12 + 1


def fiscal_quarter(date: SparkColumn, start_month: int = 9) -> SparkColumn:
    """Q1 = Sep-Nov, Q2 = Dec-Feb, Q3 = Mar-May, Q4 = Jun-Aug (September start)."""
    return F.floor((fiscal_month(date, start_month) - 1) / 3).cast("int") + 1


def fiscal_year_bounds(years, start_month: int = 9) -> list[tuple]:
    """First and last month (as dates) of each fiscal year."""
    import datetime as dt

    bounds = []
    for year in years:
        first_year = year - 1 if start_month != 1 else year
        first = dt.date(first_year, start_month, 1)
        last_month = (start_month - 2) % 12 + 1
        last = dt.date(year, last_month, 1)
        bounds.append((first, last))
    return bounds


def in_fiscal_years(date: SparkColumn, years, start_month: int = 9) -> SparkColumn:
    """True for dates inside one of the fiscal years (a range filter Spark can push down)."""
    return reduce(lambda a, b: a | b, [date.between(f, l) for f, l in fiscal_year_bounds(years, start_month)])


# --- facts at their common grain ------------------------------------------------

KEY = ("date", "customer_code", "product_code")


def combine_facts(sales: DataFrame, forecasts: DataFrame | None, post_invoice: DataFrame | None) -> DataFrame:
    """One row per (date, customer_code, product_code) holding actuals, forecast
    and post-invoice rates: the full outer join of the brief, done as one
    union-and-aggregate (a single shuffle instead of three joins).

    n_sales / n_forecasts / n_post_invoice count the source rows at the key;
    more than one is a duplicate key (rule 1): that part of the row is left
    out here and reported by `duplicate_keys`.
    """
    none = F.lit(None).cast("double")
    parts = [sales.select(*KEY, F.col("sold_quantity").cast("double").alias("sold_quantity"),
                          none.alias("forecast_quantity"), none.alias("discounts_pct"),
                          none.alias("other_deductions_pct"), F.lit(1).alias("n_sales"),
                          F.lit(0).alias("n_forecasts"), F.lit(0).alias("n_post_invoice"))]
    if forecasts is not None:
        parts.append(forecasts.select(*KEY, none.alias("sold_quantity"),
                                      F.col("forecast_quantity").cast("double").alias("forecast_quantity"),
                                      none.alias("discounts_pct"), none.alias("other_deductions_pct"),
                                      F.lit(0).alias("n_sales"), F.lit(1).alias("n_forecasts"),
                                      F.lit(0).alias("n_post_invoice")))
    if post_invoice is not None:
        parts.append(post_invoice.select(*KEY, none.alias("sold_quantity"), none.alias("forecast_quantity"),
                                         "discounts_pct", "other_deductions_pct", F.lit(0).alias("n_sales"),
                                         F.lit(0).alias("n_forecasts"), F.lit(1).alias("n_post_invoice")))
    # Hash-partitioned by customer alone: that also places every row of a later
    # aggregate whose key holds customer_code (the yearly and monthly tables), so
    # those need no shuffle of their own; and no useless partial aggregation runs
    # before this shuffle (a key rarely repeats inside one input file).
    combined = reduce(DataFrame.unionByName, parts).repartition("customer_code").groupBy(*KEY).agg(
        F.sum("sold_quantity").alias("sold_quantity"),
        F.sum("forecast_quantity").alias("forecast_quantity"),
        F.max("discounts_pct").alias("discounts_pct"),
        F.max("other_deductions_pct").alias("other_deductions_pct"),
        F.sum("n_sales").alias("n_sales"),
        F.sum("n_forecasts").alias("n_forecasts"),
        F.sum("n_post_invoice").alias("n_post_invoice"),
    )
    return combined.select(
        *KEY,
        F.when(F.col("n_sales") == 1, F.col("sold_quantity")).alias("sold_quantity"),
        F.when(F.col("n_forecasts") == 1, F.col("forecast_quantity")).alias("forecast_quantity"),
        F.when(F.col("n_post_invoice") == 1, F.col("discounts_pct")).alias("discounts_pct"),
        F.when(F.col("n_post_invoice") == 1, F.col("other_deductions_pct")).alias("other_deductions_pct"),
        "n_sales", "n_forecasts", "n_post_invoice",
    )


def fact_summary() -> list[SparkColumn]:
    """Aggregates over the combined facts, for `DataFrame.observe` while they are
    first computed (so they need no pass of their own): the months present, the
    months with any actuals, and the most source rows one key has in a table
    (above 1: there are duplicate keys to report)."""
    return [
        F.collect_set("date").alias("months"),
        F.collect_set(F.when(F.col("sold_quantity").isNotNull(), F.col("date"))).alias("months_with_actuals"),
        F.max(F.greatest("n_sales", "n_forecasts", "n_post_invoice")).alias("most_rows_per_key"),
    ]


def fact_months(spark, summary: dict, start_month: int = 9) -> DataFrame:
    """Each month of the facts, its fiscal year and whether it has any actuals,
    from the observed `fact_summary` (a few hundred rows, held on the driver)."""
    with_actuals = set(summary["months_with_actuals"])
    months = sorted(summary["months"])
    # From an Arrow table Spark keeps the rows in the plan itself (a LocalRelation);
    # from Python rows it makes an RDD that Python worker processes unpickle each
    # time the frame is read, as every broadcast of the transform reads it.
    table = pa.table({"date": pa.array(months, pa.date32()),
                      "has_actuals": pa.array([m in with_actuals for m in months], pa.bool_())})
    return spark.createDataFrame(table).withColumn("fiscal_year", fiscal_year(F.col("date"), start_month))


def duplicate_keys(combined: DataFrame) -> DataFrame:
    """Rule 1 on the large facts: keys that appear more than once in a table."""
    parts = []
    for table, count in (("fact_sales_monthly", "n_sales"), ("fact_forecast_monthly", "n_forecasts"),
                         ("post_invoice_deductions", "n_post_invoice")):
        parts.append(combined.where(F.col(count) > 1).select(
            F.lit(table).alias("table_name"), F.lit(None).cast("string").alias("source_file"),
            F.lit("unique_key").alias("rule"), F.lit("rejected").alias("severity"),
            F.concat_ws(", ", *[F.concat(F.lit(f"{k}="), F.col(k).cast("string")) for k in KEY]).alias("row_key"),
            F.lit("date").alias("column_name"), F.col(count).cast("string").alias("offending_value"),
            F.concat(F.lit("rule 1: the key appears "), F.col(count).cast("string"),
                     F.lit(" times; all its rows are quarantined")).alias("message"),
        ))
    return reduce(DataFrame.unionByName, parts)


# --- the measures ---------------------------------------------------------------

def _lookup(frame: DataFrame | None, columns: dict[str, str]) -> DataFrame | None:
    """A small lookup table with its columns renamed to the names the fact rows use."""
    if frame is None:
        return None
    return frame.select(*[F.col(src).alias(dst) for src, dst in columns.items()])


# What a line contributes before the customer's rates are applied. Every rate a
# customer has (pre-invoice discount, its market's freight and other cost) is
# the same for all of a customer's lines in a fiscal year, so the aggregates sum
# these amounts and apply the customer's rates once per summed row
# (`with_measures`) instead of once per line.
LINE_AMOUNTS = ("sold_quantity", "forecast_quantity", "gross_sales", "post_invoice_discount_on_gross",
                "post_invoice_other_on_gross", "manufacturing_cost", "net_error", "abs_error")


def sales_lines(combined: DataFrame, months: DataFrame, products: DataFrame, gross_price: DataFrame,
                manufacturing_cost: DataFrame | None) -> DataFrame:
    """The facts at the (month, customer, product) grain with their fiscal year,
    whether the month has actuals, the product's category path and the line's
    `LINE_AMOUNTS`.

    A missing post-invoice deduction or manufacturing cost counts as 0 (its rate
    column stays NULL, for `missing_lookups`); a missing gross price leaves the
    money amounts empty while the quantity still counts.
    """
    # `months` (see `fact_months`): each month, its fiscal year and whether it has any actuals.
    # Price and cost are looked up per (product, fiscal year) in one small table
    # joined beforehand, so each of the millions of lines probes one hash table.
    product_rates = products.select("product_code", *CATEGORY_PATH).crossJoin(months.select("fiscal_year").distinct())
    for frame in (_lookup(gross_price, {"product_code": "product_code", "fiscal_year": "fiscal_year",
                                        "gross_price": "gross_price"}),
                  _lookup(manufacturing_cost, {"product_code": "product_code", "cost_year": "fiscal_year",
                                               "manufacturing_cost": "unit_manufacturing_cost"})):
        if frame is not None:
            product_rates = product_rates.join(F.broadcast(frame), on=["product_code", "fiscal_year"], how="left")
    lines = (
        combined.where(F.col("sold_quantity").isNotNull() | F.col("forecast_quantity").isNotNull())
        .join(F.broadcast(months), on="date", how="inner")
        .join(F.broadcast(product_rates), on=["product_code", "fiscal_year"], how="inner")
    )
    sold = F.col("sold_quantity")
    gross_sales = sold * F.col("gross_price")
    forecast = F.coalesce(F.col("forecast_quantity"), F.lit(0.0))
    error = F.when(F.col("has_actuals"), forecast - F.coalesce(sold, F.lit(0.0)))
    return lines.select(
        "*",
        gross_sales.alias("gross_sales"),
        (gross_sales * _rate(lines, "discounts_pct")).alias("post_invoice_discount_on_gross"),
        (gross_sales * _rate(lines, "other_deductions_pct")).alias("post_invoice_other_on_gross"),
        F.when(F.col("gross_price").isNotNull(), sold * _rate(lines, "unit_manufacturing_cost"))
        .alias("manufacturing_cost"),
        error.alias("net_error"),
        F.abs(error).alias("abs_error"),
    )


def customer_rates(customers: DataFrame, months: DataFrame, pre_invoice: DataFrame | None,
                   freight: DataFrame | None) -> DataFrame:
    """Each customer's attributes and rates in each fiscal year of the facts:
    pre-invoice discount, and its market's freight and other cost (NULL when
    missing: counted as 0, reported by `missing_lookups`)."""
    rates = customers.select(*CUSTOMER_ATTRIBUTES).crossJoin(months.select("fiscal_year").distinct())
    for frame, keys in ((_lookup(pre_invoice, {"customer_code": "customer_code", "fiscal_year": "fiscal_year",
                                               "pre_invoice_discount_pct": "pre_invoice_discount_pct"}),
                         ["customer_code", "fiscal_year"]),
                        (_lookup(freight, {"market": "market", "fiscal_year": "fiscal_year",
                                           "freight_pct": "freight_pct", "other_cost_pct": "other_cost_pct"}),
                         ["market", "fiscal_year"])):
        if frame is not None:
            rates = rates.join(F.broadcast(frame), on=keys, how="left")
    return rates


def _rate(frame: DataFrame, name: str) -> SparkColumn:
    return F.coalesce(F.col(name), F.lit(0.0)) if name in frame.columns else F.lit(0.0)


def with_measures(amounts: DataFrame) -> DataFrame:
    """The brief's measures from `LINE_AMOUNTS` (of one line, or summed over
    lines of one customer and fiscal year) and that customer's rates."""
    pre_rate = _rate(amounts, "pre_invoice_discount_pct")
    gross_sales = F.col("gross_sales")
    pre = gross_sales * pre_rate
    net_invoice = gross_sales - pre
    # Post-invoice deductions are taken on net invoice sales: gross x (1 - pre rate).
    post_discount = F.col("post_invoice_discount_on_gross") * (1 - pre_rate)
    post_other = F.col("post_invoice_other_on_gross") * (1 - pre_rate)
    net_sales = net_invoice - post_discount - post_other
    freight = net_sales * _rate(amounts, "freight_pct")
    other = net_sales * _rate(amounts, "other_cost_pct")
    cogs = F.col("manufacturing_cost") + freight + other
    return amounts.select(
        *[c for c in amounts.columns if c not in MEASURES],
        "sold_quantity", "gross_sales",
        pre.alias("pre_invoice_deduction"),
        net_invoice.alias("net_invoice_sales"),
        post_discount.alias("post_invoice_discount"),
        post_other.alias("post_invoice_other"),
        net_sales.alias("net_sales"),
        freight.alias("freight_cost"),
        other.alias("other_cost"),
        "manufacturing_cost",
        cogs.alias("cogs"),
        (net_sales - cogs).alias("gross_margin"),
        "forecast_quantity", "net_error", "abs_error",
    )


def _summed(lines: DataFrame, grain: list[str], rates: DataFrame, *extra: SparkColumn) -> DataFrame:
    """The line amounts summed at `grain` (which holds customer_code and
    fiscal_year), with the customer's attributes and the brief's measures."""
    return with_measures(
        lines.groupBy(*grain).agg(*[F.sum(a).alias(a) for a in LINE_AMOUNTS], *extra)
        .join(F.broadcast(rates), on=["customer_code", "fiscal_year"]))


def customer_category_monthly(lines: DataFrame, rates: DataFrame, start_month: int = 9) -> DataFrame:
    """Grain: month x customer x category (with the month's fiscal year, quarter
    and position in the fiscal year)."""
    return _summed(lines, ["fiscal_year", "date", "has_actuals", "customer_code", *CATEGORY_PATH], rates).select(
        "fiscal_year",
        fiscal_quarter(F.col("date"), start_month).alias("fiscal_quarter"),
        fiscal_month(F.col("date"), start_month).alias("fiscal_month"),
        F.col("date").alias("month"), "has_actuals",
        *CUSTOMER_ATTRIBUTES, "division", "segment", "category", *MEASURES,
    )


# The lookups of the brief's measures, and what their absence means: a missing
# price leaves money empty (an error); the rest count as 0 (a warning).
# finding, lookup table, the rate's column (on a line or in customer_rates), the lookup's key,
# severity, text
LOOKUPS = (
    ("missing_gross_price", "gross_price", "gross_price", ("product_code", "fiscal_year"), "error",
     "no gross price for the product and fiscal year: money measures left empty"),
    ("missing_manufacturing_cost", "manufacturing_cost", "unit_manufacturing_cost", ("product_code", "fiscal_year"),
     "warning", "no manufacturing cost for the product and year: counted as 0"),
    ("missing_pre_invoice_deduction", "pre_invoice_deductions", "pre_invoice_discount_pct",
     ("customer_code", "fiscal_year"), "warning", "no pre-invoice discount for the customer and fiscal year: counted as 0"),
    ("missing_post_invoice_deduction", "post_invoice_deductions", "discounts_pct",
     ("customer_code", "product_code", "fiscal_year"), "warning",
     "no post-invoice deductions for the customer, product and month: counted as 0"),
    ("missing_freight_cost", "freight_cost", "freight_pct", ("market", "fiscal_year"), "warning",
     "no freight or other cost for the market and fiscal year: counted as 0"),
)


def customer_product_yearly(lines: DataFrame, rates: DataFrame, products: DataFrame) -> DataFrame:
    """Grain: fiscal year x customer x product x has_actuals (a fiscal year that
    is still running has months with and without actuals).

    Also counts, in `_missing_*` columns, the rows with actuals whose lookups
    found nothing; `missing_lookups` reports them, and they are not loaded.
    """
    with_actuals = F.col("sold_quantity").isNotNull()
    # A product's or a line's lookup is counted line by line; a customer's (the
    # same for all its lines of the year) once its lines are summed.
    per_line = {f"_{finding}": F.sum(F.when(with_actuals & F.col(column).isNull(), 1).otherwise(0))
                for finding, _, column, *_ in LOOKUPS if column in lines.columns}
    summed = _summed(lines, ["fiscal_year", "has_actuals", "customer_code", "product_code"], rates,
                     F.sum(F.when(with_actuals, 1).otherwise(0)).alias("_sales_rows"),
                     *[count.alias(name) for name, count in per_line.items()])
    per_customer = [F.when(F.col(column).isNull(), F.col("_sales_rows")).otherwise(0).alias(f"_{finding}")
                    for finding, _, column, *_ in LOOKUPS if column in rates.columns]
    return summed.join(F.broadcast(products.select(*PRODUCT_ATTRIBUTES)), on="product_code") \
        .select("fiscal_year", "has_actuals", *CUSTOMER_ATTRIBUTES, *PRODUCT_ATTRIBUTES, *MEASURES,
                *per_line, *per_customer)


def customer_category_yearly(yearly: DataFrame) -> DataFrame:
    """The yearly aggregate rolled up over products. Grain: fiscal year x
    customer x category x has_actuals, about 20x fewer rows. It keeps the
    yearly table's columns (the product ones empty), so a question with no
    product in it reads this table with the same SQL."""
    category = ("division", "segment", "category")
    sums = [F.sum(m).alias(m) for m in MEASURES]
    rolled = yearly.groupBy("fiscal_year", "has_actuals", *CUSTOMER_ATTRIBUTES, *category).agg(*sums)
    product_columns = [F.col(c) if c in category else F.lit(None).cast("string").alias(c) for c in PRODUCT_ATTRIBUTES]
    return rolled.select("fiscal_year", "has_actuals", *CUSTOMER_ATTRIBUTES, *product_columns, *MEASURES)


def product_price_cost_yearly(gross_price: DataFrame, manufacturing_cost: DataFrame | None,
                              products: DataFrame) -> DataFrame:
    """Grain: fiscal year x product: list price and unit manufacturing cost."""
    prices = gross_price.select("product_code", "fiscal_year", "gross_price")
    if manufacturing_cost is not None:
        costs = manufacturing_cost.select("product_code", F.col("cost_year").alias("fiscal_year"),
                                          F.col("manufacturing_cost").alias("unit_manufacturing_cost"))
        prices = prices.join(costs, on=["product_code", "fiscal_year"], how="full")
    else:
        prices = prices.withColumn("unit_manufacturing_cost", F.lit(None).cast("double"))
    return prices.join(F.broadcast(products.select(*PRODUCT_ATTRIBUTES)), on="product_code", how="inner") \
        .select("fiscal_year", *PRODUCT_ATTRIBUTES, "gross_price", "unit_manufacturing_cost")


def customer_deduction_rates_yearly(pre_invoice: DataFrame, customers: DataFrame) -> DataFrame:
    """Grain: fiscal year x customer: the pre-invoice discount rate."""
    return pre_invoice.join(F.broadcast(customers.select(*CUSTOMER_ATTRIBUTES)), on="customer_code") \
        .select("fiscal_year", *CUSTOMER_ATTRIBUTES, "pre_invoice_discount_pct")


def market_cost_rates_yearly(freight: DataFrame, markets: DataFrame) -> DataFrame:
    """Grain: fiscal year x market: freight and other cost rates."""
    return freight.join(F.broadcast(markets), on="market") \
        .select("fiscal_year", "market", "sub_zone", "region", "freight_pct", "other_cost_pct")


def missing_lookups(yearly: DataFrame, available: set[str]) -> DataFrame | None:
    """One finding per missing lookup key among rows with actuals (brief:
    missing price = error, missing deduction, freight or cost = warning),
    from the `_missing_*` counts of `customer_product_yearly`.

    `available` names the lookup tables the source had; a table that is absent
    altogether is reported once by the pipeline, not per row.
    """
    parts = []
    for finding, table, column, keys, severity, text in LOOKUPS:
        count = f"_{finding}"
        if table not in available or count not in yearly.columns:
            continue
        parts.append(yearly.where(F.col(count) > 0).groupBy(*keys).agg(F.sum(count).alias("rows")).select(
            F.lit(table).alias("table_name"), F.lit(None).cast("string").alias("source_file"),
            F.lit(finding).alias("rule"), F.lit(severity).alias("severity"),
            F.concat_ws(", ", *[F.concat(F.lit(f"{k}="), F.col(k).cast("string")) for k in keys]).alias("row_key"),
            F.lit(column).alias("column_name"), F.lit(None).cast("string").alias("offending_value"),
            F.concat(F.lit(f"{text} ("), F.col("rows").cast("string"), F.lit(" sales rows)")).alias("message"),
        ))
    return reduce(DataFrame.unionByName, parts) if parts else None
