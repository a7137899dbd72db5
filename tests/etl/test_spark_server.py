"""`python -m etl spark-server` and refreshes on it (`--remote`), as a user runs
them: a real Spark Connect server on loopback, the refresh a client of it."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from etl.config import Settings
from etl.spark_server import client_url, server_command, token_file
from tests.conftest import ROOT
from tests.etl.test_cli import etl
from tests.etl.test_cluster import _free_port
from tests.test_end_to_end import pandas_totals, warehouse_totals
from warehouse.duckdb import DuckDBWarehouse

# Columns that differ between any two runs: who ran, when, how long.
RUN_COLUMNS = {"run_id", "started_at", "finished_at", "seconds"}


def _env(cache: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_CONNECT_AUTHENTICATE_TOKEN", "SPARK_REMOTE")}
    # The token file goes to a cache folder of the test's own; the class archive stays the usual one.
    from etl.spark import class_archive

    env.update(XDG_CACHE_HOME=str(cache), BIMS_CLASS_ARCHIVE=str(class_archive()), PYTHONPATH=str(ROOT),
               BIMS_SPARK_DRIVER_MEMORY="1g", BIMS_SHUFFLE_PARTITIONS="4", **extra)
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server as `python -m etl spark-server` starts it (without the warm-up, to save
    the suite half a minute); it makes its own token."""
    work = tmp_path_factory.mktemp("spark-server")
    port, env = _free_port(), _env(work / "cache", BIMS_LOG_DIR=str(work / "logs"))
    out = open(work / "server.out", "w")
    proc = subprocess.Popen([sys.executable, "-m", "etl", "spark-server", "--port", str(port), "--no-warm-up"],
                            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while "ready:" not in (work / "server.out").read_text():
        assert proc.poll() is None and time.monotonic() < deadline, (work / "server.out").read_text()
        time.sleep(0.3)
    yield {"url": f"sc://localhost:{port}", "port": port, "env": env, "proc": proc, "work": work}
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    out.close()


def _tables(path: Path) -> dict[str, pd.DataFrame]:
    """Every table of a warehouse, without the columns that name the run, in a stable order."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        tables = {}
        for name in names:
            frame = con.execute(f'SELECT * FROM "{name}"').df()
            frame = frame.drop(columns=[c for c in frame.columns if c in RUN_COLUMNS | {"source"}])
            tables[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
        return tables
    finally:
        con.close()


def test_a_refresh_on_the_server_writes_what_a_refresh_of_its_own_writes(server, sample_full, full_warehouse,
                                                                         tmp_path):
    db = tmp_path / "served.duckdb"
    out = etl("refresh", "--remote", server["url"], "--source", str(sample_full), "--warehouse", f"duckdb:///{db}",
              env=server["env"])
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"spark      connecting to {server['url']}" in out.stdout and "succeeded in" in out.stdout
    # The brief's measures, computed with pandas from the source files.
    served = DuckDBWarehouse(db)
    try:
        expected = pandas_totals(sample_full)
        pd.testing.assert_frame_equal(warehouse_totals(served, expected.columns), expected, check_dtype=False,
                                      check_names=False, rtol=1e-9)
    finally:
        served.close()
    # And every table, row for row, as the refresh in this process (its own Spark) wrote them.
    own, remote = _tables(full_warehouse.path), _tables(db)
    assert sorted(own) == sorted(remote)
    for name in own:
        pd.testing.assert_frame_equal(remote[name], own[name], check_dtype=False, obj=name)
    assert len(remote["agg_customer_product_yearly"]) > 1000


def test_an_incremental_refresh_on_the_server_replaces_one_fiscal_year(server, sample_full, tmp_path):
    db = tmp_path / "w.duckdb"
    url = f"duckdb:///{db}"
    assert etl("refresh", "--remote", server["url"], "--source", str(sample_full), "--warehouse", url,
               env=server["env"]).returncode == 0
    before = _tables(db)["agg_customer_product_yearly"]
    out = etl("refresh", "--remote", server["url"], "--source", str(sample_full), "--warehouse", url,
              "--fiscal-years", "2021", env=server["env"])
    assert out.returncode == 0, out.stdout + out.stderr
    con = duckdb.connect(str(db), read_only=True)
    runs = con.execute("SELECT fiscal_years, status FROM etl_runs ORDER BY started_at").fetchall()
    con.close()
    assert runs == [("all", "succeeded"), ("2021", "succeeded")]
    pd.testing.assert_frame_equal(_tables(db)["agg_customer_product_yearly"], before, check_dtype=False)


def test_each_client_gets_bims_session_settings_whatever_the_server_was_started_with(server):
    script = ("from etl.spark import get_spark\n"
              f"s = get_spark(remote={server['url']!r}, shuffle_partitions=3)\n"
              "print(s.conf.get('spark.sql.shuffle.partitions'), s.conf.get('spark.sql.ansi.enabled'))\n"
              "s.stop()\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=server["env"], capture_output=True,
                         text=True, timeout=120)
    # The server runs with 4 partitions (its BIMS_SHUFFLE_PARTITIONS); this client asked for 3.
    assert out.returncode == 0 and out.stdout.split() == ["3", "false"], out.stdout + out.stderr


def test_a_client_without_the_token_is_refused_and_the_warehouse_left_alone(server, sample_full, tmp_path):
    db = tmp_path / "w.duckdb"
    env = dict(server["env"], SPARK_CONNECT_AUTHENTICATE_TOKEN="not-the-token")
    out = etl("refresh", "--remote", server["url"], "--source", str(sample_full), "--warehouse", f"duckdb:///{db}",
              env=env)
    assert out.returncode == 1
    assert f"cannot use the Spark Connect server at {server['url']}: it refused the token" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr
    # The failure is on record; no table was published.
    assert set(_tables(db)) == {"etl_runs", "etl_run_tables", "dq_issues"}
    assert _tables(db)["etl_runs"]["status"].tolist() == ["failed"]
    assert "refused the token" in _tables(db)["etl_runs"]["message"][0]


def test_nothing_listening_is_a_clear_error_at_once(sample_full, tmp_path):
    began = time.monotonic()
    url = f"sc://localhost:{_free_port()}"
    out = etl("refresh", "--remote", url, "--source", str(sample_full), "--warehouse",
              f"duckdb:///{tmp_path / 'w.duckdb'}", env=_env(tmp_path))
    assert out.returncode == 1 and time.monotonic() - began < 60
    assert f"cannot use the Spark Connect server at {url}: nothing answers there: start one with " \
           "`python -m etl spark-server`" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr


def test_a_url_that_is_not_spark_connect_is_a_usage_error(sample_full, tmp_path):
    out = etl("refresh", "--remote", "http://localhost:15002", "--source", str(sample_full), "--warehouse",
              f"duckdb:///{tmp_path / 'w.duckdb'}")
    assert out.returncode == 2 and "must be a Spark Connect URL, sc://HOST:PORT" in out.stdout


def test_the_token_file_is_its_users_alone_and_goes_with_the_server(server):
    """Last in this module: it stops the server."""
    path = Path(server["env"]["XDG_CACHE_HOME"]) / "bims" / f"spark-server-{server['port']}.token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(path.read_text()) >= 32
    jvm = subprocess.run(["pgrep", "-f", f"spark.connect.grpc.binding.port={server['port']}"], capture_output=True,
                         text=True).stdout.split()
    assert len(jvm) == 1
    server["proc"].send_signal(signal.SIGTERM)
    assert server["proc"].wait(timeout=60) == 0
    assert not path.exists()
    assert "stopping the Spark server" in (server["work"] / "server.out").read_text()
    with pytest.raises(ProcessLookupError):
        os.kill(int(jvm[0]), 0)


# --- the parts, without a server -----------------------------------------------------------------------

def test_a_client_on_this_machine_finds_the_token_the_server_wrote(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("SPARK_CONNECT_AUTHENTICATE_TOKEN", raising=False)
    assert client_url("sc://127.0.0.1:15002") == "sc://127.0.0.1:15002/"  # no token anywhere: as given
    token_file(15002).parent.mkdir(parents=True)
    token_file(15002).write_text("s3cret\n")
    # PySpark sends a token without TLS only to the name `localhost`.
    assert client_url("sc://127.0.0.1:15002") == "sc://localhost:15002/;token=s3cret"
    assert client_url("sc://localhost") == "sc://localhost:15002/;token=s3cret"
    assert client_url("sc://localhost:15002/;token=given") == "sc://localhost:15002/;token=given"
    assert client_url("sc://localhost:15003") == "sc://localhost:15003/"  # another server's port
    assert client_url("sc://spark.internal:15002") == "sc://spark.internal:15002/"  # not this machine's file
    monkeypatch.setenv("SPARK_CONNECT_AUTHENTICATE_TOKEN", "from-env")
    assert client_url("sc://127.0.0.1:15002") == "sc://localhost:15002/"  # PySpark reads the variable itself
    with pytest.raises(ValueError, match="not a Spark Connect URL"):
        client_url("http://localhost:15002")


def test_the_server_runs_with_a_refresh_s_own_settings_and_no_secret_on_its_command_line(monkeypatch):
    monkeypatch.setenv("SPARK_CONNECT_AUTHENTICATE_TOKEN", "s3cret")
    settings = Settings(spark_master="local[2]", spark_driver_memory="3g", shuffle_partitions=6)
    command = server_command("127.0.0.1", 15002, settings)
    assert command[command.index("--class") + 1] == "org.apache.spark.sql.connect.service.SparkConnectServer"
    assert command[command.index("--master") + 1] == "local[2]"
    assert command[command.index("--driver-memory") + 1] == "3g"
    conf = dict(command[i + 1].split("=", 1) for i, c in enumerate(command) if c == "--conf")
    assert conf["spark.sql.shuffle.partitions"] == "6" and conf["spark.sql.ansi.enabled"] == "false"
    assert conf["spark.connect.grpc.binding.address"] == "127.0.0.1"
    assert conf["spark.connect.grpc.binding.port"] == "15002"
    assert "-XX:+UseParallelGC" in conf["spark.driver.extraJavaOptions"]
    assert not any("s3cret" in c for c in command)


def test_a_port_in_use_is_refused_before_anything_starts(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = etl("spark-server", "--port", str(port), "--no-warm-up", env=_env(tmp_path), timeout=60)
    assert out.returncode == 1 and f"port {port} is already in use" in out.stdout
    assert not (tmp_path / "bims" / f"spark-server-{port}.token").exists()
