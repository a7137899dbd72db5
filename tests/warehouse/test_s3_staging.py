"""S3 staging for COPY: Parquet part folders uploaded to moto's S3 server on a
loopback port (as the S3 source tests do), read back, and removed."""
from __future__ import annotations

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.moto_s3 import moto_s3
from warehouse import s3_staging
from warehouse.s3_staging import parquet_files, remove, upload_parquet_folder

BUCKET = "bims-staging-test"


@pytest.fixture(scope="module")
def s3():
    with moto_s3(BUCKET):
        yield boto3.client("s3")


def keys(client, prefix: str = "") -> list[str]:
    """The objects under a prefix, but pyarrow's empty "folder/" markers of
    prefixes above it (a COPY of the prefix does not see those)."""
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for o in listed.get("Contents", [])
                  if not (o["Key"].endswith("/") and prefix.startswith(o["Key"])))


def spark_folder(folder, rows: list[int]):
    """A table folder as Spark writes it: part files, _SUCCESS and .crc files."""
    folder.mkdir(parents=True)
    for i, value in enumerate(rows):
        name = f"part-{i:05d}-3f1c.c000.snappy.parquet"
        pq.write_table(pa.table({"customer_code": [f"9000{value}"], "net_sales": [value * 1.5]}), folder / name)
        (folder / f".{name}.crc").write_bytes(b"crc")
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / "._SUCCESS.crc").write_bytes(b"crc")
    return folder


def test_uploads_the_part_files_of_a_spark_folder(s3, tmp_path):
    folder = spark_folder(tmp_path / "dim_customer", [1, 2])

    uri = upload_parquet_folder(folder, f"s3://{BUCKET}/run-1")

    assert uri == f"s3://{BUCKET}/run-1/dim_customer/"
    assert keys(s3, "run-1/") == ["run-1/dim_customer/part-00000-3f1c.c000.snappy.parquet",
                                  "run-1/dim_customer/part-00001-3f1c.c000.snappy.parquet"]
    body = s3.get_object(Bucket=BUCKET, Key="run-1/dim_customer/part-00001-3f1c.c000.snappy.parquet")["Body"]
    assert pq.read_table(pa.BufferReader(body.read())).to_pylist() == [{"customer_code": "90002", "net_sales": 3.0}]


def test_a_name_and_a_trailing_slash(s3, tmp_path):
    folder = spark_folder(tmp_path / "out", [3])

    uri = upload_parquet_folder(folder, f"s3://{BUCKET}/staging/run-2/", name="agg_customer_product_yearly")

    assert uri == f"s3://{BUCKET}/staging/run-2/agg_customer_product_yearly/"
    assert keys(s3, "staging/run-2/") == [
        "staging/run-2/agg_customer_product_yearly/part-00000-3f1c.c000.snappy.parquet"]


def test_a_second_upload_replaces_what_the_destination_held(s3, tmp_path):
    upload_parquet_folder(spark_folder(tmp_path / "a" / "dim_product", [1, 2, 3]), f"s3://{BUCKET}/run-3")
    # A neighbour whose name starts the same is not touched.
    upload_parquet_folder(spark_folder(tmp_path / "b" / "dim_product_x", [4]), f"s3://{BUCKET}/run-3")

    upload_parquet_folder(spark_folder(tmp_path / "c" / "dim_product", [5]), f"s3://{BUCKET}/run-3")

    assert keys(s3, "run-3/") == ["run-3/dim_product/part-00000-3f1c.c000.snappy.parquet",
                                  "run-3/dim_product_x/part-00000-3f1c.c000.snappy.parquet"]
    body = s3.get_object(Bucket=BUCKET, Key="run-3/dim_product/part-00000-3f1c.c000.snappy.parquet")["Body"]
    assert pq.read_table(pa.BufferReader(body.read())).column("customer_code").to_pylist() == ["90005"]


def test_remove_deletes_the_prefix_and_only_it(s3, tmp_path):
    uri = upload_parquet_folder(spark_folder(tmp_path / "market_cost_rates_yearly", [1, 2]), f"s3://{BUCKET}/run-4")
    kept = upload_parquet_folder(spark_folder(tmp_path / "market_cost_rates_yearly_2", [1]), f"s3://{BUCKET}/run-4")

    remove(uri)

    assert keys(s3, "run-4/market_cost_rates_yearly") == [
        "run-4/market_cost_rates_yearly_2/part-00000-3f1c.c000.snappy.parquet"]
    remove(uri)  # again: nothing there, no error
    remove(kept.rstrip("/"))
    assert keys(s3, "run-4/market_cost_rates_yearly") == []


def test_a_folder_without_parquet_files_is_refused(s3, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "_SUCCESS").write_bytes(b"")

    with pytest.raises(FileNotFoundError, match="no Parquet files"):
        upload_parquet_folder(folder, f"s3://{BUCKET}/run-5")
    assert keys(s3, "run-5/") == []


@pytest.mark.parametrize("uri", [f"s3://{BUCKET}", f"s3://{BUCKET}/", "s3://", "/tmp/x", "s3a://b/x"])
def test_a_whole_bucket_or_a_non_s3_uri_is_refused(s3, tmp_path, uri):
    with pytest.raises(ValueError):
        remove(uri)
    with pytest.raises(ValueError):
        upload_parquet_folder(spark_folder(tmp_path / "t", [1]), uri)


def test_a_missing_bucket_is_an_error(s3, tmp_path):
    with pytest.raises(OSError):
        upload_parquet_folder(spark_folder(tmp_path / "t", [1]), "s3://no-such-bucket-bims/run-6")


def test_parquet_files_skips_spark_markers(tmp_path):
    folder = spark_folder(tmp_path / "t", [1, 2])
    (folder / "notes.txt").write_text("x")
    (folder / "sub.parquet").mkdir()

    assert [p.name for p in parquet_files(folder)] == ["part-00000-3f1c.c000.snappy.parquet",
                                                       "part-00001-3f1c.c000.snappy.parquet"]
    assert s3_staging.__doc__
