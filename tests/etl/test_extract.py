"""Extract: finding the source tables in a folder or an s3:// prefix and reading
them as raw values.

Local sources are tiny hand-written files whose every value is known; the S3
tests run against moto's server on a loopback port, with a generated sample
uploaded twice (CSV and Parquet). A full `python -m etl refresh` from S3 runs
in a subprocess: the S3 tests come first so that it starts early and runs
while the local tests do; the last test waits for it and checks the warehouse.
"""
from __future__ import annotations

import datetime as dt
import gzip
import os
import subprocess
import sys
from functools import reduce
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from etl.extract import SourceError, extract  # noqa: E402
from etl.generate import generate  # noqa: E402
from etl.schema import TABLES  # noqa: E402
from tests.moto_s3 import moto_s3  # noqa: E402

REQUIRED = ["dim_customer", "dim_product", "fact_sales_monthly", "gross_price", "manufacturing_cost",
            "pre_invoice_deductions"]
OPTIONAL = ["dim_market", "fact_forecast_monthly", "post_invoice_deductions", "freight_cost"]

# One row per required table, under its schema name (LF endings, no BOM).
MINIMAL = {
    "dim_customer": ["customer_code,customer,market,platform,channel",
                     "90002002,Atliq Exclusive,India,Brick & Mortar,Direct"],
    "dim_product": ["product_code,division,segment,category,product,variant",
                    "A0118150101,P & A,Peripherals,Internal HDD,AQ Dracula HDD,Standard"],
    "fact_sales_monthly": ["date,product_code,customer_code,sold_quantity",
                           "2020-09-01,A0118150101,90002002,5"],
    "gross_price": ["product_code,fiscal_year,gross_price", "A0118150101,2021,15.3952"],
    "manufacturing_cost": ["product_code,cost_year,manufacturing_cost", "A0118150101,2021,5.0207"],
    "pre_invoice_deductions": ["customer_code,fiscal_year,pre_invoice_discount_pct", "90002002,2021,0.0703"],
}


def write_csv(path: Path, lines: list[str], *, crlf: bool = False, bom: bool = False) -> Path:
    end = "\r\n" if crlf else "\n"
    data = ("\ufeff" if bom else "") + end.join(lines) + end
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8"))
    return path


def minimal_source(folder: Path, skip: tuple[str, ...] = (), names: dict[str, str] | None = None) -> Path:
    """The six required tables, one row each; `names` renames a table's file stem."""
    names = names or {}
    for table, lines in MINIMAL.items():
        if table not in skip:
            write_csv(folder / f"{names.get(table, table)}.csv", lines)
    return folder


def rows(frame: DataFrame, *columns: str) -> list[tuple]:
    return sorted(tuple(r) for r in frame.select(*columns).collect())


# ================================================================== S3 ==
BUCKET = "bims-test"


@pytest.fixture(scope="module")
def s3():
    """moto's S3 on a loopback port, with the AWS variables pointing at it."""
    with moto_s3(BUCKET):
        yield


@pytest.fixture(scope="module")
def s3_data(s3, tmp_path_factory) -> dict[str, Path]:
    """The same generated sample as CSV (s3://bucket/csv) and as Parquet
    (s3://bucket/parquet, the sales as a folder of two part files)."""
    from pyarrow import fs

    from etl.extract import s3_filesystem

    local = {"csv": tmp_path_factory.mktemp("s3-csv"), "parquet": tmp_path_factory.mktemp("s3-parquet")}
    generate(local["csv"], scale=0.01, seed=7)
    generate(local["parquet"], scale=0.01, seed=7, fmt="parquet")
    single = local["parquet"] / "fact_sales_monthly.parquet"
    sales = pq.read_table(single)
    parts = local["parquet"] / "fact_sales_monthly"
    parts.mkdir()
    half = sales.num_rows // 2
    pq.write_table(sales.slice(0, half), parts / "part-00000.snappy.parquet")
    pq.write_table(sales.slice(half), parts / "part-00001.snappy.parquet")
    (parts / "_SUCCESS").write_bytes(b"")
    single.unlink()

    s3fs = s3_filesystem()
    for prefix, folder in local.items():
        fs.copy_files(str(folder), f"{BUCKET}/{prefix}", destination_filesystem=s3fs)
    # A prefix holding no tables, and one holding the same table twice.
    with s3fs.open_output_stream(f"{BUCKET}/notables/readme.txt") as f:
        f.write(b"nothing to see")
    for name in ("gross_price.csv", "fact_gross_price.csv"):
        fs.copy_files(str(local["csv"] / "gross_price.csv"), f"{BUCKET}/dups/{name}", destination_filesystem=s3fs)
    return local


@pytest.fixture(scope="module")
def cli_refresh(s3_data, tmp_path_factory):
    """`python -m etl refresh` from s3://bucket/csv, started in the background as
    soon as the data is uploaded (the moto server in this process keeps serving
    it) so that its minute of Spark work overlaps the other tests; the last test
    of the module waits for it and checks the warehouse."""
    work = tmp_path_factory.mktemp("cli-refresh")
    db = work / "w.duckdb"
    env = dict(os.environ, BIMS_LOG_DIR=str(work / "logs"), SPARK_MASTER="local[2]",
               BIMS_SHUFFLE_PARTITIONS="2", BIMS_SPARK_DRIVER_MEMORY="1g")
    env.pop("BIMS_WAREHOUSE", None)
    output = work / "output.txt"
    with open(output, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "etl", "refresh", "--source", f"s3://{BUCKET}/csv",
             "--warehouse", f"duckdb:///{db}"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    yield {"proc": proc, "db": db, "output": output}
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def local_counts(folder: Path) -> dict[str, int]:
    counts = {}
    for path in folder.iterdir():
        stem = path.name.split(".")[0]
        if path.suffix == ".csv":
            counts[stem] = len(pd.read_csv(path, dtype=str, keep_default_na=False))
        else:
            counts[stem] = pq.read_table(path).num_rows
    return counts


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_s3_prefix_extracts_all_ten_tables_with_s3_uris(spark, s3_data, cli_refresh, tmp_path, fmt):
    # (cli_refresh only starts the end-to-end refresh early; test_cli_refresh_from_s3 checks it.)
    extracted = extract(spark, f"s3://{BUCKET}/{fmt}", tmp_path / "staging")

    assert sorted(extracted.frames) == sorted(TABLES)
    assert extracted.missing_optional == [] and extracted.layout == "full"
    found = reduce(DataFrame.unionByName, [
        frame.select(F.lit(name).alias("table"), "_source_file") for name, frame in extracted.frames.items()
    ]).groupBy("table", "_source_file").count().collect()
    counts = {r["table"]: r["count"] for r in found}
    files = {r["table"]: r["_source_file"] for r in found}
    assert len(found) == 10  # one source file per table
    # The dimensions keep their real sizes at any scale below 1.
    assert {t: counts[t] for t in ("dim_customer", "dim_market", "dim_product", "pre_invoice_deductions",
                                   "freight_cost")} == {"dim_customer": 209, "dim_market": 27,
                                                        "dim_product": 397, "pre_invoice_deductions": 1045,
                                                        "freight_cost": 135}
    assert counts == local_counts(s3_data[fmt])
    expected = {t: f"s3://{BUCKET}/{fmt}/{t}.{fmt}" for t in TABLES}
    if fmt == "parquet":
        expected["fact_sales_monthly"] = f"s3://{BUCKET}/parquet/fact_sales_monthly"
    assert files == expected
    assert {t: f.shown_as for t, f in extracted.files.items()} == expected
    # Values as the files hold them: CSV codes are strings, Parquet keeps its types.
    sales_types = dict(extracted.frames["fact_sales_monthly"].dtypes)
    assert (sales_types["date"], sales_types["sold_quantity"]) == (
        ("string", "string") if fmt == "csv" else ("date", "bigint"))


def test_s3_prefix_without_tables_names_the_missing_tables(spark, s3_data, tmp_path):
    for prefix in ("notables", "empty-prefix"):
        staging = tmp_path / prefix
        with pytest.raises(SourceError) as err:
            extract(spark, f"s3://{BUCKET}/{prefix}", staging)
        message = str(err.value)
        assert f"s3://{BUCKET}/{prefix}" in message
        for table in REQUIRED:
            assert table in message, message
        assert str(staging) not in message


def test_s3_duplicate_table_names_both_s3_uris(spark, s3_data, tmp_path):
    with pytest.raises(SourceError) as err:
        extract(spark, f"s3://{BUCKET}/dups", tmp_path / "staging")

    assert f"s3://{BUCKET}/dups/gross_price.csv" in str(err.value)
    assert f"s3://{BUCKET}/dups/fact_gross_price.csv" in str(err.value)
    assert str(tmp_path) not in str(err.value)


def test_s3_missing_bucket_is_a_source_error(spark, s3_data, tmp_path):
    with pytest.raises(SourceError) as err:
        extract(spark, "s3://no-such-bucket-bims/csv", tmp_path / "staging")

    assert "s3://no-such-bucket-bims/csv" in str(err.value)


# ------------------------------------------------------------ CSV dialect --
def staged(frame: DataFrame) -> list[str]:
    """The files a frame reads, named by their last two path parts."""
    return sorted("/".join(Path(f).parts[-2:]) for f in frame.inputFiles())


@pytest.mark.parametrize("csv_reader", ["arrow", "spark"])
def test_windows_csv_with_bom_quotes_and_messy_headers_reads_values_exactly(spark, tmp_path, csv_reader):
    source = minimal_source(tmp_path / "source", skip=("dim_customer", "fact_sales_monthly"))
    write_csv(source / "dim_customer.csv", [
        " Customer_Code ,CUSTOMER, Market ,PLATFORM , channel,Sub_Zone,  REGION  ",
        '00123,"Atliq ""Exclusive"", Inc",USA,Brick & Mortar,Direct,NA,NA',
        "90002002,Amazon ,USA,E-Commerce,Retailer,NA,NA",
        "",
        "90002003,Chiptec,Chile,Brick & Mortar,Distributor,,",
        '90002004,"Plain",India,E-Commerce,Retailer,"","APAC"',
    ], crlf=True, bom=True)
    write_csv(source / "fact_sales_monthly.csv", [
        "DATE,Product_Code,Customer_Code,Sold_Quantity",
        "2020-09-01,00042,00123,0",
        "2020-10-01,A0118150101,90002002,17",
    ], crlf=True, bom=True)

    extracted = extract(spark, str(source), tmp_path / "staging", csv_reader=csv_reader)

    # Arrow copies each CSV into Parquet string columns first; Spark reads the CSV.
    assert staged(extracted.frames["dim_customer"]) == (
        ["dim_customer/part-00000.parquet"] if csv_reader == "arrow" else ["source/dim_customer.csv"])

    customers = extracted.frames["dim_customer"]
    assert customers.columns == ["customer_code", "customer", "market", "platform", "channel", "sub_zone",
                                 "region", "_source_file", "_row_id"]
    assert all(t == "string" for c, t in customers.dtypes if c != "_row_id")
    assert rows(customers, "customer_code", "customer", "market", "platform", "channel", "sub_zone", "region") == [
        ("00123", 'Atliq "Exclusive", Inc', "USA", "Brick & Mortar", "Direct", "NA", "NA"),
        ("90002002", "Amazon ", "USA", "E-Commerce", "Retailer", "NA", "NA"),
        ("90002003", "Chiptec", "Chile", "Brick & Mortar", "Distributor", None, None),
        ("90002004", "Plain", "India", "E-Commerce", "Retailer", None, "APAC"),
    ]
    sales = extracted.frames["fact_sales_monthly"]
    assert rows(sales, "date", "product_code", "customer_code", "sold_quantity", "fiscal_year") == [
        ("2020-09-01", "00042", "00123", "0", None),
        ("2020-10-01", "A0118150101", "90002002", "17", None),
    ]
    # The last column of every CRLF line: no carriage return left on it.
    last = [r[0] for r in customers.select("region").collect() + sales.select("sold_quantity").collect()]
    assert not any(v is not None and "\r" in v for v in last)
    assert rows(customers, "_source_file") == [(str(source / "dim_customer.csv"),)] * 4
    assert customers.select("_row_id").distinct().count() == 4


def test_arrow_stages_gzipped_and_part_folder_csv_and_leaves_parquet_alone(spark, tmp_path):
    source = minimal_source(tmp_path / "source", skip=("fact_sales_monthly", "dim_product", "gross_price"))
    header = "date,product_code,customer_code,sold_quantity"
    write_csv(source / "fact_sales_monthly" / "part-0001.csv", [header, "2020-10-01,A0118150101,90002002,2"])
    write_csv(source / "fact_sales_monthly" / "part-0000.csv", [header, "2020-09-01,A0118150101,90002002,1"])
    (source / "fact_sales_monthly" / "_SUCCESS").write_bytes(b"")
    with gzip.open(source / "dim_product.csv.gz", "wt", encoding="utf-8", newline="") as f:
        f.write("\n".join(MINIMAL["dim_product"]) + "\n")
    pq.write_table(pa.table({"product_code": ["A0118150101"], "fiscal_year": [2021], "gross_price": [15.3952]}),
                   source / "gross_price.parquet")

    extracted = extract(spark, str(source), tmp_path / "staging", csv_reader="arrow")

    frames = extracted.frames
    assert staged(frames["fact_sales_monthly"]) == ["fact_sales_monthly/part-00000.parquet",
                                                    "fact_sales_monthly/part-00001.parquet"]
    assert rows(frames["fact_sales_monthly"], "date", "sold_quantity", "_source_file") == [
        ("2020-09-01", "1", str(source / "fact_sales_monthly")), ("2020-10-01", "2", str(source / "fact_sales_monthly"))]
    assert staged(frames["dim_product"]) == ["dim_product/part-00000.parquet"]
    assert rows(frames["dim_product"], "product_code", "division", "variant") == [("A0118150101", "P & A", "Standard")]
    assert staged(frames["gross_price"]) == ["source/gross_price.parquet"]
    assert rows(frames["gross_price"], "fiscal_year", "gross_price") == [(2021, 15.3952)]
    # What the user named stays the table's file, whoever read it.
    assert extracted.files["dim_product"].path == str(source / "dim_product.csv.gz")


def test_a_csv_arrow_cannot_read_as_spark_does_is_left_to_spark(spark, tmp_path):
    """Rows with a field too few or too many, and bytes that are not UTF-8:
    Spark's reader takes those files, so the rows reach validate as before
    (the short row's missing field empty, the long row's extra field dropped,
    an unreadable byte replaced) and are judged by the same rules."""
    source = minimal_source(tmp_path / "source", skip=("fact_sales_monthly", "dim_product"))
    write_csv(source / "fact_sales_monthly.csv", [
        "date,product_code,customer_code,sold_quantity",
        "2020-09-01,A0118150101,90002002,5",
        "2020-10-01,A0118150101,90002002",
        "2020-11-01,A0118150101,90002002,7,extra",
    ])
    header, row = MINIMAL["dim_product"]
    (source / "dim_product.csv").write_bytes(f"{header}\n".encode() + row.encode().replace(b"Standard", b"Stand\xe4rd")
                                             + b"\n")

    extracted = extract(spark, str(source), tmp_path / "staging", csv_reader="arrow")

    frames = extracted.frames
    assert staged(frames["fact_sales_monthly"]) == ["source/fact_sales_monthly.csv"]
    assert rows(frames["fact_sales_monthly"], "date", "sold_quantity") == [
        ("2020-09-01", "5"), ("2020-10-01", None), ("2020-11-01", "7")]
    assert staged(frames["dim_product"]) == ["source/dim_product.csv"]
    assert rows(frames["dim_product"], "variant") == [("Stand\ufffdrd",)]
    assert staged(frames["dim_customer"]) == ["dim_customer/part-00000.parquet"]  # the others are still staged
    # Why, for the refresh to tell the user: the file and the first row Arrow could not read.
    assert extracted.read_by_spark[str(source / "fact_sales_monthly.csv")] == (
        "Expected 4 columns, got 3: 2020-10-01,A0118150101,90002002")
    assert extracted.read_by_spark[str(source / "dim_product.csv")] == (
        "In CSV column #5: CSV conversion error to string: invalid UTF8 data")
    assert sorted(extracted.read_by_spark) == [str(source / "dim_product.csv"), str(source / "fact_sales_monthly.csv")]


# ------------------------------------------------------ names and formats --
@pytest.mark.parametrize("names", [
    {"fact_sales_monthly": "sales_monthly", "gross_price": "fact_gross_price"},
    {"fact_sales_monthly": "fact_sales_monthly", "gross_price": "gross_price"},
    {"manufacturing_cost": "fact_manufacturing_cost", "pre_invoice_deductions": "fact_pre_invoice_deductions"},
], ids=["unprefixed-sales+prefixed-price", "schema-names", "adhoc-prefixes"])
def test_table_files_are_found_with_or_without_the_fact_prefix(spark, tmp_path, names):
    extracted = extract(spark, str(minimal_source(tmp_path, names=names)))

    assert sorted(extracted.frames) == sorted(REQUIRED)
    for table, stem in names.items():
        assert extracted.files[table].path == str(tmp_path / f"{stem}.csv")
    assert rows(extracted.frames["fact_sales_monthly"], "date", "product_code", "customer_code",
                "sold_quantity") == [("2020-09-01", "A0118150101", "90002002", "5")]
    assert rows(extracted.frames["gross_price"], "product_code", "fiscal_year", "gross_price") == [
        ("A0118150101", "2021", "15.3952")]
    assert rows(extracted.frames["pre_invoice_deductions"], "customer_code", "fiscal_year",
                "pre_invoice_discount_pct") == [("90002002", "2021", "0.0703")]


def test_parquet_part_folder_single_parquet_file_and_gzipped_csv_are_tables(spark, tmp_path):
    source = minimal_source(tmp_path, skip=("fact_sales_monthly", "gross_price", "dim_product"))
    # A folder as Spark writes it: part files, a _SUCCESS marker and checksum files.
    sales_schema = pa.schema([("date", pa.date32()), ("product_code", pa.string()),
                              ("customer_code", pa.string()), ("sold_quantity", pa.int64())])
    parts = tmp_path / "fact_sales_monthly"
    parts.mkdir()
    pq.write_table(pa.table({"date": [dt.date(2020, 9, 1), dt.date(2020, 10, 1)],
                             "product_code": ["A0118150101", "00042"], "customer_code": ["90002002", "00123"],
                             "sold_quantity": [5, 0]}, schema=sales_schema), parts / "part-0000.parquet")
    pq.write_table(pa.table({"date": [dt.date(2021, 8, 1)], "product_code": ["A0118150101"],
                             "customer_code": ["90002002"], "sold_quantity": [3_000_000_000]},
                            schema=sales_schema), parts / "part-0001.parquet")
    (parts / "_SUCCESS").write_bytes(b"")
    pq.write_table(pa.table({"product_code": ["A0118150101"], "fiscal_year": [2021], "gross_price": [15.3952]},
                            schema=pa.schema([("product_code", pa.string()), ("fiscal_year", pa.int64()),
                                              ("gross_price", pa.float64())])), tmp_path / "gross_price.parquet")
    with gzip.open(tmp_path / "dim_product.csv.gz", "wt", encoding="utf-8", newline="") as f:
        f.write("\n".join(MINIMAL["dim_product"]) + "\n")

    extracted = extract(spark, str(source))

    assert extracted.files["fact_sales_monthly"].fmt == "parquet"
    assert extracted.files["fact_sales_monthly"].path == str(parts)
    sales = extracted.frames["fact_sales_monthly"]
    assert dict(sales.dtypes) == {"date": "date", "product_code": "string", "customer_code": "string",
                                  "sold_quantity": "bigint", "fiscal_year": "string",
                                  "_source_file": "string", "_row_id": "bigint"}
    assert rows(sales, "date", "product_code", "customer_code", "sold_quantity", "fiscal_year") == [
        (dt.date(2020, 9, 1), "A0118150101", "90002002", 5, None),
        (dt.date(2020, 10, 1), "00042", "00123", 0, None),
        (dt.date(2021, 8, 1), "A0118150101", "90002002", 3_000_000_000, None),
    ]
    assert rows(sales, "_source_file") == [(str(parts),)] * 3
    price = extracted.frames["gross_price"]
    assert dict(price.dtypes)["fiscal_year"] == "bigint" and dict(price.dtypes)["gross_price"] == "double"
    assert rows(price, "product_code", "fiscal_year", "gross_price") == [("A0118150101", 2021, 15.3952)]
    assert extracted.files["dim_product"].fmt == "csv"
    assert rows(extracted.frames["dim_product"], "product_code", "division", "variant") == [
        ("A0118150101", "P & A", "Standard")]


# -------------------------------------------------- denormalised columns --
def test_denormalised_extra_columns_are_dropped(spark, tmp_path):
    source = minimal_source(tmp_path, skip=("fact_sales_monthly",))
    write_csv(tmp_path / "fact_sales_monthly.csv", [
        "date,market,product_code,customer_code,customer_name,division,sold_quantity,fiscal_year,category",
        "2020-09-01,India,A0118150101,90002002,Atliq Exclusive,P & A,5,2021,Internal HDD",
    ])

    sales = extract(spark, str(source)).frames["fact_sales_monthly"]

    assert sales.columns == ["date", "product_code", "customer_code", "sold_quantity", "fiscal_year",
                             "_source_file", "_row_id"]
    assert rows(sales, "date", "product_code", "customer_code", "sold_quantity", "fiscal_year") == [
        ("2020-09-01", "A0118150101", "90002002", "5", "2021")]


# ------------------------------------------------------- missing pieces --
def test_missing_required_tables_are_each_named(spark, tmp_path):
    source = minimal_source(tmp_path, skip=("fact_sales_monthly", "gross_price", "pre_invoice_deductions"))
    write_csv(tmp_path / "readme.txt", ["not a table"])

    with pytest.raises(SourceError) as err:
        extract(spark, str(source))

    message = str(err.value)
    for table in ("fact_sales_monthly", "gross_price", "pre_invoice_deductions"):
        assert table in message
    for present in ("dim_customer", "dim_product", "manufacturing_cost"):
        assert present not in message


def test_missing_source_folder_is_a_source_error(spark, tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        extract(spark, str(tmp_path / "nowhere"))


def test_missing_required_column_names_table_and_column(spark, tmp_path):
    source = minimal_source(tmp_path, skip=("dim_product",))
    write_csv(tmp_path / "dim_product.csv", ["product_code,division,segment,category,product",
                                             "A0118150101,P & A,Peripherals,Internal HDD,AQ Dracula HDD"])

    with pytest.raises(SourceError) as err:
        extract(spark, str(source))

    assert "dim_product" in str(err.value) and "variant" in str(err.value)


def test_missing_optional_tables_are_listed_not_fatal(spark, tmp_path):
    extracted = extract(spark, str(minimal_source(tmp_path)))

    assert sorted(extracted.missing_optional) == sorted(OPTIONAL)
    assert sorted(extracted.frames) == sorted(REQUIRED)
    assert extracted.layout == "adhoc"
    # A missing optional column is an empty column, not an error.
    assert rows(extracted.frames["dim_customer"], "customer_code", "sub_zone", "region") == [("90002002", None, None)]


@pytest.mark.parametrize("layout, expected_missing", [("adhoc", OPTIONAL), ("full", [])])
def test_layout_of_generated_samples(spark, tmp_path, layout, expected_missing):
    generate(tmp_path, scale=0.01, seed=7, layout=layout)

    extracted = extract(spark, str(tmp_path))

    assert extracted.layout == layout
    assert sorted(extracted.missing_optional) == sorted(expected_missing)
    assert sorted(extracted.frames) == sorted(REQUIRED + [t for t in OPTIONAL if t not in expected_missing])
    if layout == "adhoc":
        assert extracted.files["gross_price"].path == str(tmp_path / "fact_gross_price.csv")
        # Geography rides on the customer and fiscal_year on the sales rows.
        assert extracted.frames["dim_customer"].where(F.col("region").isNull()).count() == 0
        assert extracted.frames["fact_sales_monthly"].where(F.col("fiscal_year").isNull()).count() == 0


# ---------------------------------------------------------- duplicates --
@pytest.mark.parametrize("first, second", [
    ("gross_price.csv", "fact_gross_price.csv"),
    ("sales_monthly.csv", "fact_sales_monthly.csv"),
    ("dim_product.csv", "dim_product.parquet"),
])
def test_two_files_for_one_table_name_both(spark, tmp_path, first, second):
    minimal_source(tmp_path)
    for name in (first, second):
        stem = name.split(".")[0]
        table = next(t for t in TABLES.values() if stem in t.file_names).name
        if name.endswith(".parquet"):
            header, *values = MINIMAL[table]
            pq.write_table(pa.table({c: [v] for c, v in zip(header.split(","), values[0].split(","))}),
                           tmp_path / name)
        else:
            write_csv(tmp_path / name, MINIMAL[table])

    with pytest.raises(SourceError) as err:
        extract(spark, str(tmp_path))

    assert str(tmp_path / first) in str(err.value)
    assert str(tmp_path / second) in str(err.value)


# ================================================ end to end, from S3 ==
def test_cli_refresh_from_s3_loads_every_sold_unit(s3_data, cli_refresh):
    try:
        returncode = cli_refresh["proc"].wait(timeout=300)
    except subprocess.TimeoutExpired:
        pytest.fail("python -m etl refresh from S3 ran for more than 5 minutes")
    output = cli_refresh["output"].read_text()

    assert returncode == 0, output
    sales = pd.read_csv(s3_data["csv"] / "fact_sales_monthly.csv", dtype=str, keep_default_na=False)
    expected = sales["sold_quantity"].astype(int).sum()
    assert len(sales) > 10_000 and expected > 0
    with duckdb.connect(str(cli_refresh["db"]), read_only=True) as con:
        loaded = con.execute("SELECT SUM(sold_quantity) FROM agg_customer_product_yearly").fetchone()[0]
        runs = con.execute("SELECT status, source, layout FROM etl_runs").fetchall()
    assert loaded == expected
    assert runs == [("succeeded", f"s3://{BUCKET}/csv", "full")]


# ------------------------------------------------ one fiscal year only --
@pytest.mark.parametrize("csv_reader", ["arrow", "spark"])
def test_a_fiscal_year_refresh_reads_that_years_rows_and_the_unreadable_ones(spark, tmp_path, csv_reader):
    source = minimal_source(tmp_path, skip=("fact_sales_monthly", "gross_price"))
    write_csv(tmp_path / "fact_sales_monthly.csv", [
        "date,product_code,customer_code,sold_quantity",
        "2020-08-01,A0118150101,90002002,1",  # FY2020's last month
        "2020-09-01,A0118150101,90002002,2",  # FY2021's first
        " 2021-08-01 ,A0118150101,90002002,3",  # FY2021's last, padded
        "2021-09-01,A0118150101,90002002,4",  # FY2022
        "2021-13-01,A0118150101,90002002,5",  # no year can be told: kept, so validate reports it
        ",A0118150101,90002002,6",  # no date: kept too
        "2019-02-30,A0118150101,90002002,7",  # not a calendar day: kept
        "2019-08-31,A0118150101,90002002,8",  # FY2019 (the day is rule 2's business): left out
        "\t2019-08-01,A0118150101,90002002,9",  # a tab is not trimmed, so no date: kept
    ])
    write_csv(tmp_path / "gross_price.csv", [
        "product_code,fiscal_year,gross_price", "A0118150101,2020,1", "A0118150101,2021,2",
        "A0118150101, 2022,3", "A0118150101,21,4", "A0118150101,,5"])

    extracted = extract(spark, str(source), tmp_path / "staging", fiscal_years=(2021,), fiscal_start_month=9,
                        csv_reader=csv_reader)

    assert rows(extracted.frames["fact_sales_monthly"], "sold_quantity") == [
        ("2",), ("3",), ("5",), ("6",), ("7",), ("9",)]
    assert rows(extracted.frames["gross_price"], "gross_price") == [("2",), ("4",), ("5",)]
    if csv_reader == "arrow":
        # The copy already left out the plain first-of-months of other years
        # (rows 1 and 4); anything else is left to Spark's own filter.
        copied = pq.read_table(tmp_path / "staging" / "csv-as-parquet" / "fact_sales_monthly")
        assert sorted(copied.column("sold_quantity").to_pylist()) == ["2", "3", "5", "6", "7", "8", "9"]


def test_the_copy_leaves_out_only_plain_first_of_months_outside_the_fiscal_years():
    import datetime as dt

    import pyarrow.compute as pc

    from etl.extract import months_outside

    values = ["2021-09-01", "2021-08-01", " 2020-01-01 ", "2022-08-01", "2022-09-01", "2021-08-15",
              "2021-02-30", "21-08-01", "2021/08/01", "", None, "1899-01-01", "\uff12\uff10\uff12\uff11-08-01",
              "2021-13-01", "2021-00-01", "\t2021-08-01", "2023-01-01", "2199-12-01", "2200-01-01"]
    fy2022 = months_outside([(dt.date(2021, 9, 1), dt.date(2022, 8, 1))])
    assert len(fy2022) == 300 * 12 - 12
    assert pc.is_in(pa.array(values, pa.string()), value_set=fy2022).to_pylist() == [
        False, True, False, False, True, False,
        False, False, False, False, False, False, False,
        False, False, False, True, True, False]
    # Two fiscal years: a month inside either is kept.
    two = months_outside([(dt.date(2020, 9, 1), dt.date(2021, 8, 1)), (dt.date(2022, 9, 1), dt.date(2023, 8, 1))])
    assert pc.is_in(pa.array(["2021-08-01", "2021-09-01", "2023-01-01", "2020-08-01"]),
                    value_set=two).to_pylist() == [False, True, False, True]


def test_a_fiscal_year_refresh_skips_other_years_inside_a_parquet_file(spark, tmp_path):
    """The year filter reaches the Parquet reader (no row id or other
    non-deterministic column stands in its way), which skips row groups whose
    dates all lie outside the year."""
    source = minimal_source(tmp_path, skip=("fact_sales_monthly",))
    months = [dt.date(2019 + (m + 8) // 12, (m + 8) % 12 + 1, 1) for m in range(36)]  # Sep 2019 .. Aug 2022
    pq.write_table(pa.table({"date": months, "product_code": ["A0118150101"] * 36,
                             "customer_code": ["90002002"] * 36, "sold_quantity": list(range(36))}),
                   tmp_path / "fact_sales_monthly.parquet", row_group_size=12)

    sales = extract(spark, str(source), fiscal_years=(2021,)).frames["fact_sales_monthly"]

    plan = sales._jdf.queryExecution().executedPlan().toString()
    assert "PushedFilters: [Or(IsNull(date),And(GreaterThanOrEqual(date,2020-09-01),LessThanOrEqual(date,2021-08-01)))]" in plan
    assert rows(sales, "sold_quantity") == [(n,) for n in range(12, 24)]
