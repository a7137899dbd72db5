"""The Redshift backend, driving the released redshift_connector against a real
PostgreSQL 15 (tests/warehouse/README.md): reads, atomic publishes, incremental
= full, readers during a refresh, dropped connections, a server that is down,
and every named query answering as the DuckDB warehouse does."""
from __future__ import annotations

import math
import threading
import time

import pandas as pd
import pyarrow as pa
import pytest

from etl.schema import OUTPUT_TABLES
from queries.catalog import catalog
from queries.runner import run
from tests.warehouse.readers import check_old_or_new_during
from tests.conftest import refresh_into_url
from tests.warehouse.postgres import free_port
from tests.warehouse.test_duckdb import with_prices_raised
from warehouse import WarehouseError, WarehouseUnavailable, connect
from warehouse.redshift import RedshiftWarehouse, column_type, connect_options

NET_SALES = "SELECT ROUND(CAST(SUM(net_sales) AS DECIMAL(38, 6)), 6) FROM agg_customer_product_yearly"


def net_sales(url: str) -> float:
    warehouse = RedshiftWarehouse(url)
    try:
        return warehouse.read(NET_SALES).column(0)[0].as_py()
    finally:
        warehouse.close()


@pytest.fixture(scope="module")
def changed(sample_full, tmp_path_factory):
    """A second source that differs from the sample in FY2021's prices only."""
    return with_prices_raised(sample_full, tmp_path_factory.mktemp("redshift") / "changed", 2021, 1.25)


@pytest.fixture
def database(postgres, request):
    """A fresh database of the test server, loaded by the test; its URL."""
    return postgres.new_database(request.node.name.lower().replace("[", "_").replace("]", "")[:60])


def test_urls_and_options(monkeypatch):
    monkeypatch.setenv("BIMS_REDSHIFT_PASSWORD", "secret")
    options = connect_options("redshift://bims@cluster.example.com:5439/dev?iam=true&cluster_identifier=c1"
                              "&region=eu-west-1&timeout=30")
    assert options == {"host": "cluster.example.com", "port": 5439, "database": "dev", "user": "bims",
                       "password": "secret", "iam": True, "cluster_identifier": "c1", "region": "eu-west-1",
                       "timeout": 30}
    assert connect_options("redshift://u@h/db")["port"] == 5439
    assert isinstance(connect("redshift://u@h:1/db"), RedshiftWarehouse)
    with pytest.raises(WarehouseError, match="redshift://USER@HOST:PORT/DB"):
        connect_options("redshift://h:1")


def test_column_types_are_portable():
    import pyarrow as pa

    assert column_type(pa.int32()) == "INTEGER" and column_type(pa.int64()) == "BIGINT"
    assert column_type(pa.float64()) == "DOUBLE PRECISION" and column_type(pa.date32()) == "DATE"
    assert column_type(pa.string(), pa.chunked_array([["x" * 3000]])) == "VARCHAR(4096)"
    assert column_type(pa.string(), pa.chunked_array([["a"]])) == "VARCHAR(1024)"


def test_reads_bind_parameters_with_the_placeholder(postgres):
    warehouse = connect(postgres.url)
    try:
        assert warehouse.placeholder == "%s"
        table = warehouse.read("SELECT CAST(%s AS INTEGER) + 1 AS n, CAST(%s AS VARCHAR) AS s, "
                               "CAST(1.5 AS DECIMAL(4, 2)) AS d, DATE '2021-09-01' AS day, TRUE AS b",
                               [41, "NA"])
        assert table.to_pylist() == [{"n": 42, "s": "NA", "d": 1.5, "day": pd.Timestamp("2021-09-01").date(),
                                      "b": True}]
        assert warehouse.read("SELECT 1 AS x WHERE 1 = 0").num_rows == 0
        with pytest.raises(WarehouseUnavailable, match="lacks a table"):
            warehouse.read("SELECT * FROM no_such_table")
        with pytest.raises(WarehouseError):
            warehouse.read("SELEC 1")
        assert warehouse.read("SELECT 2 AS x").column(0).to_pylist() == [2]  # still usable after errors
    finally:
        warehouse.close()


def contents(url: str, name: str) -> pd.DataFrame:
    warehouse = RedshiftWarehouse(url)
    try:
        frame = warehouse.read(f'SELECT * FROM "{name}"').to_pandas()
    finally:
        warehouse.close()
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def test_incremental_refresh_equals_a_full_refresh(spark, sample_full, changed, postgres, database):
    assert refresh_into_url(spark, sample_full, database).status == "succeeded"
    before = contents(database, "agg_customer_product_yearly")
    assert refresh_into_url(spark, changed, database, fiscal_years=(2021,)).status == "succeeded"
    full = postgres.new_database("incremental_reference")
    refresh_into_url(spark, changed, full)
    for name in OUTPUT_TABLES:
        pd.testing.assert_frame_equal(contents(database, name), contents(full, name),
                                      check_exact=False, rtol=1e-12, obj=name)
    after = contents(database, "agg_customer_product_yearly")
    assert after[after["fiscal_year"] == 2021]["gross_sales"].sum() == pytest.approx(
        1.25 * before[before["fiscal_year"] == 2021]["gross_sales"].sum(), rel=1e-4)
    runs = RedshiftWarehouse(database).read("SELECT fiscal_years FROM etl_runs ORDER BY started_at")
    assert runs.column(0).to_pylist() == ["all", "2021"]
    tables = RedshiftWarehouse(database).read(
        "SELECT table_name FROM information_schema.tables WHERE table_name LIKE %s", ["%staging"])
    assert tables.num_rows == 0


def test_a_refresh_failing_half_way_leaves_the_previous_data(spark, sample_full, changed, database, monkeypatch):
    refresh_into_url(spark, sample_full, database)
    before = net_sales(database)
    runs_before = RedshiftWarehouse(database).read("SELECT COUNT(*) FROM etl_run_tables").column(0)[0].as_py()
    original = RedshiftWarehouse._replace
    calls = []

    def failing(self, cursor, name, folder, publication, redshift):
        calls.append(name)
        if len(calls) == 3:
            raise OSError("disk full (simulated)")
        return original(self, cursor, name, folder, publication, redshift)

    monkeypatch.setattr(RedshiftWarehouse, "_replace", failing)
    with pytest.raises(OSError, match="simulated"):
        refresh_into_url(spark, changed, database)
    assert len(calls) == 3
    assert net_sales(database) == before
    warehouse = RedshiftWarehouse(database)
    statuses = warehouse.read("SELECT status FROM etl_runs ORDER BY started_at").column(0).to_pylist()
    assert statuses == ["succeeded", "failed"]  # the failure is recorded, with no table of its own
    failed_tables = warehouse.read("SELECT COUNT(*) FROM etl_run_tables t JOIN etl_runs r ON r.run_id = t.run_id "
                                   "WHERE r.status = 'failed' AND t.rows_written > 0").column(0)[0].as_py()
    assert failed_tables == 0 and runs_before > 0
    assert warehouse.read("SELECT table_name FROM information_schema.tables WHERE table_name LIKE %s",
                          ["%staging"]).num_rows == 0
    warehouse.close()


def test_readers_see_old_or_new_data_during_a_refresh(spark, sample_full, changed, database):
    refresh_into_url(spark, sample_full, database)
    reader = RedshiftWarehouse(database)
    check_old_or_new_during(reader, NET_SALES, lambda: refresh_into_url(spark, changed, database),
                            lambda: net_sales(database), pause=0.01)
    reader.close()


def test_a_dropped_connection_is_reopened(postgres):
    reader, admin = RedshiftWarehouse(postgres.url), RedshiftWarehouse(postgres.url)
    try:
        pid = reader.read("SELECT pg_backend_pid()").column(0)[0].as_py()
        assert reader.read("SELECT pg_backend_pid()").column(0)[0].as_py() == pid  # reused
        assert admin.read("SELECT pg_terminate_backend(%s)", [pid]).column(0)[0].as_py() is True
        time.sleep(0.2)
        new_pid = reader.read("SELECT pg_backend_pid()").column(0)[0].as_py()
        assert new_pid != pid
    finally:
        reader.close()
        admin.close()


def test_each_thread_has_its_own_connection(postgres):
    warehouse = RedshiftWarehouse(postgres.url)
    pids = []
    threads = [threading.Thread(target=lambda: pids.append(
        warehouse.read("SELECT pg_backend_pid()").column(0)[0].as_py())) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(pids)) == 3
    warehouse.close()


def test_a_server_that_is_down_is_unavailable(postgres):
    with pytest.raises(WarehouseUnavailable, match="cannot connect"):
        RedshiftWarehouse(f"redshift://bims@127.0.0.1:{free_port()}/bims?ssl=false").read("SELECT 1")
    reader = RedshiftWarehouse(postgres.url)
    assert reader.read("SELECT 1 AS x").num_rows == 1
    postgres.stop()
    try:
        with pytest.raises(WarehouseUnavailable):
            reader.read("SELECT 1 AS x")
    finally:
        postgres.start()
    assert reader.read("SELECT 1 AS x").num_rows == 1  # back when the server is
    reader.close()


# --- every named query: the same answers as from DuckDB ------------------------------

def query_cases():
    cases = []
    for name, query in sorted(catalog().items()):
        cases.append((name, {}))
        if "market" in query.params:
            cases.append((name, {"market": "India"}))
        if "dimension" in query.params:
            cases += [(name, {"dimension": d}) for d in ("customer", "product")]
        if "category" in query.params and "dimension" not in query.params:
            cases.append((name, {"division": "PC"}))
        if "by" in query.params:
            cases.append((name, {"by": "gross_margin", "n": 3}))
    return cases


def same_answer(got: pd.DataFrame, expected: pd.DataFrame, label: str) -> None:
    assert list(got.columns) == list(expected.columns), label
    assert len(got) == len(expected), label
    for column in expected.columns:
        for i, (a, b) in enumerate(zip(got[column], expected[column])):
            if _missing(a) or _missing(b):
                assert _missing(a) and _missing(b), (label, column, i, a, b)
            elif isinstance(b, (int, float)) and not isinstance(b, bool):
                assert math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6), (label, column, i, a, b)
            else:
                assert str(pd.Timestamp(a)) == str(pd.Timestamp(b)) if column.endswith("_at") else a == b, \
                    (label, column, i, a, b)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT


@pytest.mark.parametrize("name,params", query_cases(), ids=lambda v: v if isinstance(v, str) else
                         ",".join(f"{k}={x}" for k, x in v.items()) or "defaults")
def test_every_named_query_answers_as_duckdb_does(redshift_warehouse, full_warehouse, name, params):
    if name in ("latest_successful_refresh", "refresh_history", "table_rows", "data_quality_findings"):
        # Run records differ by run id and time: compare what does not.
        got, expected = run(redshift_warehouse, name, **params), run(full_warehouse, name, **params)
        assert got.column_names == expected.column_names and got.num_rows == expected.num_rows
        return
    got = run(redshift_warehouse, name, **params).to_pandas()
    expected = run(full_warehouse, name, **params).to_pandas()
    same_answer(got, expected, f"{name} {params}")


def test_connections_send_statements_without_nagle_delay(postgres):
    """redshift_connector leaves Nagle's algorithm on: a statement written in
    several packets would wait ~40 ms for the server's delayed ACK."""
    import socket

    warehouse = RedshiftWarehouse(postgres.url)
    try:
        warehouse.read("SELECT 1")
        sock = warehouse._reader()._usock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        warehouse.close()


class RecordingCursor:
    """Redshift itself cannot run here: a cursor that records the statements
    the loader sends, to check the COPY path end to end up to the server."""

    def __init__(self):
        self.statements = []

    def execute(self, sql, params=None):
        self.statements.append(sql)


def test_a_large_table_is_staged_on_s3_and_copied(tmp_path, monkeypatch):
    import boto3
    import pyarrow.parquet as pq

    from tests.moto_s3 import moto_s3
    from warehouse.redshift import RedshiftWarehouse
    from warehouse.redshift_dialect import copy_from_s3

    folder = tmp_path / "agg_customer_product_yearly"
    folder.mkdir()
    table = pa.table({"fiscal_year": [2021, 2022, 2022], "net_sales": [1.0, 2.0, 3.0]})
    pq.write_table(table, folder / "part-00000.parquet")
    (folder / "_SUCCESS").touch()
    role = "arn:aws:iam::123456789012:role/bims-copy"
    with moto_s3("bims-staging"):
        monkeypatch.setenv("BIMS_S3_STAGING", "s3://bims-staging/refreshes")
        monkeypatch.setenv("BIMS_REDSHIFT_IAM_ROLE", role)
        monkeypatch.setenv("BIMS_REDSHIFT_COPY_ROWS", "2")  # 3 rows: the COPY path
        cursor = RecordingCursor()
        uploaded = []
        cursor.execute = lambda sql, params=None: (  # what S3 holds when the COPY runs
            cursor.statements.append(sql),
            uploaded.extend(o["Key"] for o in boto3.client("s3").list_objects_v2(
                Bucket="bims-staging").get("Contents", [])))
        RedshiftWarehouse._load(None, cursor, "agg_customer_product_yearly__staging", str(folder), table, "run-7")
        left = boto3.client("s3").list_objects_v2(Bucket="bims-staging").get("Contents", [])
    uri = "s3://bims-staging/refreshes/run-7/agg_customer_product_yearly/"
    assert uploaded == ["refreshes/run-7/agg_customer_product_yearly/part-00000.parquet"]
    # deleted once copied (pyarrow leaves an empty marker of the parent, outside the COPY's prefix)
    assert [o["Key"] for o in left if o["Key"].startswith("refreshes/run-7/agg")] == []
    assert cursor.statements == [copy_from_s3("agg_customer_product_yearly__staging", uri, role)]
    assert "FORMAT AS PARQUET" in cursor.statements[0] and role in cursor.statements[0]

    # Below the threshold the same table goes in by parameterised INSERTs.
    monkeypatch.setenv("BIMS_REDSHIFT_COPY_ROWS", "100")
    cursor = RecordingCursor()
    RedshiftWarehouse._load(None, cursor, "agg_customer_product_yearly__staging", str(folder), table, "run-7")
    assert all(s.startswith("INSERT INTO") for s in cursor.statements) and "%s" in cursor.statements[0]


@pytest.mark.parametrize("name", ["kpis", "top_markets", "customer_hierarchy", "sales_by_dimension"])
def test_a_market_scope_limits_the_answer_on_redshift_as_on_duckdb(redshift_warehouse, full_warehouse, name):
    """Row-level security's bound :markets_in_scope on the PostgreSQL-backed
    warehouse: the same rows as DuckDB, and the same as filtering by hand."""
    scope = frozenset({"India", "Japan"})
    got = run(redshift_warehouse, name, markets_in_scope=scope).to_pandas()
    expected = run(full_warehouse, name, markets_in_scope=scope).to_pandas()
    same_answer(got, expected, f"{name} scoped")
    if "market" in expected.columns:
        assert set(expected["market"]) == scope
    if name == "kpis":
        by_hand = {m: run(full_warehouse, "kpis", market=m).to_pandas().set_index("measure")["this_year"]
                   for m in scope}
        assert math.isclose(expected.set_index("measure")["this_year"]["net_sales"],
                            sum(v["net_sales"] for v in by_hand.values()), rel_tol=1e-9)
