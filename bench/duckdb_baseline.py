"""The single-machine baseline: the Spark refresh's computation as plain DuckDB SQL.

`run_baseline(source_dir, out_db_path, fmt)` reads the same ten source tables
(full layout, CSV or Parquet) that `python -m etl refresh` reads and writes the
same dimension, aggregate and lookup tables into a fresh DuckDB file, so that
`bench/etl.py` can time both on the same files. It is written independently of
the Spark code (only the table list of `etl.schema` is shared, which is data),
so agreeing totals are also a cross-check of the Spark job.

What it does, stage by stage (the Spark job's stages in brackets):

* validate [extract + validate]: every table is read once (CSV: every column
  as text, `NA` stays a string; empty fields are NULL) into a typed table with
  a `_failure` column naming the first business rule the row breaks: required
  values (7), dates that parse, are the first of a month and lie in
  2000-01 .. 2040-12 (2), non-negative quantities and prices, 0 <= pct < 1 (3),
  numbers that parse (6), four-digit fiscal years (5), known platform and
  channel (8), customer/product/market references that exist in the clean
  dimensions (4), and, on the small tables, a duplicate key keeping the first
  row in file order (1). Counts per table and the rejected rows go to
  `baseline_run_tables` and `dq_issues`; like the Spark job it refuses to load
  when a table's rejected share exceeds `max_reject_share`.
* transform: geography (a market without sub-zone/region -> "Unassigned"),
  the full outer combine of sales, forecasts and post-invoice deductions at
  (date, customer_code, product_code) as one union-and-aggregate (a key seen
  twice in one fact table drops that table's part), every measure of the
  brief with fiscal_year = year(date + 4 months), and the aggregate tables.
* load: the tables are created in the output file, which replaces
  `out_db_path` when complete.

The DuckDB settings are its defaults (threads = cores, memory_limit = 80% of
RAM), unless `threads` / `memory_limit` are given.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import duckdb

if __package__ in (None, ""):  # run as a script: make `etl` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from etl.schema import (  # noqa: E402
    AMOUNT, CHANNELS, CUSTOMER_ATTRIBUTES, MEASURES, MONTH, PERCENT, PLATFORMS, PRODUCT_ATTRIBUTES, QUANTITY,
    TABLES, YEAR,
)


# Small tables first: the facts' reference checks need the clean dimensions.
ORDER = ("dim_market", "dim_customer", "dim_product", "gross_price", "manufacturing_cost",
         "pre_invoice_deductions", "freight_cost", "fact_sales_monthly", "fact_forecast_monthly",
         "post_invoice_deductions")
FACTS = ("fact_sales_monthly", "fact_forecast_monthly", "post_invoice_deductions")
# Reference checks (rule 4): column -> the clean dimension holding its known values.
REFERENCES = {"customer_code": "dim_customer", "product_code": "dim_product", "market": "dim_market"}
NUMBER_KINDS = (QUANTITY, AMOUNT, PERCENT)
UNASSIGNED = "Unassigned"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _source(source_dir: Path, table: str, fmt: str) -> str:
    spec = TABLES[table]
    for stem in spec.file_names:
        path = source_dir / f"{stem}.{fmt}"
        if path.exists():
            if fmt == "csv":
                # Every value as the text the file holds ('NA' stays a region); only '' is NULL.
                return f"read_csv({_lit(path)}, header = true, all_varchar = true, nullstr = '')"
            return f"read_parquet({_lit(path)})"
    raise FileNotFoundError(f"{source_dir}: no {table}.{fmt} (the baseline needs the full layout's ten tables)")


def _flag_sql(con, table: str, reader: str, settings: dict) -> str:
    """SELECT of a table's typed columns plus `_failure` ('rule:column', NULL when the row passes)."""
    spec = TABLES[table]
    described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    present = {name.replace("\ufeff", "").strip().lower(): (name, dtype) for name, dtype, *_ in described}
    missing = [c.name for c in spec.columns if c.required and c.name not in present]
    if missing:
        raise ValueError(f"{table} lacks required column(s) {', '.join(missing)}")

    text, typed = {}, {}
    for col in spec.columns:
        if col.name not in present:
            text[col.name] = "CAST(NULL AS VARCHAR)"
            raw_is_text = True
        else:
            raw_name, dtype = present[col.name]
            raw_is_text = dtype == "VARCHAR"
            # A typed (Parquet) column is present when not NULL; a text one when not blank.
            text[col.name] = f"NULLIF(trim({_q(raw_name)}), '')" if raw_is_text else _q(raw_name)
        s = f"_s_{col.name}"
        if col.kind == MONTH:
            typed[col.name] = (f"CASE WHEN length({s}) = 10 THEN TRY_CAST({s} AS DATE) END" if raw_is_text
                               else f"TRY_CAST({s} AS DATE)")
        elif col.kind == YEAR:
            typed[col.name] = (f"CASE WHEN regexp_full_match({s}, '[0-9]{{4}}') THEN TRY_CAST({s} AS INTEGER) END"
                               if raw_is_text else f"TRY_CAST({s} AS INTEGER)")
        elif col.kind in NUMBER_KINDS:
            typed[col.name] = f"CASE WHEN isfinite(TRY_CAST({s} AS DOUBLE)) THEN TRY_CAST({s} AS DOUBLE) END"
        else:
            typed[col.name] = s

    checks: list[tuple[str, str, str]] = []  # (rule, column, failing condition on _s_/_t_ columns)
    for col in spec.columns:
        if col.required:
            checks.append(("required_value", col.name, f"_s_{col.name} IS NULL"))
    earliest, latest = settings["earliest_date"], settings["latest_date"]
    for col in spec.columns:
        s, t = f"_s_{col.name}", f"_t_{col.name}"
        if col.kind == MONTH:
            checks += [("valid_date", col.name, f"{s} IS NOT NULL AND {t} IS NULL"),
                       ("valid_date", col.name, f"day({t}) <> 1"),
                       ("valid_date", col.name, f"{t} NOT BETWEEN DATE '{earliest}' AND DATE '{latest}'")]
        elif col.kind == YEAR:
            checks += [("fiscal_year_format", col.name, f"{s} IS NOT NULL AND {t} IS NULL"),
                       ("fiscal_year_format", col.name,
                        f"{t} NOT BETWEEN {int(earliest[:4])} AND {int(latest[:4]) + 1}")]
        elif col.kind in NUMBER_KINDS:
            checks += [("numeric_value", col.name, f"{s} IS NOT NULL AND {t} IS NULL"),
                       ("value_range", col.name, f"{t} < 0")]
            if col.kind == PERCENT:
                checks.append(("value_range", col.name, f"{t} >= 1"))
    if table == "dim_customer":
        checks.append(("known_category", "platform",
                       f"_t_platform NOT IN ({', '.join(map(_lit, PLATFORMS))})"))
        checks.append(("known_category", "channel", f"_t_channel NOT IN ({', '.join(map(_lit, CHANNELS))})"))
    for column, dim in REFERENCES.items():
        # A customer's unknown market is a geography warning, not a reject (rule 9).
        if column in spec.column_names and table != dim and not (table == "dim_customer" and column == "market"):
            checks.append(("known_reference", column,
                           f"_t_{column} IS NOT NULL AND _t_{column} NOT IN "
                           f"(SELECT {column} FROM f_{dim} WHERE _failure IS NULL)"))
    failure = "CASE " + " ".join(f"WHEN {cond} THEN '{rule}:{column}'" for rule, column, cond in checks) + " END"

    names = spec.column_names
    texts = ", ".join(f"{text[c]} AS _s_{c}" for c in names)
    typeds = ", ".join(f"{typed[c]} AS _t_{c}" for c in names)
    outs = ", ".join(f"_t_{c} AS {c}" for c in names)
    return (f"SELECT {outs}, {failure} AS _failure, _rid FROM ("
            f"SELECT *, {typeds} FROM (SELECT {texts}, _rid FROM "
            f"(SELECT *, row_number() OVER () AS _rid FROM {reader})))"
            if table not in FACTS else
            f"SELECT {outs}, {failure} AS _failure FROM ("
            f"SELECT *, {typeds} FROM (SELECT {texts} FROM {reader}))")


def _row_key(table: str) -> str:
    return "concat_ws(', ', " + ", ".join(
        f"'{k}=' || coalesce(CAST({k} AS VARCHAR), '')" for k in TABLES[table].key) + ")"


def run_baseline(source_dir: str | Path, out_db_path: str | Path, fmt: str = "csv", *,
                 fiscal_start_month: int = 9, earliest_date: str = "2000-01-01", latest_date: str = "2040-12-01",
                 max_reject_share: float = 0.01, threads: int | None = None, memory_limit: str | None = None,
                 materialize_facts: bool = True, show=print) -> dict:
    """Validate, transform and load `source_dir` into a new DuckDB file at `out_db_path`.

    Returns {"stages": {stage: seconds}, "rows_read": {...}, "rows_rejected": {...},
    "rows_written": {...}, "seconds": total}.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError("fmt must be csv or parquet")
    source_dir, out = Path(source_dir), Path(out_db_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    staged = out.with_name(f".{out.name}.tmp")
    for stale in (staged, Path(f"{staged}.wal")):
        stale.unlink(missing_ok=True)
    settings = {"earliest_date": earliest_date, "latest_date": latest_date}
    ahead = (13 - fiscal_start_month) % 12  # months to add so that the calendar year is the fiscal year
    started = time.monotonic()
    stages: dict[str, float] = {}
    summary: dict = {"rows_read": {}, "rows_rejected": {}, "rejected_by_rule": {}, "rows_written": {}}

    con = duckdb.connect(str(staged))
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            con.execute(f"SET memory_limit = {_lit(memory_limit)}")
        summary["duckdb"] = dict(zip(("version", "threads", "memory_limit"), con.execute(
            "SELECT version(), current_setting('threads'), current_setting('memory_limit')").fetchone()))

        # --- validate: one read of each table into a typed, flagged temp table ----------------------
        begun = time.monotonic()
        for table in ORDER:
            kind = "VIEW" if table in FACTS and not materialize_facts else "TABLE"
            con.execute(f"CREATE TEMP {kind} f_{table} AS "
                        f"{_flag_sql(con, table, _source(source_dir, table, fmt), settings)}")
            if table not in FACTS:
                # Rule 1 on the small tables: the first clean row of a key (in file order) wins.
                keys = ", ".join(TABLES[table].key)
                con.execute(f"""CREATE OR REPLACE TEMP TABLE f_{table} AS
                    SELECT * EXCLUDE (_rid) REPLACE (CASE WHEN _failure IS NULL AND row_number() OVER (
                        PARTITION BY {keys}, _failure IS NULL ORDER BY _rid) > 1
                        THEN 'unique_key:{TABLES[table].key[0]}' ELSE _failure END AS _failure)
                    FROM f_{table}""")
        con.execute("CREATE TEMP TABLE dq (table_name VARCHAR, rule VARCHAR, severity VARCHAR, "
                    "row_key VARCHAR, column_name VARCHAR, message VARCHAR)")
        for table in ORDER:
            rows = con.execute(f"SELECT split_part(_failure, ':', 1), count(*) FROM f_{table} "
                               f"GROUP BY ALL").fetchall()
            summary["rows_read"][table] = sum(n for _, n in rows)
            summary["rows_rejected"][table] = sum(n for rule, n in rows if rule)
            for rule, n in rows:
                if rule:
                    summary["rejected_by_rule"][rule] = summary["rejected_by_rule"].get(rule, 0) + n
            if summary["rows_rejected"][table]:
                con.execute(f"""INSERT INTO dq SELECT '{table}', split_part(_failure, ':', 1), 'rejected',
                    {_row_key(table)}, split_part(_failure, ':', 2), 'rejected by the baseline'
                    FROM f_{table} WHERE _failure IS NOT NULL""")
        over = [t for t, n in summary["rows_read"].items()
                if n and summary["rows_rejected"][t] / n > max_reject_share]
        if over:
            raise RuntimeError(f"rejected rows exceed {max_reject_share:.2%} of table(s) {', '.join(over)}")
        for table in ORDER:
            columns = ", ".join(TABLES[table].column_names)
            con.execute(f"CREATE TEMP VIEW c_{table} AS SELECT {columns} FROM f_{table} WHERE _failure IS NULL")
        stages["validate"] = time.monotonic() - begun
        show(f"validate   done in {stages['validate']:.1f} s")

        # --- transform ------------------------------------------------------------------------------
        begun = time.monotonic()

        def unassigned(column: str) -> str:
            return f"CASE WHEN {column} IS NULL OR lower({column}) = 'nan' THEN '{UNASSIGNED}' ELSE {column} END"

        con.execute(f"""CREATE TEMP TABLE markets AS SELECT market, {unassigned('sub_zone')} AS sub_zone,
            {unassigned('region')} AS region, (region IS NULL OR lower(region) = 'nan') AS no_region
            FROM c_dim_market""")
        con.execute(f"""CREATE TEMP TABLE customers AS SELECT c.customer_code, c.customer, c.market,
            coalesce(m.sub_zone, '{UNASSIGNED}') AS sub_zone, coalesce(m.region, '{UNASSIGNED}') AS region,
            c.platform, c.channel, m.market IS NULL AS no_market
            FROM c_dim_customer c LEFT JOIN markets m USING (market)""")
        con.execute(f"""INSERT INTO dq
            SELECT 'dim_market', 'geography_mapping', 'warning', 'market=' || market, 'region',
                   'market has no region; shown under {UNASSIGNED}' FROM markets WHERE no_region
            UNION ALL
            SELECT 'dim_customer', 'geography_mapping', 'warning', 'customer_code=' || customer_code, 'market',
                   'customer''s market is not in dim_market; shown under {UNASSIGNED}' FROM customers
            WHERE no_market""")

        # The full outer join of the brief as one union-and-aggregate at the common grain.
        con.execute("""CREATE TEMP TABLE combined AS
            WITH parts AS (
                SELECT date, customer_code, product_code, sold_quantity, NULL::DOUBLE AS forecast_quantity,
                       NULL::DOUBLE AS discounts_pct, NULL::DOUBLE AS other_deductions_pct,
                       1 AS s, 0 AS f, 0 AS p FROM c_fact_sales_monthly
                UNION ALL
                SELECT date, customer_code, product_code, NULL, forecast_quantity, NULL, NULL, 0, 1, 0
                FROM c_fact_forecast_monthly
                UNION ALL
                SELECT date, customer_code, product_code, NULL, NULL, discounts_pct, other_deductions_pct, 0, 0, 1
                FROM c_post_invoice_deductions)
            SELECT date, customer_code, product_code,
                   CASE WHEN sum(s) = 1 THEN sum(sold_quantity) END AS sold_quantity,
                   CASE WHEN sum(f) = 1 THEN sum(forecast_quantity) END AS forecast_quantity,
                   CASE WHEN sum(p) = 1 THEN max(discounts_pct) END AS discounts_pct,
                   CASE WHEN sum(p) = 1 THEN max(other_deductions_pct) END AS other_deductions_pct,
                   sum(s) AS n_sales, sum(f) AS n_forecasts, sum(p) AS n_post_invoice
            FROM parts GROUP BY date, customer_code, product_code""")
        for table in FACTS:  # read once; the combined rows are all the transform needs of them
            con.execute(f"DROP VIEW c_{table}")
            con.execute(f"DROP {'TABLE' if materialize_facts else 'VIEW'} f_{table}")
        con.execute("""INSERT INTO dq
            SELECT t.table_name, 'unique_key', 'rejected',
                   'date=' || date || ', customer_code=' || customer_code || ', product_code=' || product_code,
                   'date', 'the key appears ' || t.n || ' times; all its rows are quarantined'
            FROM (SELECT date, customer_code, product_code, unnest([
                    {'table_name': 'fact_sales_monthly', 'n': n_sales},
                    {'table_name': 'fact_forecast_monthly', 'n': n_forecasts},
                    {'table_name': 'post_invoice_deductions', 'n': n_post_invoice}]) AS t
                  FROM combined WHERE greatest(n_sales, n_forecasts, n_post_invoice) > 1)
            WHERE t.n > 1""")

        # The measures at the (month, customer, product) grain. The lines carry codes only; the
        # aggregates group by codes (a code determines its attributes) and join the names afterwards.
        con.execute("""CREATE TEMP TABLE categories AS
            SELECT row_number() OVER () AS category_id, division, segment, category
            FROM (SELECT DISTINCT division, segment, category FROM c_dim_product)""")
        con.execute("""CREATE TEMP TABLE product_categories AS
            SELECT p.product_code, k.category_id
            FROM c_dim_product p JOIN categories k USING (division, segment, category)""")
        con.execute(f"""CREATE TEMP VIEW lines AS
            WITH actual_months AS (SELECT DISTINCT date FROM combined WHERE sold_quantity IS NOT NULL),
            joined AS (
                SELECT c.date, c.customer_code, c.product_code, c.sold_quantity, c.forecast_quantity,
                       c.discounts_pct, c.other_deductions_pct, c.fiscal_year, cu.market, pc.category_id,
                       am.date IS NOT NULL AS has_actuals,
                       gp.gross_price, mc.manufacturing_cost AS unit_manufacturing_cost,
                       pre.pre_invoice_discount_pct, fr.freight_pct, fr.other_cost_pct
                FROM (SELECT *, CAST(year(date + INTERVAL {ahead} MONTH) AS INTEGER) AS fiscal_year
                      FROM combined
                      WHERE sold_quantity IS NOT NULL OR forecast_quantity IS NOT NULL) c
                JOIN customers cu ON cu.customer_code = c.customer_code
                JOIN product_categories pc ON pc.product_code = c.product_code
                LEFT JOIN actual_months am ON am.date = c.date
                LEFT JOIN c_gross_price gp ON gp.product_code = c.product_code AND gp.fiscal_year = c.fiscal_year
                LEFT JOIN c_manufacturing_cost mc
                       ON mc.product_code = c.product_code AND mc.cost_year = c.fiscal_year
                LEFT JOIN c_pre_invoice_deductions pre
                       ON pre.customer_code = c.customer_code AND pre.fiscal_year = c.fiscal_year
                LEFT JOIN c_freight_cost fr ON fr.market = cu.market AND fr.fiscal_year = c.fiscal_year),
            money AS (
                SELECT *, sold_quantity * gross_price AS gross_sales FROM joined),
            pre AS (
                SELECT *, gross_sales * coalesce(pre_invoice_discount_pct, 0) AS pre_invoice_deduction FROM money),
            net_invoice AS (
                SELECT *, gross_sales - pre_invoice_deduction AS net_invoice_sales FROM pre),
            post AS (
                SELECT *, net_invoice_sales * coalesce(discounts_pct, 0) AS post_invoice_discount,
                          net_invoice_sales * coalesce(other_deductions_pct, 0) AS post_invoice_other
                FROM net_invoice),
            net AS (
                SELECT *, net_invoice_sales - post_invoice_discount - post_invoice_other AS net_sales FROM post),
            costs AS (
                SELECT *, net_sales * coalesce(freight_pct, 0) AS freight_cost,
                          net_sales * coalesce(other_cost_pct, 0) AS other_cost,
                          CASE WHEN gross_price IS NOT NULL
                               THEN sold_quantity * coalesce(unit_manufacturing_cost, 0) END AS manufacturing_cost,
                          CASE WHEN has_actuals
                               THEN coalesce(forecast_quantity, 0) - coalesce(sold_quantity, 0) END AS net_error
                FROM net)
            SELECT *, manufacturing_cost + freight_cost + other_cost AS cogs,
                      net_sales - (manufacturing_cost + freight_cost + other_cost) AS gross_margin,
                      abs(net_error) AS abs_error
            FROM costs""")
        sums = ", ".join(f"sum({m}) AS {m}" for m in MEASURES)
        customers = ", ".join(CUSTOMER_ATTRIBUTES)
        products = ", ".join(PRODUCT_ATTRIBUTES)
        customer_cols = ", ".join(f"cu.{c}" for c in CUSTOMER_ATTRIBUTES)
        product_cols = ", ".join(f"pr.{c}" for c in PRODUCT_ATTRIBUTES)
        fiscal_month = f"(month(date) - {fiscal_start_month} + 12) % 12 + 1"
        con.execute(f"""CREATE TABLE agg_customer_category_monthly AS
            SELECT fiscal_year, CAST(({fiscal_month} - 1) // 3 + 1 AS INTEGER) AS fiscal_quarter,
                   CAST({fiscal_month} AS INTEGER) AS fiscal_month, date AS month, has_actuals,
                   {customer_cols}, k.division, k.segment, k.category, {', '.join(MEASURES)}
            FROM (SELECT fiscal_year, date, has_actuals, customer_code, category_id, {sums}
                  FROM lines GROUP BY ALL) a
            JOIN customers cu USING (customer_code)
            JOIN categories k USING (category_id)""")
        # The missing-lookup counts ride on the yearly aggregate, as in the Spark job.
        lookups = {"missing_gross_price": ("gross_price", "gross_price", "product_code, fiscal_year", "error"),
                   "missing_manufacturing_cost": ("manufacturing_cost", "unit_manufacturing_cost",
                                                  "product_code, fiscal_year", "warning"),
                   "missing_pre_invoice_deduction": ("pre_invoice_deductions", "pre_invoice_discount_pct",
                                                     "customer_code, fiscal_year", "warning"),
                   "missing_post_invoice_deduction": ("post_invoice_deductions", "discounts_pct",
                                                      "customer_code, product_code, fiscal_year", "warning"),
                   "missing_freight_cost": ("freight_cost", "freight_pct", "market, fiscal_year", "warning")}
        missing = ", ".join(f"count(*) FILTER (WHERE sold_quantity IS NOT NULL AND {column} IS NULL) AS _{name}"
                            for name, (_, column, _, _) in lookups.items())
        con.execute(f"""CREATE TEMP TABLE yearly AS
            SELECT fiscal_year, has_actuals, customer_code, product_code, any_value(market) AS market,
                   {sums}, {missing}
            FROM lines GROUP BY fiscal_year, has_actuals, customer_code, product_code""")
        con.execute(f"""CREATE TABLE agg_customer_product_yearly AS
            SELECT fiscal_year, has_actuals, {customer_cols}, {product_cols}, {', '.join(MEASURES)}
            FROM yearly y JOIN customers cu USING (customer_code) JOIN c_dim_product pr USING (product_code)""")
        rolled_product_cols = ", ".join(c if c in ("division", "segment", "category") else f"NULL::VARCHAR AS {c}"
                                        for c in PRODUCT_ATTRIBUTES)
        con.execute(f"""CREATE TABLE agg_customer_category_yearly AS
            SELECT fiscal_year, has_actuals, {', '.join(CUSTOMER_ATTRIBUTES)}, {rolled_product_cols},
                   {', '.join(f'sum({m}) AS {m}' for m in MEASURES)}
            FROM agg_customer_product_yearly
            GROUP BY fiscal_year, has_actuals, {', '.join(CUSTOMER_ATTRIBUTES)}, division, segment, category""")
        for name, (table, column, keys, severity) in lookups.items():
            key_text = " || ', ' || ".join(f"'{k}=' || {k}" for k in keys.split(", "))
            con.execute(f"""INSERT INTO dq SELECT '{table}', '{name}', '{severity}', {key_text}, '{column}',
                'no {column} for the key (' || sum(_{name}) || ' sales rows)'
                FROM yearly WHERE _{name} > 0 GROUP BY {keys}""")

        con.execute(f"CREATE TABLE dim_customer AS SELECT {customers} FROM customers")
        con.execute(f"CREATE TABLE dim_product AS SELECT {products} FROM c_dim_product")
        con.execute("CREATE TABLE dim_market AS SELECT market, sub_zone, region FROM markets")
        con.execute(f"""CREATE TABLE product_price_cost_yearly AS
            SELECT fiscal_year, {', '.join(f'p.{c}' for c in PRODUCT_ATTRIBUTES)}, gross_price,
                   unit_manufacturing_cost
            FROM (SELECT product_code, fiscal_year, gross_price FROM c_gross_price) g
            FULL JOIN (SELECT product_code, cost_year AS fiscal_year, manufacturing_cost AS unit_manufacturing_cost
                       FROM c_manufacturing_cost) m USING (product_code, fiscal_year)
            JOIN c_dim_product p USING (product_code)""")
        con.execute(f"""CREATE TABLE customer_deduction_rates_yearly AS
            SELECT fiscal_year, {', '.join(f'c.{a}' for a in CUSTOMER_ATTRIBUTES)}, pre_invoice_discount_pct
            FROM c_pre_invoice_deductions d JOIN customers c USING (customer_code)""")
        con.execute("""CREATE TABLE market_cost_rates_yearly AS
            SELECT fiscal_year, market, sub_zone, region, freight_pct, other_cost_pct
            FROM c_freight_cost JOIN markets USING (market)""")
        stages["transform"] = time.monotonic() - begun
        show(f"transform  done in {stages['transform']:.1f} s")

        # --- load: the run's records, then the finished file replaces the old one ---------------------
        begun = time.monotonic()
        con.execute("CREATE TABLE dq_issues AS SELECT * FROM dq")
        con.execute("CREATE TABLE baseline_run_tables (table_name VARCHAR, rows_read BIGINT, rows_rejected BIGINT)")
        con.executemany("INSERT INTO baseline_run_tables VALUES (?, ?, ?)",
                        [[t, summary["rows_read"][t], summary["rows_rejected"][t]] for t in ORDER])
        for table in ("dim_customer", "dim_product", "dim_market", "agg_customer_category_monthly",
                      "agg_customer_product_yearly", "agg_customer_category_yearly", "product_price_cost_yearly",
                      "customer_deduction_rates_yearly", "market_cost_rates_yearly", "dq_issues"):
            summary["rows_written"][table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(staged, out)
    Path(f"{staged}.wal").unlink(missing_ok=True)
    stages["load"] = time.monotonic() - begun
    show(f"load       done in {stages['load']:.1f} s")
    summary["stages"] = stages
    summary["seconds"] = time.monotonic() - started
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="The Spark refresh's computation as plain DuckDB SQL.")
    p.add_argument("--source", required=True, help="folder holding the ten full-layout tables")
    p.add_argument("--out", required=True, help="DuckDB file to write (replaced when complete)")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv")
    p.add_argument("--threads", type=int)
    p.add_argument("--memory-limit")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON line at the end")
    args = p.parse_args(argv)
    summary = run_baseline(args.source, args.out, args.format, threads=args.threads, memory_limit=args.memory_limit)
    if args.json:
        print("SUMMARY " + json.dumps(summary), flush=True)
    else:
        print(f"baseline wrote {sum(summary['rows_written'].values()):,} rows in {summary['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
