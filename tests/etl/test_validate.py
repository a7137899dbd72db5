"""Every business rule with a bad row: it lands in dq_issues and never in a measure.

The source is a tiny hand-written dataset in Windows CSV (CRLF endings, RFC 4180
quoting, an extra denormalised column), refreshed end to end into DuckDB.
"""
from __future__ import annotations

import textwrap

import duckdb
import pytest

from etl.config import Settings
from etl.pipeline import refresh
from etl.validate import RULES, RejectLimitExceeded

SOURCE = {
    "dim_market": """
        market,sub_zone,region
        India,India,APAC
        USA,NA,NA
        Chile,,
    """,
    "dim_customer": """
        customer_code,customer,market,platform,channel
        70001,Voltmart,India,E-Commerce,Retailer
        70002,Voltmart ,India,Brick & Mortar,Direct
        70003,Nimbus,USA,Brick & Mortar,Distributor
        70004,Andes Tech,Chile,E-Commerce,Retailer
        70005,Ghost Trading,Atlantis,E-Commerce,Retailer
        70001,Impostor,USA,E-Commerce,Retailer
        70006,Weird Co,India,Online,Retailer
        70007,Odd Co,India,E-Commerce,Telepathy
    """,
    "dim_product": '''
        product_code,division,segment,category,product,variant
        A1,P & A,Peripherals,Mouse,"Glide, Wireless",Standard
        A2,PC,Notebook,Gaming Laptop,"Raptor ""X""",Pro
        A1,PC,Desktop,Business Desktop,Duplicate,Plus
        A3,N & S,Storage,USB Flash Drives,,Standard
    ''',
    "fact_sales_monthly": """
        date,product_code,customer_code,sold_quantity,customer_name
        2020-08-01,A1,70001,10,Voltmart
        2020-09-01,A1,70001,20,Voltmart
        2020-09-01,A2,70003,3,Nimbus
        2020-10-01,A1,70004,5,Andes Tech
        2020-13-01,A1,70001,1,bad month
        2020-03-15,A1,70001,1,mid-month
        1899-09-01,A1,70001,1,too old
        2020-11-01,A1,70001,-4,negative
        2020-11-01,A1,99999,4,unknown customer
        2020-11-01,Z9,70001,4,unknown product
        2020-11-01,,70001,4,empty product
        2020-12-01,A1,70001,"4,5",decimal comma
        2021-01-01,A1,70006,4,customer with a bad platform
        2021-02-01,A1,70001,7,duplicate key
        2021-02-01,A1,70001,8,duplicate key
    """,
    "fact_forecast_monthly": """
        date,product_code,customer_code,forecast_quantity
        2020-09-01,A1,70001,25
        2020-09-01,A2,70003,-1
        2020-10-01,,70001,3
    """,
    "gross_price": """
        product_code,fiscal_year,gross_price
        A1,2020,15.5
        A1,2021,16.0
        A2,2021,500.0
        A1,21,99
        A2,2020,"12,50"
        A1,2021,17.0
        A2,2019,-3
    """,
    "manufacturing_cost": """
        product_code,cost_year,manufacturing_cost
        A1,2020,4.0
        A1,2021,4.5
        A2,2021,200
    """,
    "pre_invoice_deductions": """
        customer_code,fiscal_year,pre_invoice_discount_pct
        70001,2020,0.1
        70001,2021,0.2
        70003,2021,1.5
    """,
    "post_invoice_deductions": """
        customer_code,product_code,date,discounts_pct,other_deductions_pct
        70001,A1,2020-08-01,0.05,0.01
        70001,A1,2020-09-01,0.10,0.02
    """,
    "freight_cost": """
        market,fiscal_year,freight_pct,other_cost_pct
        India,2020,0.02,0.005
        India,2021,0.03,0.004
        Atlantis,2021,0.01,0.001
    """,
}

EXPECTED_REJECTS = {
    ("dim_customer", "unique_key", "customer_code=70001"),
    ("dim_customer", "known_category", "Online"),
    ("dim_customer", "known_category", "Telepathy"),
    ("dim_product", "unique_key", "product_code=A1"),
    ("dim_product", "required_value", None),
    ("fact_sales_monthly", "valid_date", "2020-13-01"),
    ("fact_sales_monthly", "valid_date", "2020-03-15"),
    ("fact_sales_monthly", "valid_date", "1899-09-01"),
    ("fact_sales_monthly", "value_range", "-4"),
    ("fact_sales_monthly", "known_reference", "99999"),
    ("fact_sales_monthly", "known_reference", "Z9"),
    ("fact_sales_monthly", "required_value", None),
    ("fact_sales_monthly", "numeric_value", "4,5"),
    ("fact_sales_monthly", "known_reference", "70006"),
    ("fact_sales_monthly", "unique_key", "2"),
    ("fact_forecast_monthly", "value_range", "-1"),
    ("fact_forecast_monthly", "required_value", None),
    ("gross_price", "fiscal_year_format", "21"),
    ("gross_price", "numeric_value", "12,50"),
    ("gross_price", "unique_key", "product_code=A1, fiscal_year=2021"),
    ("gross_price", "value_range", "-3"),
    ("pre_invoice_deductions", "value_range", "1.5"),
    ("freight_cost", "known_reference", "Atlantis"),
}


def write_source(folder, tables=SOURCE):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        lines = textwrap.dedent(text).strip().splitlines()
        (folder / f"{name}.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return folder


@pytest.fixture(scope="module")
def refreshed(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("rules")
    source = write_source(root / "source")
    url = f"duckdb:///{root / 'bims.duckdb'}"
    settings = Settings.from_env(warehouse_url=url, max_reject_share=0.9)
    summary = refresh(str(source), settings, show=lambda line: None, spark=spark)
    con = duckdb.connect(str(root / "bims.duckdb"), read_only=True)
    yield summary, con
    con.close()


def test_every_rule_has_a_check():
    assert sorted(n for n, _ in RULES.values()) == list(range(1, 10))


def test_each_bad_row_is_quarantined_with_its_rule(refreshed):
    _, con = refreshed
    rows = con.execute("SELECT table_name, rule, offending_value, row_key FROM dq_issues "
                       "WHERE severity = 'rejected'").fetchall()
    got = set()
    for table, rule, value, key in rows:
        got.add((table, rule, key if rule == "unique_key" and table != "fact_sales_monthly" else value))
    assert got == EXPECTED_REJECTS
    # the duplicate sales key is one finding naming the key
    dup = [r for r in rows if r[0] == "fact_sales_monthly" and r[1] == "unique_key"]
    assert len(dup) == 1 and "date=2021-02-01" in dup[0][3] and "product_code=A1" in dup[0][3]


def test_findings_name_the_file_and_rule(refreshed):
    _, con = refreshed
    source_file, message = con.execute(
        "SELECT source_file, message FROM dq_issues WHERE offending_value = '2020-13-01'").fetchone()
    assert source_file.endswith("fact_sales_monthly.csv")
    assert message.startswith("rule 2:")


def test_rejected_rows_reach_no_measure(refreshed):
    _, con = refreshed
    # good sales: FY2020 10 units; FY2021 20 + 3 + 5 units; nothing else
    by_year = dict(con.execute("SELECT fiscal_year, SUM(sold_quantity) FROM agg_customer_product_yearly "
                               "GROUP BY 1").fetchall())
    assert by_year == {2020: 10.0, 2021: 28.0}
    # the first A1 FY2021 price (16.0) wins over its duplicate (17.0); rejected rates count as missing
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT customer_code, gross_sales, pre_invoice_deduction, net_sales, manufacturing_cost "
        "FROM agg_customer_product_yearly WHERE fiscal_year = 2021").fetchall()}
    assert rows["70001"] == pytest.approx((320.0, 64.0, 225.28, 90.0))
    assert rows["70003"] == pytest.approx((1500.0, 0.0, 1500.0, 600.0))   # pre-invoice 1.5 was rejected
    assert rows["70004"] == pytest.approx((80.0, 0.0, 80.0, 22.5))
    forecast = con.execute("SELECT SUM(forecast_quantity) FROM agg_customer_product_yearly").fetchone()[0]
    assert forecast == 25.0


def test_missing_lookups_are_reported(refreshed):
    _, con = refreshed
    findings = set(con.execute("SELECT rule, severity, row_key FROM dq_issues "
                               "WHERE severity <> 'rejected'").fetchall())
    assert ("missing_pre_invoice_deduction", "warning", "customer_code=70003, fiscal_year=2021") in findings
    assert ("missing_freight_cost", "warning", "market=USA, fiscal_year=2021") in findings
    assert ("geography_mapping", "warning", "market=Chile") in findings
    assert ("geography_mapping", "warning", "customer_code=70005") in findings


def test_geography_keeps_na_and_maps_unknowns_to_unassigned(refreshed):
    _, con = refreshed
    regions = dict(con.execute("SELECT customer_code, region FROM dim_customer").fetchall())
    assert regions["70003"] == "NA"          # North America, not a missing value
    assert regions["70004"] == "Unassigned"  # Chile has no region
    assert regions["70005"] == "Unassigned"  # Atlantis is not in dim_market
    assert "70006" not in regions and "70007" not in regions
    # both Voltmart codes share one (trimmed) name in the same market
    names = con.execute("SELECT customer FROM dim_customer WHERE customer_code IN ('70001', '70002')").fetchall()
    assert names == [("Voltmart",), ("Voltmart",)]
    products = dict(con.execute("SELECT product_code, product FROM dim_product").fetchall())
    assert products == {"A1": "Glide, Wireless", "A2": 'Raptor "X"'}


def test_run_summary_counts_reads_and_rejects(refreshed):
    summary, con = refreshed
    assert summary.rows_read["fact_sales_monthly"] == 15
    # 9 rows break a rule on their own; the 2 rows sharing a key are found when the facts are combined
    assert summary.rows_rejected["fact_sales_monthly"] == 11
    assert summary.rejected_by_rule["unique_key"] == 2 + 1 + 1 + 1  # sales pair, customer, product, price
    assert summary.rejected_by_rule["valid_date"] == 3
    status, rejected = con.execute("SELECT status, rows_rejected FROM etl_runs").fetchone()
    assert status == "succeeded" and rejected == sum(summary.rows_rejected.values())


def test_too_many_rejects_fail_the_refresh_and_leave_the_warehouse(spark, tmp_path, refreshed):
    source = write_source(tmp_path / "source")
    db = tmp_path / "bims.duckdb"
    good = write_source(tmp_path / "good", {k: v for k, v in SOURCE.items()})
    url = f"duckdb:///{db}"
    refresh(str(good), Settings.from_env(warehouse_url=url, max_reject_share=0.9), show=lambda _: None,
            spark=spark)
    with duckdb.connect(str(db), read_only=True) as con:
        before = con.execute("SELECT SUM(net_sales) FROM agg_customer_product_yearly").fetchone()[0]
    with pytest.raises(RejectLimitExceeded, match="fact_sales_monthly"):
        refresh(str(source), Settings.from_env(warehouse_url=url), show=lambda _: None, spark=spark)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT SUM(net_sales) FROM agg_customer_product_yearly").fetchone()[0] == before
        statuses = [r[0] for r in con.execute("SELECT status FROM etl_runs ORDER BY started_at").fetchall()]
        assert statuses == ["succeeded", "failed"]
        failed_run = con.execute("SELECT run_id FROM etl_runs WHERE status = 'failed'").fetchone()[0]
        assert con.execute("SELECT count(*) FROM dq_issues WHERE run_id = ?", [failed_run]).fetchone()[0] > 0


# Rule 2 and rule 6 read text with character tests and Spark's casts (cheaper
# than a regular expression and a date formatter); these are the verdicts the
# brief asks for, written out by hand, on the edge cases of both.
DATE_TEXTS = {
    "2020-09-01": "2020-09-01", "2020-02-29": "2020-02-29", "0001-01-01": "0001-01-01",
    "2021-02-29": None, "2020-13-01": None, "2020-00-10": None, "2020-9-01": None, "2020-09-1": None,
    "20200901": None, "2020/09/01": None, "2020-09-01T00": None, "2020-09-0T": None, "2020-09": None,
    "2o20-09-01": None, "09-01-2020": None, "2020-09-01 12:00:00": None, "yyyy-mm-dd": None,
}
DECIMAL_TEXTS = {
    "12": 12.0, "-0.5": -0.5, "+.5": 0.5, "3.": 3.0, ".25": 0.25, "007": 7.0, "0.1234567890123": 0.1234567890123,
    "4,5": None, "1e5": None, "1E5": None, "NaN": None, "Infinity": None, "-inf": None, "0x10": None,
    "1d": None, "2f": None, ".": None, "-": None, "+-1": None, "1.2.3": None, "1-2": None, "12 000": None,
}


def test_dates_read_only_as_yyyy_mm_dd_calendar_days(spark):
    from pyspark.sql import functions as F

    from etl.validate import iso_date

    frame = spark.createDataFrame([(t,) for t in DATE_TEXTS], "text string")
    days = frame.select("text", F.expr(iso_date("`text`")).cast("string").alias("day"))
    got = {r["text"]: r["day"] for r in days.collect()}
    assert got == DATE_TEXTS


def test_numbers_read_only_as_plain_decimals(spark):
    from pyspark.sql import functions as F

    from etl.validate import plain_decimal

    frame = spark.createDataFrame([(t,) for t in DECIMAL_TEXTS], "text string")
    values = frame.select("text", F.expr(plain_decimal("`text`")).alias("value"))
    got = {r["text"]: r["value"] for r in values.collect()}
    assert got == DECIMAL_TEXTS


def test_typed_parquet_values_are_checked_by_the_same_rules(spark):
    """Parquet sources hold dates and numbers typed: they are read as they are
    (not turned into text first) and break the same rules text would."""
    import datetime as dt

    from pyspark.sql import functions as F

    from etl.schema import TABLES
    from etl.validate import KnownCodes, check_table

    d = dt.date
    rows = [
        ("70001", "A1", d(2020, 9, 1), 0.1, 0.02, None),                      # clean
        ("70001", "A1", None, 0.1, 0.02, ("required_value", "date")),         # NULL date
        ("70001", "A1", d(2020, 9, 15), 0.1, 0.02, ("valid_date", "date")),   # not a month's first day
        ("70001", "A1", d(1899, 9, 1), 0.1, 0.02, ("valid_date", "date")),    # out of range
        ("70001", "A1", d(2020, 9, 1), float("nan"), 0.02, ("numeric_value", "discounts_pct")),
        ("70001", "A1", d(2020, 9, 1), 0.1, None, ("required_value", "other_deductions_pct")),
        ("70001", "A1", d(2020, 9, 1), -0.1, 0.02, ("value_range", "discounts_pct")),
        ("70001", "A1", d(2020, 9, 1), 0.1, 1.0, ("value_range", "other_deductions_pct")),
        ("99999", "A1", d(2020, 9, 1), 0.1, 0.02, ("known_reference", "customer_code")),
    ]
    frame = spark.createDataFrame(
        [r[:5] + (i,) for i, r in enumerate(rows)],
        "customer_code string, product_code string, date date, discounts_pct double, "
        "other_deductions_pct double, _row_id long",
    ).withColumn("_source_file", F.lit("post_invoice_deductions.parquet"))
    spec = TABLES["post_invoice_deductions"]
    flagged = check_table(frame, spec, Settings(),
                          {"customer_code": KnownCodes(["70001"]), "product_code": KnownCodes(["A1"])})
    got = {r["_row_id"]: (r["_rule"], r["_column"]) if r["_rule"] else None for r in flagged.collect()}
    assert got == {i: r[5] for i, r in enumerate(rows)}


def _post_invoice_rows(spark, customers):
    import datetime as dt

    from pyspark.sql import functions as F

    return spark.createDataFrame(
        [(c, "A1", dt.date(2020, 9, 1), 0.1, 0.02, i) for i, c in enumerate(customers)],
        "customer_code string, product_code string, date date, discounts_pct double, "
        "other_deductions_pct double, _row_id long",
    ).withColumn("_source_file", F.lit("post_invoice_deductions.parquet"))


def test_codes_from_the_data_are_never_read_as_sql(spark):
    """The checks are Spark SQL text; rule 4's known codes are not part of it, so
    a code with quotes, backslashes or SQL in it is matched as the string it is."""
    from etl.schema import TABLES
    from etl.validate import KnownCodes, check_table

    odd = ["x') OR TRUE --", "a\\'b", "`c`", "d''e"]
    known = {"customer_code": KnownCodes(odd), "product_code": KnownCodes(["A1"])}
    rows = [*odd, "x", "a'b", "c", "d'e"]
    flagged = check_table(_post_invoice_rows(spark, rows), TABLES["post_invoice_deductions"], Settings(), known)
    got = {r["customer_code"]: r["_rule"] for r in flagged.collect()}
    assert got == {"x') OR TRUE --": None, "a\\'b": None, "`c`": None, "d''e": None,
                   "x": "known_reference", "a'b": "known_reference", "c": "known_reference",
                   "d'e": "known_reference"}


def test_known_codes_reach_the_jvm_once_for_every_table_that_checks_them(spark, monkeypatch):
    """PySpark hands a list to the JVM one element per call: with the codes
    held once (KnownCodes), checking a second table costs a few hundred calls
    into the JVM, not one per code (2,090 customers at scale 10, four tables)."""
    import py4j.clientserver

    from etl.schema import TABLES
    from etl.validate import KnownCodes, check_table

    known = {"customer_code": KnownCodes(f"C{i:05d}" for i in range(3000)), "product_code": KnownCodes(["A1"])}
    spec = TABLES["post_invoice_deductions"]
    first, second = _post_invoice_rows(spark, ["C00007"]), _post_invoice_rows(spark, ["C99999"])
    calls = []
    send = py4j.clientserver.ClientServerConnection.send_command

    def counted(connection, command):
        calls.append(command)
        return send(connection, command)

    monkeypatch.setattr(py4j.clientserver.ClientServerConnection, "send_command", counted)
    check_table(first, spec, Settings(), known)
    first_calls = len(calls)
    checked = check_table(second, spec, Settings(), known)
    second_calls = len(calls) - first_calls
    monkeypatch.undo()
    assert first_calls > 3000  # the codes went over once, one call each
    assert second_calls < 300, second_calls
    assert [r["_rule"] for r in checked.collect()] == ["known_reference"]


def test_a_short_row_is_read_by_spark_named_in_the_output_and_rejected(spark, tmp_path):
    """Arrow cannot copy a CSV with a row of too few fields: the refresh says which
    file and row, Spark's reader reads the file, and rule 7 rejects the row."""
    tables = dict(SOURCE, fact_forecast_monthly=SOURCE["fact_forecast_monthly"].rstrip() + "\n2020-11-01,A1,70001\n")
    source = write_source(tmp_path / "source", tables)
    url = f"duckdb:///{tmp_path / 'bims.duckdb'}"
    lines: list[str] = []

    refresh(str(source), Settings.from_env(warehouse_url=url, max_reject_share=0.9), show=lines.append, spark=spark)

    path = source / "fact_forecast_monthly.csv"
    assert [line for line in lines if "CSV reader" in line] == [
        f"warning    {path} is read by Spark's slower CSV reader: Expected 4 columns, got 3: 2020-11-01,A1,70001"]
    with duckdb.connect(str(tmp_path / "bims.duckdb"), read_only=True) as con:
        found = con.execute("SELECT rule, column_name, row_key FROM dq_issues WHERE table_name = "
                            "'fact_forecast_monthly' AND row_key LIKE 'date=2020-11-01%'").fetchall()
    assert found == [("required_value", "forecast_quantity", "date=2020-11-01, product_code=A1, customer_code=70001")]
