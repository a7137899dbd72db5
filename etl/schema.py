"""The source schema: the AtliQ Hardware tables in their two published layouts.

One `TableSpec` per source table names its key, its columns and what kind of
value each column holds; extract, validate and the generator all read it, so
the schema is written down once.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Column kinds decide how validate parses and checks a raw value.
CODE = "code"  # identifier kept as a string (customer_code, product_code, market)
TEXT = "text"  # descriptive string (customer name, category, ...)
MONTH = "month"  # first day of a month, yyyy-mm-dd
YEAR = "year"  # four-digit fiscal year
QUANTITY = "quantity"  # non-negative number of units
AMOUNT = "amount"  # non-negative money per unit (price, cost)
PERCENT = "percent"  # share in [0, 1)

PLATFORMS = ("Brick & Mortar", "E-Commerce")
CHANNELS = ("Retailer", "Direct", "Distributor")
UNASSIGNED = "Unassigned"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = True


@dataclass(frozen=True)
class TableSpec:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    required: bool = True
    # Names the table may have on disk besides `name` (the ad-hoc layout's
    # fact_ prefixes, or the full layout's facts without it).
    aliases: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def file_names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def _cols(*spec: tuple[str, str] | tuple[str, str, bool]) -> tuple[Column, ...]:
    return tuple(Column(*s) for s in spec)


TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec(
            "dim_customer",
            key=("customer_code",),
            columns=_cols(
                ("customer_code", CODE),
                ("customer", TEXT),
                ("market", CODE),
                ("platform", TEXT),
                ("channel", TEXT),
                # The ad-hoc layout carries geography on the customer instead
                # of in dim_market.
                ("sub_zone", TEXT, False),
                ("region", TEXT, False),
            ),
        ),
        TableSpec(
            "dim_market",
            key=("market",),
            columns=_cols(("market", CODE), ("sub_zone", TEXT, False), ("region", TEXT, False)),
            required=False,
        ),
        TableSpec(
            "dim_product",
            key=("product_code",),
            columns=_cols(
                ("product_code", CODE),
                ("division", TEXT),
                ("segment", TEXT),
                ("category", TEXT),
                ("product", TEXT),
                ("variant", TEXT),
            ),
        ),
        TableSpec(
            "fact_sales_monthly",
            key=("date", "product_code", "customer_code"),
            columns=_cols(
                ("date", MONTH),
                ("product_code", CODE),
                ("customer_code", CODE),
                ("sold_quantity", QUANTITY),
                # Only the ad-hoc layout has it; when present it must agree
                # with the date (rule 5).
                ("fiscal_year", YEAR, False),
            ),
            aliases=("sales_monthly",),
        ),
        TableSpec(
            "fact_forecast_monthly",
            key=("date", "product_code", "customer_code"),
            columns=_cols(
                ("date", MONTH),
                ("product_code", CODE),
                ("customer_code", CODE),
                ("forecast_quantity", QUANTITY),
            ),
            required=False,
            aliases=("forecast_monthly",),
        ),
        TableSpec(
            "gross_price",
            key=("product_code", "fiscal_year"),
            columns=_cols(("product_code", CODE), ("fiscal_year", YEAR), ("gross_price", AMOUNT)),
            aliases=("fact_gross_price",),
        ),
        TableSpec(
            "manufacturing_cost",
            key=("product_code", "cost_year"),
            columns=_cols(
                ("product_code", CODE), ("cost_year", YEAR), ("manufacturing_cost", AMOUNT)
            ),
            aliases=("fact_manufacturing_cost",),
        ),
        TableSpec(
            "pre_invoice_deductions",
            key=("customer_code", "fiscal_year"),
            columns=_cols(
                ("customer_code", CODE),
                ("fiscal_year", YEAR),
                ("pre_invoice_discount_pct", PERCENT),
            ),
            aliases=("fact_pre_invoice_deductions",),
        ),
        TableSpec(
            "post_invoice_deductions",
            key=("customer_code", "product_code", "date"),
            columns=_cols(
                ("customer_code", CODE),
                ("product_code", CODE),
                ("date", MONTH),
                ("discounts_pct", PERCENT),
                ("other_deductions_pct", PERCENT),
            ),
            required=False,
            aliases=("fact_post_invoice_deductions",),
        ),
        TableSpec(
            "freight_cost",
            key=("market", "fiscal_year"),
            columns=_cols(
                ("market", CODE),
                ("fiscal_year", YEAR),
                ("freight_pct", PERCENT),
                ("other_cost_pct", PERCENT),
            ),
            required=False,
            aliases=("fact_freight_cost",),
        ),
    )
}

# The three large fact tables; everything else is small enough to broadcast.
FACT_TABLES = ("fact_sales_monthly", "fact_forecast_monthly", "post_invoice_deductions")

# Tables each layout publishes (the generator writes these file names).
FULL_LAYOUT = tuple(TABLES)
ADHOC_LAYOUT = (
    "dim_customer",
    "dim_product",
    "fact_sales_monthly",
    "fact_gross_price",
    "fact_manufacturing_cost",
    "fact_pre_invoice_deductions",
)


def spec_for_file_name(stem: str) -> TableSpec | None:
    """The spec a file or folder name (without extension) stands for."""
    stem = stem.strip().lower()
    for spec in TABLES.values():
        if stem in spec.file_names:
            return spec
    return None


# --- what the warehouse holds ---------------------------------------------------

CUSTOMER_ATTRIBUTES = ("customer_code", "customer", "market", "sub_zone", "region", "platform", "channel")
PRODUCT_ATTRIBUTES = ("product_code", "division", "segment", "category", "product", "variant")
# Summed measures, in P&L order; every aggregate table carries all of them.
SALES_MEASURES = (
    "sold_quantity", "gross_sales", "pre_invoice_deduction", "net_invoice_sales",
    "post_invoice_discount", "post_invoice_other", "net_sales",
    "freight_cost", "other_cost", "manufacturing_cost", "cogs", "gross_margin",
)
FORECAST_MEASURES = ("forecast_quantity", "net_error", "abs_error")
MEASURES = SALES_MEASURES + FORECAST_MEASURES
# Aggregate and dimension tables a refresh loads, in load order.
OUTPUT_TABLES = (
    "dim_customer", "dim_product", "dim_market",
    "agg_customer_category_monthly", "agg_customer_product_yearly", "agg_customer_category_yearly",
    "product_price_cost_yearly", "customer_deduction_rates_yearly", "market_cost_rates_yearly",
)
