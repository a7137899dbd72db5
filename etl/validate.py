"""Validate: the brief's nine business rules as named checks.

Each source row is parsed into typed columns and checked; the first rule it
breaks is recorded with the offending column and value, and the row is
quarantined (it goes to `dq_issues`, never to a measure). Dimension problems
that have a safe reading (a market without a region) are warnings that map to
an explicit "Unassigned" member instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from etl.config import Settings
from etl.schema import (
    AMOUNT, CHANNELS, CODE, MONTH, PERCENT, PLATFORMS, QUANTITY, TABLES, TEXT, UNASSIGNED, YEAR,
    TableSpec,
)
from etl.transform import fiscal_year

# rule name -> (number in the brief, what it checks)
RULES: dict[str, tuple[int, str]] = {
    "unique_key": (1, "each customer, product and lookup key appears once"),
    "valid_date": (2, "a date parses as yyyy-mm-dd, is the first of a month and lies in the plausible range"),
    "value_range": (3, "quantities, prices and percentages are not negative; percentages are below 1"),
    "known_reference": (4, "every customer, product and market a row names exists in its dimension"),
    "fiscal_year_format": (5, "a fiscal year is a four-digit year and agrees with the row's date"),
    "numeric_value": (6, "a number is a plain decimal (no decimal comma, no text), kept at full precision"),
    "required_value": (7, "every essential column is present and non-empty"),
    "known_category": (8, "platform and channel come from the known sets"),
    "geography_mapping": (9, "every customer maps to a market and every market to a region"),
}

DQ_COLUMNS = (
    "table_name", "source_file", "rule", "severity", "row_key", "column_name", "offending_value", "message",
)

_FOUR_DIGITS = r"^[0-9]{4}$"
# A plain decimal is what Spark's cast to double accepts, written with these
# characters only: that rules out exponents, NaN, Infinity, hex and d/f suffixes.
_DECIMAL_CHARACTERS = "0123456789.+-"
_NUMERIC_TYPES = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType, T.DecimalType)


class RejectLimitExceeded(Exception):
    """More of a table was rejected than the configured share allows."""


@dataclass
class Validated:
    """Clean, typed tables plus every finding, ready for the transform."""

    tables: dict[str, DataFrame]
    findings: DataFrame  # DQ_COLUMNS


# The checks are written as Spark SQL text, an expression per column and one
# for a row's verdict: built from PySpark's column functions they took some
# 2,400 calls into the JVM per table, seconds of every refresh before its first
# row is read (docs/performance.md). Only column names of etl/schema.py, rule
# names, the fixed sets of rule 8 and the configured dates go into the text;
# no value of the data does (rule 4's known codes reach the JVM as a list).

def _name(column: str) -> str:
    """A column name quoted for Spark SQL."""
    return "`" + column.replace("`", "``") + "`"


def _string(value: str) -> str:
    """A string literal for Spark SQL."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _text(raw: str) -> str:
    """A trimmed string, NULL when empty."""
    return f"nullif(trim(CAST({raw} AS STRING)), '')"


def _presence(column: str, kind: str, dtype: T.DataType) -> str:
    """What the checks read of a raw value before parsing it: its trimmed text, or,
    for a typed (Parquet) date or number, the value itself. Only whether it is
    NULL matters then, and turning millions of numbers into text to find out
    was two thirds of the cost of checking a Parquet fact table."""
    return _name(column) if _typed(kind, dtype) else _text(_name(column))


def _typed(kind: str, dtype: T.DataType) -> bool:
    """The source already holds this kind of value typed: read it, don't parse text."""
    if kind == MONTH:
        return isinstance(dtype, (T.DateType, T.TimestampType, T.TimestampNTZType))
    if kind == YEAR:
        return isinstance(dtype, (T.IntegerType, T.LongType, T.ShortType))
    return kind in (QUANTITY, AMOUNT, PERCENT) and isinstance(dtype, _NUMERIC_TYPES)


# Parsing is most of the cost of checking the large facts, so these two use
# character tests and Spark's own casts instead of a regular expression and a
# date formatter: the same verdicts, at a third of the cost per value.

def iso_date(text: str) -> str:
    """yyyy-mm-dd as a date, else NULL: ten characters with dashes at the 5th and
    8th, which the cast to date then reads only if they are a real calendar day."""
    return (f"CASE WHEN length({text}) = 10 AND substring({text}, 5, 1) = '-' AND substring({text}, 8, 1) = '-' "
            f"THEN CAST({text} AS DATE) END")


def plain_decimal(text: str) -> str:
    """A plain decimal (`12`, `-0.5`, `.5`, `3.`) as a double, else NULL."""
    return f"CASE WHEN translate({text}, {_string(_DECIMAL_CHARACTERS)}, '') = '' THEN CAST({text} AS DOUBLE) END"


def _parse(column: str, text: str, kind: str, dtype: T.DataType) -> str:
    """The typed value of a raw column (`text` is its trimmed string, NULL when empty)."""
    if kind in (CODE, TEXT):
        return text
    raw = _name(column)
    typed = _typed(kind, dtype)
    if kind == MONTH:
        return f"to_date({raw})" if typed else iso_date(text)
    if kind == YEAR:
        return f"CAST({raw} AS INT)" if typed \
            else f"CASE WHEN {text} RLIKE {_string(_FOUR_DIGITS)} THEN CAST({text} AS INT) END"
    if kind in (QUANTITY, AMOUNT, PERCENT):
        return f"CASE WHEN NOT isnan(CAST({raw} AS DOUBLE)) THEN CAST({raw} AS DOUBLE) END" if typed \
            else plain_decimal(text)
    raise ValueError(f"unknown column kind {kind}")


def parse_value(column: str, kind: str, dtype: T.DataType) -> SparkColumn:
    """The typed value of a raw column of this kind, NULL when it does not parse."""
    return F.expr(_parse(column, _presence(column, kind, dtype), kind, dtype))


def _checks(spec: TableSpec, settings: Settings) -> list[tuple[str, str, str]]:
    """(rule, column, failing condition) in the order they are tried, on the
    columns `_s_<name>` (trimmed text) and `_t_<name>` (typed value)."""
    earliest, latest = settings.earliest_date, settings.latest_date
    checks: list[tuple[str, str, str]] = []
    for col in spec.columns:
        if col.required:
            checks.append(("required_value", col.name, f"{_name('_s_' + col.name)} IS NULL"))
    for col in spec.columns:
        text, parsed = _name("_s_" + col.name), _name("_t_" + col.name)
        unparsed = f"{text} IS NOT NULL AND {parsed} IS NULL"
        if col.kind == MONTH:
            checks += [
                ("valid_date", col.name, unparsed),
                ("valid_date", col.name, f"dayofmonth({parsed}) != 1"),
                ("valid_date", col.name,
                 f"{parsed} < DATE '{earliest.isoformat()}' OR {parsed} > DATE '{latest.isoformat()}'"),
            ]
        elif col.kind == YEAR:
            checks += [
                ("fiscal_year_format", col.name, unparsed),
                ("fiscal_year_format", col.name, f"{parsed} < {earliest.year:d} OR {parsed} > {latest.year + 1:d}"),
            ]
        elif col.kind in (QUANTITY, AMOUNT, PERCENT):
            checks.append(("numeric_value", col.name, unparsed))
            checks.append(("value_range", col.name, f"{parsed} < 0"))
            if col.kind == PERCENT:
                checks.append(("value_range", col.name, f"{parsed} >= 1"))
    if spec.name == "dim_customer":
        for column, known in (("platform", PLATFORMS), ("channel", CHANNELS)):
            checks.append(("known_category", column,
                           f"NOT {_name('_t_' + column)} IN ({', '.join(map(_string, known))})"))
    if spec.name == "fact_sales_monthly":
        # The ad-hoc layout repeats the fiscal year on each row: it must agree
        # (`_date_fiscal_year`: see check_table).
        checks.append(("fiscal_year_format", "fiscal_year",
                       "_t_fiscal_year IS NOT NULL AND _t_fiscal_year != _date_fiscal_year"))
    return checks


def _row_key(spec: TableSpec) -> SparkColumn:
    return F.concat_ws(", ", *[
        F.concat(F.lit(f"{k}="), F.coalesce(F.col(k).cast("string"), F.lit(""))) for k in spec.key
    ])


class KnownCodes:
    """The codes a dimension lists, for rule 4's membership test (a hash set:
    they are hundreds to thousands, so it beats a join). PySpark hands a Python
    list to the JVM one element per call, so the JVM's copy is made once, for
    every table that checks the column (2,090 customer codes at scale 10, in
    four tables)."""

    def __init__(self, codes):
        self.codes = list(codes)
        self._in_jvm = None

    def contain(self, column: SparkColumn) -> SparkColumn:
        """column IN (codes), in one call to the JVM (PySpark's `isin` makes one per value)."""
        try:
            from pyspark import SparkContext
            from pyspark.sql.classic.column import Column as ClassicColumn

            if self._in_jvm is None:
                self._in_jvm = SparkContext._active_spark_context._jvm.PythonUtils.toSeq(self.codes)
            return ClassicColumn(column._jc.isin(self._in_jvm))
        except (ImportError, AttributeError):  # Spark Connect: no JVM in this process
            return column.isin(self.codes)


def check_table(df: DataFrame, spec: TableSpec, settings: Settings,
                references: dict[str, KnownCodes]) -> DataFrame:
    """Typed columns plus `_rule`, `_column`, `_value`: the first rule the row
    breaks, in which column, with what raw value (all NULL when it passes).

    `references` maps a code column (customer_code, product_code, market) to
    the known values of its dimension, for rule 4.
    """
    names = spec.column_names
    dtypes = {f.name: f.dataType for f in df.schema.fields}
    # Three plain projections (trimmed text, typed value, verdict) so that each
    # parse runs once per row and the generated code stays small enough for the
    # JIT to compile: one big inlined expression ran 5x slower here.
    texts = df.selectExpr("*", *[f"{_presence(c.name, c.kind, dtypes[c.name])} AS {_name('_s_' + c.name)}"
                                 for c in spec.columns])
    typed = texts.selectExpr("*", *[
        f"{_parse(c.name, _name('_s_' + c.name), c.kind, dtypes[c.name])} AS {_name('_t_' + c.name)}"
        for c in spec.columns])
    checks = _checks(spec, settings)
    # Two tests are columns of their own, built once per table: rule 4's (the
    # codes must not go into SQL text) and the date's fiscal year (one definition,
    # etl/transform.py).
    known = {column: codes for column, codes in references.items() if column in names}
    extra = [codes.contain(F.col(_name("_t_" + column))).alias(f"_known_{column}") for column, codes in known.items()]
    checks += [("known_reference", column, f"{_name('_t_' + column)} IS NOT NULL AND NOT {_name('_known_' + column)}")
               for column in known]
    if spec.name == "fact_sales_monthly":
        extra.append(fiscal_year(F.col("_t_date"), settings.fiscal_start_month).alias("_date_fiscal_year"))
    if extra:
        typed = typed.select("*", *extra)
    failure = "CASE " + " ".join(
        f"WHEN {condition} THEN named_struct('rule', {_string(rule)}, 'column', {_string(column)}, "
        f"'value', CAST({_name(column)} AS STRING))"
        for rule, column, condition in checks) + " END AS _failure"
    flagged = typed.selectExpr(*[f"{_name('_t_' + c)} AS {_name(c)}" for c in names], "_source_file", "_row_id",
                               failure)
    if spec.name not in ("fact_sales_monthly", "fact_forecast_monthly", "post_invoice_deductions"):
        # Rule 1 on the small tables: the first row of a key (in file order)
        # wins; later rows with the same key are quarantined. The large facts
        # are checked for duplicate keys where the transform combines them.
        first = F.row_number().over(
            Window.partitionBy(*spec.key, F.col("_failure").isNull()).orderBy("_row_id"))
        duplicate = F.struct(F.lit("unique_key").alias("rule"), F.lit(spec.key[0]).alias("column"),
                             _row_key(spec).alias("value"))
        flagged = flagged.withColumn(
            "_failure", F.when(F.col("_failure").isNull() & (first > 1), duplicate).otherwise(F.col("_failure")))
    # Plain columns rather than a struct: the large facts are cached, and
    # Spark's column cache compresses mostly-NULL strings but not structs.
    return flagged.selectExpr("*", "_failure.rule AS _rule", "_failure.column AS _column",
                              "_failure.value AS _value").drop("_failure")


def clean_rows(flagged: DataFrame) -> DataFrame:
    # Read it from a cached frame or through an observation, as the pipeline
    # does: on a bare flagged frame Spark pushes this filter below the checks,
    # and a CSV fact table then took 10x as long (194 s against 19 s measured).
    return flagged.where(F.col("_rule").isNull()).drop("_rule", "_column", "_value", "_row_id")


def rule_counts() -> list[SparkColumn]:
    """Aggregates over a flagged frame: its rows, and its rows per rule broken
    (for `DataFrame.observe`, so counting needs no pass of its own)."""
    rule = F.col("_rule")
    return [F.count(F.lit(1)).alias("rows"), *[F.sum(F.when(rule == r, 1).otherwise(0)).alias(r) for r in RULES]]


def rejected_rows(flagged: DataFrame, table: str) -> DataFrame:
    """The quarantined rows in the dq_issues shape."""
    rule = F.col("_rule")
    messages = F.create_map(*[x for name, (n, text) in RULES.items()
                              for x in (F.lit(name), F.lit(f"rule {n}: {text}"))])
    return flagged.where(F.col("_rule").isNotNull()).select(
        F.lit(table).alias("table_name"),
        F.col("_source_file").alias("source_file"),
        rule.alias("rule"),
        F.lit("rejected").alias("severity"),
        _row_key(TABLES[table]).alias("row_key"),
        F.col("_column").alias("column_name"),
        F.col("_value").alias("offending_value"),
        messages[rule].alias("message"),
    )


def _no_geography(column: str) -> SparkColumn:
    """Some copies leave geography empty or write `nan` (`NA` is North America)."""
    cleaned = F.expr(_text(_name(column)))
    return cleaned.isNull() | (F.lower(cleaned) == "nan")


def _unassigned(column: str) -> SparkColumn:
    return F.when(_no_geography(column), F.lit(UNASSIGNED)).otherwise(F.expr(_text(_name(column))))


def geography(customers: DataFrame, markets: DataFrame | None) -> tuple[DataFrame, DataFrame, DataFrame]:
    """Customers with market, sub-zone and region attached; the market dimension;
    and rule-9 warnings (rows mapped to "Unassigned")."""
    if markets is None:
        # The ad-hoc layout: the geography rides on the customer rows.
        markets = customers.select("market", "sub_zone", "region").dropDuplicates(["market"])
        source = "dim_customer"
    else:
        source = "dim_market"
    markets = markets.select("market", _unassigned("sub_zone").alias("sub_zone"), _unassigned("region").alias("region"),
                             _no_geography("region").alias("_no_region"))
    unmapped_markets = markets.where("_no_region").select(
        F.lit(source).alias("table_name"), F.lit(None).cast("string").alias("source_file"),
        F.lit("geography_mapping").alias("rule"), F.lit("warning").alias("severity"),
        F.concat(F.lit("market="), F.col("market")).alias("row_key"),
        F.lit("region").alias("column_name"), F.lit(None).cast("string").alias("offending_value"),
        F.lit(f"rule 9: market has no region; shown under {UNASSIGNED}").alias("message"),
    )
    markets = markets.drop("_no_region")
    joined = customers.drop("sub_zone", "region").join(F.broadcast(markets), on="market", how="left")
    unmapped_customers = joined.where(F.col("region").isNull()).select(
        F.lit("dim_customer").alias("table_name"), F.lit(None).cast("string").alias("source_file"),
        F.lit("geography_mapping").alias("rule"), F.lit("warning").alias("severity"),
        F.concat(F.lit("customer_code="), F.col("customer_code")).alias("row_key"),
        F.lit("market").alias("column_name"), F.col("market").alias("offending_value"),
        F.lit(f"rule 9: customer's market is not in dim_market; shown under {UNASSIGNED}").alias("message"),
    )
    customers = joined.select(
        "customer_code", "customer", "market",
        F.coalesce("sub_zone", F.lit(UNASSIGNED)).alias("sub_zone"),
        F.coalesce("region", F.lit(UNASSIGNED)).alias("region"),
        "platform", "channel",
    )
    return customers, markets, unmapped_markets.unionByName(unmapped_customers)


DIMENSIONS = ("dim_market", "dim_customer", "dim_product")
LOOKUPS_AND_FACTS = ("gross_price", "manufacturing_cost", "pre_invoice_deductions", "freight_cost",
                     "fact_sales_monthly", "fact_forecast_monthly", "post_invoice_deductions")


def check_all(frames: dict[str, DataFrame], settings: Settings) -> dict[str, DataFrame]:
    """Flag every row of every table; dimensions first, since the others refer to them."""
    # The dimensions refer to none of each other (a customer's unknown market is a
    # rule-9 warning, see geography, not a reject), so they are checked as they are.
    flagged = {name: check_table(frames[name], TABLES[name], settings, {}) for name in DIMENSIONS if name in frames}
    # column -> the dimension whose clean rows list its known values
    sources = {"market": "dim_market" if "dim_market" in flagged else "dim_customer",
               "customer_code": "dim_customer", "product_code": "dim_product"}

    # The known codes of all three columns in one Spark job (one each took three).
    known = reduce(DataFrame.unionByName, [
        clean_rows(flagged[table]).select(F.lit(column).alias("column"), F.col(column).alias("code"))
        for column, table in sources.items()]).distinct().collect()
    references = {column: KnownCodes(r["code"] for r in known if r["column"] == column) for column in sources}
    for name in LOOKUPS_AND_FACTS:
        if name in frames:
            flagged[name] = check_table(frames[name], TABLES[name], settings, references)
    return flagged


def enforce_reject_limit(read: dict[str, int], rejected: dict[str, int], settings: Settings) -> None:
    over = [
        f"{t}: {rejected[t]:,} of {read[t]:,} rows rejected ({rejected[t] / read[t]:.2%})"
        for t in read if read[t] and rejected.get(t, 0) / read[t] > settings.max_reject_share
    ]
    if over:
        raise RejectLimitExceeded(
            f"rejected rows exceed {settings.max_reject_share:.2%} of a table, so the warehouse was left "
            f"as it was: " + "; ".join(over) + ". See dq_issues for the rows, or raise BIMS_MAX_REJECT_SHARE."
        )
