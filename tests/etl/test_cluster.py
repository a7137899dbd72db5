"""The refresh on a Spark standalone cluster, as docs/deploy.md runs it: a
master and a worker on loopback (separate JVMs from the driver), the refresh
pointed at it with --master.

The second test gives the worker a staging folder of its own (a private
mount over the driver's, as on a node that does not share the driver's
disk): Spark's job then succeeds while the driver sees none of what it wrote.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

import pyspark
from tests.etl.test_cli import etl
from tests.test_end_to_end import pandas_totals, warehouse_totals
from warehouse.duckdb import DuckDBWarehouse

SPARK_HOME = Path(pyspark.__file__).parent
SPARK_CLASS = SPARK_HOME / "bin" / "spark-class"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict:
    # The master's REST submission server is off: it would take a fixed port.
    return dict(os.environ, SPARK_HOME=str(SPARK_HOME), SPARK_LOCAL_IP="127.0.0.1",
                SPARK_MASTER_OPTS="-Dspark.master.rest.enabled=false")


@contextmanager
def _daemon(command: list[str], log: Path, ready: str, timeout: float = 60):
    """Start a Spark daemon, wait for `ready` in its log, stop it (and its children) at the end."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=_env(), start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while ready not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[-1]} did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.3)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    logs = tmp_path_factory.mktemp("cluster-logs")
    port = _free_port()
    with _daemon([str(SPARK_CLASS), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                  "--port", str(port), "--webui-port", "0"], logs / "master.log", "I have been elected leader"):
        yield f"spark://127.0.0.1:{port}"


def _worker(master_url: str, work: Path, hide: Path | None = None):
    """A worker with two cores; with `hide`, it sees its own empty folder there
    instead of this machine's (needs a mount namespace: root)."""
    work.mkdir(parents=True, exist_ok=True)
    command = [str(SPARK_CLASS), "org.apache.spark.deploy.worker.Worker", master_url, "--cores", "2",
               "--memory", "2g", "--webui-port", "0", "--work-dir", str(work)]
    if hide is not None:
        command = ["unshare", "--mount", "sh", "-c", 'mount -t tmpfs bims-private "$0" && exec "$@"', str(hide),
                   *command]
    return _daemon(command, work / "worker.log", "Successfully registered with master")


def _can_hide_a_folder(tmp_path: Path) -> bool:
    probe = subprocess.run(["unshare", "--mount", "sh", "-c", f"mount -t tmpfs probe {tmp_path}"],
                           capture_output=True)
    return probe.returncode == 0


def refresh_on(master_url: str, source: Path, url: str, staging: Path):
    staging.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TMPDIR=str(staging), SPARK_LOCAL_IP="127.0.0.1", BIMS_SPARK_DRIVER_MEMORY="1g",
               BIMS_LOG_DIR=str(staging.parent / "logs"))
    return etl("refresh", "--source", str(source), "--warehouse", url, "--master", master_url, env=env, timeout=600)


def test_a_refresh_on_a_cluster_equals_the_brief(master, sample_full, tmp_path):
    with _worker(master, tmp_path / "worker"):
        out = refresh_on(master, sample_full, f"duckdb:///{tmp_path / 'w.duckdb'}", tmp_path / "staging")
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"starting on {master}" in out.stdout and "succeeded in" in out.stdout
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    try:
        expected = pandas_totals(sample_full)
        got = warehouse_totals(warehouse, expected.columns)
    finally:
        warehouse.close()
    assert list(got.index) == [2018, 2019, 2020, 2021, 2022]
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_names=False, rtol=1e-9)


def test_a_worker_that_cannot_share_the_staging_folder_fails_the_refresh_before_publishing(
        master, sample_full, full_warehouse, tmp_path):
    if not _can_hide_a_folder(tmp_path):
        pytest.skip("cannot make a mount namespace here (needs root): no way to give a worker its own folder")
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    staging = tmp_path / "staging"
    staging.mkdir()
    with _worker(master, tmp_path / "worker", hide=staging):
        out = refresh_on(master, sample_full, url, staging)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Spark's executors wrote rows this machine cannot see" in out.stdout
    # Each output table is named with the rows this machine sees of those written
    # (as many as the same sample's local refresh loads).
    written = full_warehouse.read("SELECT count(*) FROM agg_customer_product_yearly").column(0)[0].as_py()
    assert f"agg_customer_product_yearly 0 of {written:,} rows" in out.stdout, out.stdout
    assert "set TMPDIR to a folder every node mounts" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    try:
        runs = warehouse.read("SELECT status, rows_written, message FROM etl_runs").to_pylist()
        tables = warehouse.read("SELECT table_name FROM information_schema.tables "
                                "WHERE table_name LIKE 'agg_%'").num_rows
    finally:
        warehouse.close()
    assert [(r["status"], r["rows_written"]) for r in runs] == [("failed", 0)]
    assert runs[0]["message"].startswith("StagingNotShared: Spark's executors wrote rows")
    assert tables == 0
