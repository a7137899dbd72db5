"""The dashboard's data access (dashboard/data.py) on real warehouses the ETL
built: the named queries' answers, the cache in front of them (filesystem and
Redis), its invalidation by a refresh, and a warehouse that cannot answer."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard import data
from dashboard.config import DashboardSettings
from queries import runner
from queries.runner import QueryError, allowed_values
from tests.dashboard.conftest import settings_for
from warehouse.duckdb import DuckDBWarehouse


@pytest.fixture
def reads(monkeypatch):
    """Counts the warehouse's reads and the named queries run, from now on."""
    counts = {"read": 0, "run": 0}
    read, run = DuckDBWarehouse.read, data.run

    def counting_read(self, sql, params=()):
        counts["read"] += 1
        return read(self, sql, params)

    def counting_run(warehouse, name, **kwargs):
        counts["run"] += name != "latest_successful_refresh"   # the named queries asked for
        return run(warehouse, name, **kwargs)

    monkeypatch.setattr(DuckDBWarehouse, "read", counting_read)
    monkeypatch.setattr(data, "run", counting_run)
    # The run id is trusted for the whole test unless a test says otherwise.
    monkeypatch.setattr(data, "RUN_ID_TTL_SECONDS", 3600)

    def reset():
        counts.update(read=0, run=0)

    counts["reset"] = reset
    return counts


def _sample_filters(warehouse) -> dict:
    years = allowed_values(warehouse, "fiscal_year")
    return {"fiscal_year": years[-2], "region": allowed_values(warehouse, "region")[0]}


def test_query_returns_the_named_querys_rows(dashboard_app, full_warehouse, on_warehouse):
    chosen = _sample_filters(full_warehouse)
    cases = [
        ("kpis", {}),
        ("pnl", chosen),
        ("sales_by_dimension", {**chosen, "dimension": "customer"}),
        ("top_products", {"fiscal_year": chosen["fiscal_year"], "by": "gross_margin", "n": 5}),
        ("fiscal_years", {}),
    ]
    with on_warehouse(full_warehouse.path):
        for name, params in cases:
            expected = runner.run(full_warehouse, name, **params).to_pandas()
            assert not expected.empty, name
            assert_frame_equal(data.query(name, **params), expected)
        # The filters a query does not take, and empty ones, are no filter.
        assert_frame_equal(data.query("fiscal_years", region="APAC", market=""),
                           runner.run(full_warehouse, "fiscal_years").to_pandas())


def test_a_second_call_is_served_from_the_cache(dashboard_app, full_warehouse, on_warehouse, reads):
    chosen = _sample_filters(full_warehouse)
    reads["reset"]()
    with on_warehouse(full_warehouse.path):        # a fresh, empty cache
        first = data.query("sales_by_dimension", dimension="market", **chosen)
        assert reads["run"] == 1 and reads["read"] >= 2   # the run id, the allowed values, the query
        reads["reset"]()

        again = data.query("sales_by_dimension", dimension="market", **chosen)
        assert reads["run"] == 0 and reads["read"] == 0
        assert_frame_equal(again, first)

        # Other parameters are another entry; the allowed values are cached already.
        data.query("sales_by_dimension", dimension="channel", **chosen)
        assert reads["run"] == 1 and reads["read"] == 1
        reads["reset"]()
        assert data.options("region") == allowed_values(full_warehouse, "region")
        reads["reset"]()
        data.options("region")
        assert reads["read"] == 0


def _refresh_by_hand(live: Path, run_id: str) -> None:
    """What a refresh does to a live file, done with DuckDB: change a copy, then
    rename it over the live file (net sales doubled, a new successful run)."""
    staging = live.with_name("staging.duckdb")
    shutil.copy(live, staging)
    con = duckdb.connect(str(staging))
    try:
        for table in ("agg_customer_product_yearly", "agg_customer_category_yearly"):
            con.execute(f"UPDATE {table} SET net_sales = net_sales * 2")
        con.execute("INSERT INTO etl_runs SELECT * REPLACE (? AS run_id, finished_at + INTERVAL 1 HOUR AS finished_at) "
                    "FROM etl_runs WHERE status = 'succeeded' ORDER BY finished_at DESC LIMIT 1", [run_id])
    finally:
        con.close()
    os.replace(staging, live)


def test_a_refresh_invalidates_the_cache_without_a_restart(dashboard_app, full_warehouse, on_warehouse, tmp_path,
                                                          monkeypatch):
    live = tmp_path / "live" / "bims.duckdb"
    live.parent.mkdir()
    shutil.copy(full_warehouse.path, live)
    year = _sample_filters(full_warehouse)["fiscal_year"]
    monkeypatch.setattr(data, "RUN_ID_TTL_SECONDS", 3600)
    with on_warehouse(live):
        old_run = data.latest_refresh().run_id
        before = data.query("sales_by_dimension", fiscal_year=year, dimension="market")
        assert before["net_sales"].sum() > 0

        _refresh_by_hand(live, "hand-made-refresh")
        # Within the run id's time to live the old answer is still served...
        assert_frame_equal(data.query("sales_by_dimension", fiscal_year=year, dimension="market"), before)

        # ...and once it has passed, the new run's numbers, with no restart.
        monkeypatch.setattr(data, "RUN_ID_TTL_SECONDS", 0)
        after = data.query("sales_by_dimension", fiscal_year=year, dimension="market")
        assert data.latest_refresh().run_id == "hand-made-refresh" != old_run
        assert list(after["member"]) == list(before["member"])
        assert after["net_sales"].tolist() == pytest.approx((before["net_sales"] * 2).tolist())
        assert after["net_sales"].sum() == pytest.approx(2 * before["net_sales"].sum())


def test_a_failed_refresh_shows_in_the_run_history_and_findings_without_a_restart(
        dashboard_app, full_warehouse, on_warehouse, tmp_path, monkeypatch):
    live = tmp_path / "failed" / "bims.duckdb"
    live.parent.mkdir()
    shutil.copy(full_warehouse.path, live)
    monkeypatch.setattr(data, "RUN_ID_TTL_SECONDS", 0)
    with on_warehouse(live):
        assert data.query("data_quality_findings").empty  # the clean sample has none
        statuses = data.query("refresh_history")["status"].tolist()
        staging = live.with_name("staging.duckdb")
        shutil.copy(live, staging)
        con = duckdb.connect(str(staging))
        try:
            con.execute("INSERT INTO etl_runs SELECT * REPLACE ('failed-run' AS run_id, 'failed' AS status, "
                        "started_at + INTERVAL 1 HOUR AS started_at, finished_at + INTERVAL 1 HOUR AS finished_at) "
                        "FROM etl_runs ORDER BY started_at DESC LIMIT 1")
            con.execute("INSERT INTO dq_issues VALUES ('failed-run', 'gross_price', 'gross_price.csv', 'value_range', "
                        "'rejected', 'product_code=X', 'gross_price', '-3', 'a negative price')")
        finally:
            con.close()
        os.replace(staging, live)
        assert data.latest_refresh().run_id != "failed-run"  # the figures still come from the last good run
        assert data.query("refresh_history")["status"].tolist() == ["failed"] + statuses
        findings = data.query("data_quality_findings").to_dict("records")
        assert [(f["run_id"], f["table_name"], f["rule"], f["findings"]) for f in findings] == [
            ("failed-run", "gross_price", "value_range", 1)]


@pytest.mark.parametrize("name, params", [
    ("sales_by_dimension", {"region": "India' OR 1=1 --"}),
    ("sales_by_dimension", {"market": "<script>alert(1)</script>"}),
    ("sales_by_dimension", {"dimension": "password"}),
    ("pnl", {"fiscal_year": 1900}),
    ("pnl", {"fiscal_year": "2021; DROP TABLE etl_runs"}),
    ("top_products", {"n": "abc"}),
    ("top_products", {"n": 0}),
    ("top_products", {"by": "net_sales; DROP TABLE dim_product"}),
])
def test_invalid_filter_values_raise_query_error(dashboard_app, name, params):
    with pytest.raises(QueryError):
        data.query(name, **params)


def test_a_missing_warehouse_is_reported_not_raised(dashboard_app, on_warehouse, tmp_path):
    missing = tmp_path / "nowhere" / "bims.duckdb"
    with on_warehouse(missing):
        ok, message = data.status()
        assert ok is False
        assert str(missing) in message
        assert "python -m etl refresh" in message and "make run" in message
        with pytest.raises(data.DataUnavailable, match="no warehouse at"):
            data.query("kpis")
        with pytest.raises(data.DataUnavailable):
            data.options("region")
    # Back on the sample, it answers again.
    assert data.status() == (True, "")


def test_the_adhoc_warehouse_has_no_forecasts(dashboard_app, adhoc_warehouse, on_warehouse):
    with on_warehouse(adhoc_warehouse.path):
        assert "fact_forecast_monthly" in data.unavailable("forecast_monthly")
        assert data.unavailable("pnl") is None
        with pytest.raises(data.DataUnavailable, match="fact_forecast_monthly"):
            data.query("forecast_monthly")
        assert not data.query("pnl").empty


# --- Redis ------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url():
    """A real, throwaway redis-server on a free loopback port (no persistence)."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    import redis

    port = _free_port()
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextmanager
def on_redis(app, db: Path, url: str, restore: DashboardSettings):
    """The dashboard on a warehouse with its cache in Redis, as BIMS_REDIS_URL does."""
    data.init_app(app.server, DashboardSettings.from_env(warehouse_url=f"duckdb:///{db}", redis_url=url))
    try:
        yield
    finally:
        data.init_app(app.server, restore)


def test_results_are_cached_in_redis(dashboard_app, full_warehouse, redis_url, reads, tmp_path):
    import redis

    client = redis.Redis.from_url(redis_url)
    chosen = _sample_filters(full_warehouse)
    expected = runner.run(full_warehouse, "sales_by_dimension", dimension="market", **chosen).to_pandas()
    with on_redis(dashboard_app, full_warehouse.path, redis_url, settings_for(full_warehouse.path, tmp_path / "c")):
        assert client.keys("*") == []
        first = data.query("sales_by_dimension", dimension="market", **chosen)
        assert_frame_equal(first, expected)
        keys = client.keys("*")
        assert keys and all(k.startswith(b"bims:") for k in keys)
        assert any(k.startswith(b"bims:query:") for k in keys)
        assert any(k.startswith(b"bims:allowed:") for k in keys)

        reads["reset"]()
        assert_frame_equal(data.query("sales_by_dimension", dimension="market", **chosen), expected)
        assert reads["run"] == 0 and reads["read"] == 0

        # Emptied Redis: the warehouse answers again, so the answers came from Redis.
        client.flushall()
        assert_frame_equal(data.query("sales_by_dimension", dimension="market", **chosen), expected)
        assert reads["run"] == 1
        assert any(k.startswith(b"bims:query:") for k in client.keys("*"))
    client.close()


def test_a_redis_outage_falls_back_to_the_warehouse(dashboard_app, full_warehouse, tmp_path, reads):
    """Redis down (nothing listens on the port): every query still answers."""
    chosen = _sample_filters(full_warehouse)
    expected = runner.run(full_warehouse, "pnl", **chosen).to_pandas()
    url = f"redis://127.0.0.1:{_free_port()}/0"
    with on_redis(dashboard_app, full_warehouse.path, url, settings_for(full_warehouse.path, tmp_path / "c")):
        assert_frame_equal(data.query("pnl", **chosen), expected)
        assert_frame_equal(data.query("pnl", **chosen), expected)
        assert reads["run"] == 2
        assert data.status() == (True, "")
        assert pd.Series(data.options("region")).tolist() == allowed_values(full_warehouse, "region")
