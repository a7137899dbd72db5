"""The checks the pipeline makes between its stages."""
from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from etl.pipeline import StagingNotShared, check_staged, write_staged
from etl.schema import CUSTOMER_ATTRIBUTES, MEASURES, PRODUCT_ATTRIBUTES
from warehouse.base import parquet_files


def test_a_table_this_machine_sees_only_part_of_is_refused(spark, tmp_path):
    out = tmp_path / "out"
    spark.range(0, 1000, 1, 4).write.parquet(str(out / "agg_customer_product_yearly"))
    spark.range(0, 30, 1, 1).write.parquet(str(out / "dim_market"))
    staged = {"agg_customer_product_yearly": (str(out / "agg_customer_product_yearly"), 1000),
              "dim_market": (str(out / "dim_market"), 30)}
    check_staged(staged)  # every row written is there: nothing to say

    # One of the four part files (250 rows each) was written on another node's disk.
    parquet_files(out / "agg_customer_product_yearly")[0].unlink()
    with pytest.raises(StagingNotShared) as refused:
        check_staged(staged)
    message = str(refused.value)
    assert f"cannot see in {out} (agg_customer_product_yearly 750 of 1,000 rows)" in message
    assert "dim_market" not in message and "set TMPDIR to a folder every node mounts" in message


def test_a_table_whose_folder_this_machine_lacks_is_refused(tmp_path):
    with pytest.raises(StagingNotShared, match=r"\(dim_customer 0 of 209 rows\)"):
        check_staged({"dim_customer": (str(tmp_path / "out" / "dim_customer"), 209)})


def test_a_staged_table_keeps_dictionaries_for_codes_not_for_measures(spark, tmp_path):
    # 30 distinct amounts: Parquet's writer would keep a dictionary for them
    # too, were it not told to leave the measures plain (a refresh's measures
    # are nearly all distinct, and the dictionary it tries is wasted).
    frame = spark.createDataFrame(
        [(2021, f"9000200{i % 3}", 1000.0 + (i % 30) / 7) for i in range(3000)],
        "fiscal_year int, customer_code string, net_sales double")
    folder, rows = write_staged(frame, tmp_path / "agg_customer_product_yearly", files=2)
    assert rows == 3000
    files = parquet_files(folder)
    assert len(files) == 2 and sum(pq.read_metadata(f).num_rows for f in files) == 3000
    chunks = {column: pq.read_metadata(files[0]).row_group(0).column(i)
              for i, column in enumerate(["fiscal_year", "customer_code", "net_sales"])}
    assert chunks["customer_code"].has_dictionary_page and chunks["fiscal_year"].has_dictionary_page
    assert not chunks["net_sales"].has_dictionary_page
    # and the amounts are written as they were: 3,000 x 1000 + 100 x (0 + ... + 29) / 7
    assert sum(pq.read_table(folder)["net_sales"].to_pylist()) == pytest.approx(3_006_214.285714286, rel=1e-12)


def test_the_yearly_table_is_published_without_the_refresh_s_working_columns(full_warehouse):
    """The yearly table is staged with its counts of missing lookups, which
    the missing-lookup findings are read from; they are not published."""
    columns = full_warehouse.read("SELECT * FROM agg_customer_product_yearly LIMIT 0").column_names
    assert columns == ["fiscal_year", "has_actuals", *CUSTOMER_ATTRIBUTES, *PRODUCT_ATTRIBUTES, *MEASURES]
