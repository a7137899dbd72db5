"""The Redshift-only statements, compared as text; the portable DDL executed by
DuckDB, SQLite and (when its fixture is there) PostgreSQL 15."""
from __future__ import annotations

import sqlite3

import duckdb
import pytest

from etl.schema import CUSTOMER_ATTRIBUTES, MEASURES, OUTPUT_TABLES, PRODUCT_ATTRIBUTES
from tests.warehouse.pg_fixtures import postgres_execute, postgres_server  # noqa: F401 (fixtures)
from warehouse.base import META_TABLES
from warehouse.redshift_dialect import LAYOUTS, analyze, copy_from_s3, table_attributes, table_ddl

ROLE = "arn:aws:iam::123456789012:role/bims-redshift-copy"

_TEXT = "VARCHAR(256)"
_MEASURES = [(m, "DOUBLE PRECISION") for m in MEASURES]
_CUSTOMER = [(c, _TEXT) for c in CUSTOMER_ATTRIBUTES]
_PRODUCT = [(c, _TEXT) for c in PRODUCT_ATTRIBUTES]
_YEARLY = [("fiscal_year", "INTEGER"), ("has_actuals", "BOOLEAN"), *_CUSTOMER, *_PRODUCT, *_MEASURES]
# Each output table's columns, in the order the pipeline writes them (docs/warehouse.md).
COLUMNS = {
    "dim_customer": _CUSTOMER,
    "dim_product": _PRODUCT,
    "dim_market": [("market", _TEXT), ("sub_zone", _TEXT), ("region", _TEXT)],
    "agg_customer_category_monthly": [
        ("fiscal_year", "INTEGER"), ("fiscal_quarter", "INTEGER"), ("fiscal_month", "INTEGER"), ("month", "DATE"),
        ("has_actuals", "BOOLEAN"), *_CUSTOMER, ("division", _TEXT), ("segment", _TEXT), ("category", _TEXT),
        *_MEASURES],
    "agg_customer_product_yearly": _YEARLY,
    "agg_customer_category_yearly": _YEARLY,
    "product_price_cost_yearly": [("fiscal_year", "INTEGER"), *_PRODUCT, ("gross_price", "DOUBLE PRECISION"),
                                  ("unit_manufacturing_cost", "DOUBLE PRECISION")],
    "customer_deduction_rates_yearly": [("fiscal_year", "INTEGER"), *_CUSTOMER,
                                        ("pre_invoice_discount_pct", "DOUBLE PRECISION")],
    "market_cost_rates_yearly": [("fiscal_year", "INTEGER"), ("market", _TEXT), ("sub_zone", _TEXT),
                                 ("region", _TEXT), ("freight_pct", "DOUBLE PRECISION"),
                                 ("other_cost_pct", "DOUBLE PRECISION")],
}


# ------------------------------------------------------------------ DDL --
def test_every_bims_table_has_a_layout_with_a_reason():
    assert set(LAYOUTS) == set(OUTPUT_TABLES) | set(META_TABLES)
    for name, (clause, reason) in LAYOUTS.items():
        assert clause.startswith("DISTSTYLE ") and reason, name
    assert all(LAYOUTS[t][0] == "DISTSTYLE EVEN" for t in META_TABLES)
    assert all(LAYOUTS[t][0].startswith("DISTSTYLE ALL") for t in OUTPUT_TABLES if not t.startswith("agg_"))
    assert all(LAYOUTS[t][0].startswith("DISTSTYLE KEY DISTKEY (customer_code) COMPOUND SORTKEY (fiscal_year, ")
               for t in OUTPUT_TABLES if t.startswith("agg_"))


def test_aggregate_ddl_text():
    columns = [("fiscal_year", "INTEGER"), ("month", "DATE"), ("customer_code", "VARCHAR(32)"),
               ("net_sales", "DOUBLE PRECISION")]

    assert table_ddl("agg_customer_category_monthly", columns, redshift=True) == (
        'CREATE TABLE "agg_customer_category_monthly" ("fiscal_year" INTEGER, "month" DATE, '
        '"customer_code" VARCHAR(32), "net_sales" DOUBLE PRECISION) '
        "DISTSTYLE KEY DISTKEY (customer_code) COMPOUND SORTKEY (fiscal_year, month)")
    assert table_ddl("agg_customer_category_monthly", columns, redshift=False) == (
        'CREATE TABLE "agg_customer_category_monthly" ("fiscal_year" INTEGER, "month" DATE, '
        '"customer_code" VARCHAR(32), "net_sales" DOUBLE PRECISION)')


def test_staging_table_takes_the_layout_of_the_table_it_replaces():
    columns = [("customer_code", "VARCHAR(32)"), ("market", "VARCHAR(64)")]

    assert table_ddl("bims.dim_customer__staging", columns, redshift=True, layout_of="dim_customer") == (
        'CREATE TABLE "bims"."dim_customer__staging" ("customer_code" VARCHAR(32), "market" VARCHAR(64)) '
        "DISTSTYLE ALL SORTKEY (customer_code)")
    # Not a BIMS table, no layout named: Redshift chooses (DISTSTYLE AUTO).
    assert table_ddl("scratch", columns, redshift=True) == (
        'CREATE TABLE "scratch" ("customer_code" VARCHAR(32), "market" VARCHAR(64))')


def test_meta_table_ddl_takes_its_attributes():
    assert table_attributes("etl_runs") == "DISTSTYLE EVEN"
    assert table_attributes("bims.dq_issues") == "DISTSTYLE EVEN"
    assert table_attributes("dim_market") == "DISTSTYLE ALL"
    assert table_attributes("unknown") == ""


def test_ddl_refuses_missing_keys_bad_names_and_bad_types():
    with pytest.raises(ValueError, match="lacks column customer_code"):
        table_ddl("agg_customer_product_yearly", [("fiscal_year", "INTEGER")], redshift=True)
    for name in ('x"; DROP TABLE y; --', "a.b.c", "1abc", ""):
        with pytest.raises(ValueError, match="not a table or column name"):
            table_ddl(name, [("a", "INTEGER")], redshift=False)
    with pytest.raises(ValueError, match="not a table or column name"):
        table_ddl("t", [("a b", "INTEGER")], redshift=False)
    for bad_type in ("INTEGER); DROP TABLE t; --", "VARCHAR(x)", ""):
        with pytest.raises(ValueError, match="not a column type"):
            table_ddl("t", [("a", bad_type)], redshift=False)
    with pytest.raises(ValueError, match="at least one column"):
        table_ddl("t", [], redshift=False)


def test_every_table_has_its_keys_among_its_columns():
    for name, columns in COLUMNS.items():
        ddl = table_ddl(name, columns, redshift=True)
        assert ddl.endswith(") " + LAYOUTS[name][0]), name


@pytest.fixture(params=["duckdb", "sqlite", "postgresql"])
def portable_database(request, tmp_path):
    """Something to run the portable DDL on."""
    if request.param == "duckdb":
        con = duckdb.connect(":memory:")
        yield con.execute
        con.close()
    elif request.param == "sqlite":
        con = sqlite3.connect(tmp_path / "ddl.sqlite")
        yield con.execute
        con.close()
    else:
        yield request.getfixturevalue("postgres_execute")


def test_portable_ddl_runs(portable_database):
    execute = portable_database
    for name, columns in COLUMNS.items():
        execute(table_ddl(name, columns, redshift=False))
        execute(f"INSERT INTO {name} ({', '.join(c for c, _ in columns)}) "
                f"SELECT {', '.join('NULL' for _ in columns)}")
        execute(analyze(name))
    for ddl in META_TABLES.values():
        execute(ddl)


# ----------------------------------------------------------------- COPY --
def test_copy_text():
    assert copy_from_s3("agg_customer_product_yearly__staging", "s3://bims-staging/run-1/agg_customer_product_yearly/",
                        ROLE) == (
        "COPY \"agg_customer_product_yearly__staging\" FROM "
        "'s3://bims-staging/run-1/agg_customer_product_yearly/' "
        "IAM_ROLE 'arn:aws:iam::123456789012:role/bims-redshift-copy' FORMAT AS PARQUET")


def test_copy_escapes_single_quotes_in_an_s3_key():
    assert copy_from_s3("t", "s3://bims-staging/o'brien/", ROLE) == (
        "COPY \"t\" FROM 's3://bims-staging/o''brien/' "
        "IAM_ROLE 'arn:aws:iam::123456789012:role/bims-redshift-copy' FORMAT AS PARQUET")


def test_copy_accepts_other_partitions_and_role_paths():
    text = copy_from_s3("bims.t", "s3://b.example-1", "arn:aws-us-gov:iam::123456789012:role/service/bims")
    assert text == ("COPY \"bims\".\"t\" FROM 's3://b.example-1' "
                    "IAM_ROLE 'arn:aws-us-gov:iam::123456789012:role/service/bims' FORMAT AS PARQUET")


@pytest.mark.parametrize("uri", [
    "https://bims-staging/x", "s3:/bims-staging/x", "s3://", "s3://ab", "s3://Bims/x", "bims-staging/x",
    "s3://bims-staging/x\\y", "s3://bims-staging/x\ny", "s3://bims staging/x", " s3://bims-staging/x",
])
def test_copy_refuses_what_is_not_an_s3_uri(uri):
    with pytest.raises(ValueError, match="not an s3://bucket/prefix URI"):
        copy_from_s3("t", uri, ROLE)


@pytest.mark.parametrize("role", [
    "", "bims-redshift-copy", "arn:aws:iam::12345:role/x", "arn:aws:iam::123456789012:user/x",
    "arn:aws:iam::123456789012:role/x' CREDENTIALS 'y", "arn:aws:s3:::bucket", "arn:aws:iam::123456789012:role/",
])
def test_copy_refuses_what_is_not_a_role_arn(role):
    with pytest.raises(ValueError, match="not an IAM role ARN"):
        copy_from_s3("t", "s3://bims-staging/x/", role)


def test_copy_refuses_a_bad_table_name():
    with pytest.raises(ValueError, match="not a table or column name"):
        copy_from_s3("t; DROP TABLE x", "s3://bims-staging/x/", ROLE)


def test_analyze_text():
    assert analyze("agg_customer_product_yearly") == 'ANALYZE "agg_customer_product_yearly"'
    assert analyze("bims.etl_runs") == 'ANALYZE "bims"."etl_runs"'

