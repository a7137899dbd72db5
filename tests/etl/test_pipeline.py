"""The checks the pipeline makes between its stages."""
from __future__ import annotations

import pytest

from etl.pipeline import StagingNotShared, check_staged
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
