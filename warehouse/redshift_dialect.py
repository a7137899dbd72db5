"""Every statement only Amazon Redshift accepts, in one place.

The Redshift backend sends PostgreSQL-compatible SQL for everything else
(INSERT, DELETE, ALTER TABLE ... RENAME, DROP TABLE, SELECT), so the tests run
it against PostgreSQL 15. What PostgreSQL would refuse is built here, as text
the tests compare exactly:

- the distribution and sort keys of each table (`table_ddl` with redshift=True,
  `table_attributes`);
- `COPY ... FROM 's3://...' IAM_ROLE '...' FORMAT AS PARQUET` (`copy_from_s3`).

`table_ddl(..., redshift=False)` is the portable form, and `analyze` is the
same statement in both.

Notes for a loader, all Redshift behaviour PostgreSQL does not share:
- TRUNCATE commits the open transaction: inside the swap, use DELETE.
- `ALTER TABLE ... APPEND` cannot run inside a transaction block: the swap
  renames tables instead (DDL is transactional in Redshift).
- VARCHAR(n) counts bytes, not characters, and COPY rejects a longer value.
"""
from __future__ import annotations

import re
from typing import Sequence

# How each BIMS table is spread over the nodes and sorted on disk, with why.
# A table not listed gets neither clause, and Redshift chooses (DISTSTYLE AUTO).
LAYOUTS: dict[str, tuple[str, str]] = {
    # The aggregates: large; every query filters on fiscal years first, and
    # groups or filters by customer, so rows of one customer sit on one slice.
    "agg_customer_product_yearly": (
        "DISTSTYLE KEY DISTKEY (customer_code) COMPOUND SORTKEY (fiscal_year, product_code)",
        "the largest table; it is read (instead of the rollup) when a product is filtered or grouped"),
    "agg_customer_category_yearly": (
        "DISTSTYLE KEY DISTKEY (customer_code) COMPOUND SORTKEY (fiscal_year, customer_code)",
        "the rollup every product-free question reads; filtered by years, then customers"),
    "agg_customer_category_monthly": (
        "DISTSTYLE KEY DISTKEY (customer_code) COMPOUND SORTKEY (fiscal_year, month)",
        "the trend views read a range of fiscal years month by month"),
    # Dimensions and rates: a few thousand rows, joined to the aggregates:
    # a full copy on every node makes those joins local.
    "dim_customer": ("DISTSTYLE ALL SORTKEY (customer_code)", "a few hundred rows, joined by customer_code"),
    "dim_product": ("DISTSTYLE ALL SORTKEY (product_code)", "a few hundred rows, joined by product_code"),
    "dim_market": ("DISTSTYLE ALL", "a few dozen rows"),
    "product_price_cost_yearly": (
        "DISTSTYLE ALL SORTKEY (fiscal_year)", "one row per product and year, joined by the price queries"),
    "customer_deduction_rates_yearly": (
        "DISTSTYLE ALL SORTKEY (fiscal_year)", "one row per customer and year, joined by the deduction queries"),
    "market_cost_rates_yearly": (
        "DISTSTYLE ALL SORTKEY (fiscal_year)", "one row per market and year, joined by the freight queries"),
    # Run history and findings: appended by every refresh; ALL would write
    # each row to every node, EVEN writes it once.
    "etl_runs": ("DISTSTYLE EVEN", "one row per refresh, appended"),
    "etl_run_tables": ("DISTSTYLE EVEN", "one row per refresh and table, appended"),
    "dq_issues": ("DISTSTYLE EVEN", "findings, up to the reject limit per refresh, appended"),
}

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,126}")
# What a portable column type may look like: BIGINT, VARCHAR(256),
# DOUBLE PRECISION, DECIMAL(18, 4), TIMESTAMP ...
_COLUMN_TYPE = re.compile(r"[A-Za-z][A-Za-z ]*(\(\s*\d+\s*(,\s*\d+\s*)?\))?")
_S3_URI = re.compile(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/[^\x00-\x1f\x7f\\]*)?")
_IAM_ROLE = re.compile(r"arn:aws(-[a-z]+)*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/\-]{1,512}")


def quote_identifier(name: str) -> str:
    """A table or column name, double-quoted; `schema.table` quotes each part."""
    parts = name.split(".")
    if len(parts) > 2 or not all(_IDENTIFIER.fullmatch(p) for p in parts):
        raise ValueError(f"{name!r} is not a table or column name BIMS uses (letters, digits, underscores)")
    return ".".join(f'"{p}"' for p in parts)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def table_attributes(name: str) -> str:
    """The Redshift distribution and sort clause of a BIMS table ('' for others);
    `name` may be schema-qualified."""
    return LAYOUTS.get(name.rsplit(".", 1)[-1], ("", ""))[0]


def table_ddl(name: str, columns: Sequence[tuple[str, str]], redshift: bool, *,
              layout_of: str | None = None) -> str:
    """CREATE TABLE name (columns); with `redshift`, the table's distribution
    and sort keys too. `layout_of` names the BIMS table whose keys apply when
    `name` is another (a staging table that will be renamed to it)."""
    if not columns:
        raise ValueError(f"table {name} needs at least one column")
    body = []
    for column, sql_type in columns:
        if not _COLUMN_TYPE.fullmatch(sql_type.strip()):
            raise ValueError(f"{sql_type!r} (column {column} of {name}) is not a column type")
        body.append(f"{quote_identifier(column)} {sql_type.strip()}")
    ddl = f"CREATE TABLE {quote_identifier(name)} ({', '.join(body)})"
    if not redshift:
        return ddl
    attributes = table_attributes(layout_of or name)
    for key in _key_columns(attributes):
        if key not in {c for c, _ in columns}:
            raise ValueError(f"table {name} lacks column {key}, a key of {attributes!r}")
    return f"{ddl} {attributes}" if attributes else ddl


def _key_columns(attributes: str) -> list[str]:
    return [c.strip() for group in re.findall(r"KEY \(([^)]*)\)", attributes) for c in group.split(",")]


def copy_from_s3(table: str, s3_uri: str, iam_role: str) -> str:
    """COPY every Parquet file under an S3 prefix into a table, its columns
    matched by position, read with the cluster's IAM role.

    The URI and role come from configuration (BIMS_S3_STAGING,
    BIMS_REDSHIFT_IAM_ROLE); they are still checked for their shape and
    quoted, never pasted in as they come.
    """
    if not _S3_URI.fullmatch(s3_uri):
        raise ValueError(f"{s3_uri!r} is not an s3://bucket/prefix URI")
    if not _IAM_ROLE.fullmatch(iam_role):
        raise ValueError(f"{iam_role!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/name)")
    return (f"COPY {quote_identifier(table)} FROM {_literal(s3_uri)} "
            f"IAM_ROLE {_literal(iam_role)} FORMAT AS PARQUET")


def analyze(table: str) -> str:
    """Refresh the planner's statistics after a load (Redshift and PostgreSQL)."""
    return f"ANALYZE {quote_identifier(table)}"
