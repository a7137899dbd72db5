"""The DuckDB warehouse: atomic refreshes, readers during a refresh, incremental = full."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from etl.schema import OUTPUT_TABLES
from tests.warehouse.readers import check_old_or_new_during
from tests.conftest import ROOT, refresh_into
from warehouse import WarehouseError, WarehouseUnavailable, connect
from warehouse.duckdb import DuckDBWarehouse, path_from_url

NET_SALES = "SELECT ROUND(SUM(net_sales), 6) FROM agg_customer_product_yearly"


def net_sales(db) -> float:
    warehouse = DuckDBWarehouse(db)
    try:
        return warehouse.read(NET_SALES).column(0)[0].as_py()
    finally:
        warehouse.close()


def with_prices_raised(source, target, fiscal_year: int, factor: float):
    """A copy of a source whose gross prices of one fiscal year are raised."""
    shutil.copytree(source, target)
    prices = pd.read_csv(source / "gross_price.csv", dtype=str, keep_default_na=False)
    rows = prices["fiscal_year"] == str(fiscal_year)
    prices.loc[rows, "gross_price"] = (prices.loc[rows, "gross_price"].astype(float) * factor).map("{:.4f}".format)
    prices.to_csv(target / "gross_price.csv", index=False)
    return target


@pytest.fixture(scope="module")
def loaded(spark, sample_full, tmp_path_factory):
    """A warehouse holding the sample, and a second source that differs in FY2021 only."""
    root = tmp_path_factory.mktemp("atomic")
    changed = with_prices_raised(sample_full, root / "changed", 2021, 1.25)
    return root, changed


def fresh_copy(spark, sample_full, folder):
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "bims.duckdb"
    refresh_into(spark, sample_full, db)
    return db


def test_urls_in_sqlalchemy_form():
    assert str(path_from_url("duckdb:///data/bims.duckdb")) == "data/bims.duckdb"
    assert str(path_from_url("duckdb:////srv/bims/bims.duckdb")) == "/srv/bims/bims.duckdb"
    with pytest.raises(WarehouseError, match="duckdb:///"):
        path_from_url("duckdb://")
    with pytest.raises(WarehouseError, match="unknown warehouse URL"):
        connect("mysql://db/bims")


def test_missing_warehouse_is_a_clear_error(tmp_path):
    with pytest.raises(WarehouseUnavailable, match="python -m etl refresh"):
        DuckDBWarehouse(tmp_path / "none.duckdb").read("SELECT 1")


def test_a_reader_opened_after_a_swap_sees_the_new_file_while_an_old_reader_is_open(tmp_path):
    """DuckDB hands out one cached instance per path in a process; a reader must
    not be given the file a refresh has just replaced."""
    import duckdb

    def write(path, value):
        con = duckdb.connect(str(path))
        con.execute(f"CREATE TABLE t AS SELECT {value} AS v")
        con.close()

    live, new = tmp_path / "bims.duckdb", tmp_path / "new.duckdb"
    write(live, 1)
    write(new, 2)
    old_reader = DuckDBWarehouse(live)
    assert old_reader.read("SELECT v FROM t").column(0).to_pylist() == [1]
    os.replace(new, live)
    new_reader = DuckDBWarehouse(live)
    assert new_reader.read("SELECT v FROM t").column(0).to_pylist() == [2]
    assert old_reader.read("SELECT v FROM t").column(0).to_pylist() == [2]  # it notices the swap
    old_reader.close()
    new_reader.close()


def test_a_refresh_failing_half_way_leaves_the_previous_data(spark, sample_full, loaded, monkeypatch):
    root, changed = loaded
    db = fresh_copy(spark, sample_full, root / "fail")
    before = net_sales(db)
    original = DuckDBWarehouse._replace
    calls = []

    def failing(con, name, folder, years):
        calls.append(name)
        if len(calls) == 3:
            raise OSError("disk full (simulated)")
        return original(con, name, folder, years)

    monkeypatch.setattr(DuckDBWarehouse, "_replace", staticmethod(failing))
    with pytest.raises(OSError, match="simulated"):
        refresh_into(spark, changed, db)
    assert len(calls) == 3
    assert net_sales(db) == before
    assert not [p for p in db.parent.iterdir() if p.name.endswith(".tmp")]
    statuses = DuckDBWarehouse(db).read("SELECT status FROM etl_runs ORDER BY started_at").column(0).to_pylist()
    assert statuses == ["succeeded", "failed"]


KILLED_REFRESH = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from warehouse.duckdb import DuckDBWarehouse
    original = DuckDBWarehouse._replace

    def stall_after_first_table(con, name, folder, years):
        written = original(con, name, folder, years)
        Path(sys.argv[3]).touch()      # tell the test we are half-way through the load
        time.sleep(600)
        return written

    DuckDBWarehouse._replace = staticmethod(stall_after_first_table)
    from etl.cli import main
    sys.exit(main(["refresh", "--source", sys.argv[1], "--warehouse", sys.argv[2], "--master", "local[1]"]))
""")


def test_a_killed_refresh_leaves_the_previous_data_readable(spark, sample_full, loaded, tmp_path):
    root, changed = loaded
    db = fresh_copy(spark, sample_full, root / "killed")
    before = net_sales(db)
    marker = tmp_path / "half-way"
    env = dict(os.environ, PYTHONPATH=str(ROOT), BIMS_LOG_DIR=str(tmp_path / "logs"))
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_REFRESH, str(changed), f"duckdb:///{db}", str(marker)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert process.poll() is None, "the refresh ended before it was killed"
            assert time.monotonic() < deadline, "the refresh never reached the load"
            time.sleep(0.1)
        assert net_sales(db) == before  # readable while the load is under way
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the refresh and its JVM, mid-load
        process.wait()
    assert net_sales(db) == before
    # The next refresh runs normally: the dead one's lock and staged copy are no obstacle.
    refresh_into(spark, changed, db)
    assert net_sales(db) > before
    assert not [p for p in db.parent.iterdir() if p.name.endswith(".tmp")]


def test_readers_see_old_or_new_data_during_a_refresh(spark, sample_full, loaded):
    root, changed = loaded
    db = fresh_copy(spark, sample_full, root / "readers")
    reader = DuckDBWarehouse(db)
    check_old_or_new_during(reader, NET_SALES, lambda: refresh_into(spark, changed, db), lambda: net_sales(db),
                            pause=0.02)
    reader.close()


def table_contents(db, name) -> pd.DataFrame:
    warehouse = DuckDBWarehouse(db)
    try:
        return warehouse.read(f'SELECT * FROM "{name}" ORDER BY ALL').to_pandas()
    finally:
        warehouse.close()


def test_incremental_refresh_equals_a_full_refresh(spark, sample_full, loaded):
    root, changed = loaded
    incremental = fresh_copy(spark, sample_full, root / "incremental")
    before = table_contents(incremental, "agg_customer_product_yearly")
    summary = refresh_into(spark, changed, incremental, fiscal_years=(2021,))
    assert summary.status == "succeeded"
    full = root / "full" / "bims.duckdb"
    full.parent.mkdir()
    refresh_into(spark, changed, full)
    for name in OUTPUT_TABLES:
        pd.testing.assert_frame_equal(table_contents(incremental, name), table_contents(full, name),
                                      check_exact=False, rtol=1e-12, obj=name)
    after = table_contents(incremental, "agg_customer_product_yearly")
    # only FY2021 changed, and it did
    unchanged = before["fiscal_year"] != 2021
    pd.testing.assert_frame_equal(before[unchanged].reset_index(drop=True),
                                  after[after["fiscal_year"] != 2021].reset_index(drop=True))
    assert after[after["fiscal_year"] == 2021]["gross_sales"].sum() == pytest.approx(
        1.25 * before[before["fiscal_year"] == 2021]["gross_sales"].sum(), rel=1e-4)
    years = DuckDBWarehouse(incremental).read(
        "SELECT fiscal_years FROM etl_runs ORDER BY started_at").column(0).to_pylist()
    assert years == ["all", "2021"]


def test_a_full_refresh_keeps_the_run_history_and_findings_and_the_file_compact(spark, sample_full, loaded):
    root, _ = loaded
    # one sales row names an unknown customer: one finding per run
    source = shutil.copytree(sample_full, root / "with-a-finding")
    with open(source / "fact_sales_monthly.csv", "a") as sales:
        sales.write("2020-09-01,A0118150101,99999999,5\n")
    db = root / "compact" / "bims.duckdb"
    db.parent.mkdir()
    refresh_into(spark, source, db)
    first_size = db.stat().st_size
    for _ in range(3):
        refresh_into(spark, source, db)

    after = DuckDBWarehouse(db)
    runs = after.read("SELECT run_id, status FROM etl_runs ORDER BY started_at").to_pylist()
    assert len(runs) == 4 and all(r["status"] == "succeeded" for r in runs)
    assert after.read("SELECT count(DISTINCT run_id) FROM etl_run_tables").column(0)[0].as_py() == 4
    findings = after.read("SELECT run_id, rule, offending_value FROM dq_issues ORDER BY run_id").to_pylist()
    assert findings == [{"run_id": r["run_id"], "rule": "known_reference", "offending_value": "99999999"}
                        for r in runs]
    after.close()
    # four full refreshes take no more room than one (each used to leave the replaced tables' blocks behind)
    assert db.stat().st_size < 1.2 * first_size
