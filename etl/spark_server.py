"""A long-lived Spark for refreshes: a Spark Connect server that BIMS starts and
warms up, and that `python -m etl refresh --remote sc://localhost:15002` uses.

A refresh run the usual way starts a JVM of its own, and most of Spark's code
then runs slowly until Java's JIT has compiled it: at scale 10 that costs a
refresh about a fifth of its time (docs/performance.md). A server keeps one
JVM, with its compiled code, from one refresh to the next, and starts by
refreshing a tiny sample so that even its first real refresh runs warm.

Every client must present the server's token (Spark's own
`spark.connect.authenticate.token`): whoever reaches the port could otherwise
run Spark jobs that read and write files as the server's user. The token is
SPARK_CONNECT_AUTHENTICATE_TOKEN when set; otherwise one is made at start and
written to a file only its user can read, where a client on this machine finds
it (`token_file`).
"""
from __future__ import annotations

import ctypes
import dataclasses
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from etl.config import Settings
from etl.spark import LOG_DIR, STATIC_CONF, driver_java_options, java_available, JavaMissing, NO_JAVA, session_conf

DEFAULT_PORT = 15002
TOKEN_ENV = "SPARK_CONNECT_AUTHENTICATE_TOKEN"
SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
LOOPBACK = ("localhost", "127.0.0.1", "::1")
# Large enough to run every table, rule and fiscal year's code; small enough to take seconds.
WARM_UP_SCALE = 0.002


class ServerFailed(RuntimeError):
    """The Spark server did not start, or stopped on its own."""


def token_file(port: int) -> Path:
    """Where a server on this port keeps the token it made (readable by its user only)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "bims" / f"spark-server-{port}.token"


def client_url(url: str) -> str:
    """The URL a client connects with: the token added when the URL and the
    environment give none and a server on this machine wrote one. PySpark sends
    a token without TLS only to the host name `localhost`, so a loopback
    address is written that way."""
    parts = urlsplit(url)
    if parts.scheme != "sc" or not parts.hostname:
        raise ValueError(f"{url!r} is not a Spark Connect URL: write sc://HOST:PORT")
    host, port = parts.hostname, parts.port or DEFAULT_PORT
    params = parts.path.lstrip("/")
    token = None
    if "token=" not in params and not os.environ.get(TOKEN_ENV) and host in LOOPBACK and token_file(port).is_file():
        token = token_file(port).read_text().strip()
    if host in LOOPBACK and (token or "token=" in params or os.environ.get(TOKEN_ENV)):
        host = "localhost"
    params = ";".join(p for p in (params.lstrip(";"), f"token={token}" if token else "") if p)
    return f"sc://{host}:{port}/" + (f";{params}" if params else "")


def server_command(host: str, port: int, settings: Settings) -> list[str]:
    """spark-submit starting the Spark Connect server with BIMS's settings
    (those of a refresh's own session, `etl.spark.get_spark`)."""
    import pyspark

    conf = {**STATIC_CONF, **session_conf(settings.shuffle_partitions),
            "spark.driver.extraJavaOptions": driver_java_options(),
            "spark.connect.grpc.binding.address": host,
            "spark.connect.grpc.binding.port": str(port)}
    command = [str(Path(pyspark.__file__).parent / "bin" / "spark-submit"), "--class", SERVER_CLASS,
               "--name", "bims-spark-server", "--master", settings.spark_master,
               "--driver-memory", settings.spark_driver_memory]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    return command


def _die_with_parent() -> None:
    """In the server's JVM before it runs: end it if `python -m etl spark-server` dies (Linux)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _answers(port: int, host: str = "127.0.0.1", timeout: float = 1) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def reachable(url: str) -> bool:
    """Whether something listens at a Spark Connect URL's host and port."""
    parts = urlsplit(url)
    return _answers(parts.port or DEFAULT_PORT, parts.hostname, timeout=5)


def start(host: str, port: int, settings: Settings, token: str, log: Path,
          timeout: float = 180) -> subprocess.Popen:
    """Start the server's JVM and wait until its port answers."""
    import pyspark

    if not java_available():
        raise JavaMissing(NO_JAVA)
    if _answers(port):
        raise ServerFailed(f"port {port} is already in use: stop what listens there or pick another --port")
    # Not a Spark Connect client itself, whatever this process's environment says.
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED")}
    env.update(SPARK_HOME=str(Path(pyspark.__file__).parent), **{TOKEN_ENV: token})
    if settings.spark_master.startswith("local"):
        env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(server_command(host, port, settings), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                preexec_fn=_die_with_parent)
    deadline = time.monotonic() + timeout
    while not _answers(port):
        if proc.poll() is not None:
            raise ServerFailed(f"the Spark server stopped as it started (exit {proc.returncode}); see {log}")
        if time.monotonic() > deadline:
            stop(proc)
            raise ServerFailed(f"the Spark server did not open port {port} within {timeout:.0f} s; see {log}")
        time.sleep(0.3)
    return proc


def stop(proc: subprocess.Popen, timeout: float = 60) -> None:
    """Stop the server's JVM (Spark shuts down on SIGTERM), killing it if it hangs."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def warm_up(url: str, settings: Settings) -> None:
    """Refresh a tiny generated sample through the server, all of it and then
    one fiscal year, so that its JVM loads and compiles what any refresh runs."""
    from etl.generate import generate
    from etl.pipeline import refresh
    from etl.spark import get_spark

    with tempfile.TemporaryDirectory(prefix="bims-warm-up-") as work:
        work = Path(work)
        generate(work / "source", scale=WARM_UP_SCALE, fmt="parquet")
        sample = dataclasses.replace(settings, warehouse_url=f"duckdb:///{work / 'warehouse.duckdb'}")
        spark = get_spark(remote=url, shuffle_partitions=settings.shuffle_partitions)
        try:
            quiet = lambda line: None  # noqa: E731
            refresh(str(work / "source"), sample, show=quiet, spark=spark)
            refresh(str(work / "source"), dataclasses.replace(sample, fiscal_years=(2021,)), show=quiet, spark=spark)
        finally:
            spark.stop()


def serve(host: str, port: int, settings: Settings, warm: bool = True,
          show: Callable[[str], None] = print) -> int:
    """Run the server in the foreground until SIGTERM or Ctrl+C; 0 when stopped so."""
    token, made = os.environ.get(TOKEN_ENV), False
    if not token:
        token, made = secrets.token_urlsafe(32), True
        path = token_file(port)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(token)
    url = f"sc://localhost:{port}"
    log = LOG_DIR / "spark-server.log"
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    proc = None
    try:
        began = time.monotonic()
        show(f"starting the Spark Connect server on {host}:{port} (master {settings.spark_master}; "
             f"its log: {log}) ...")
        proc = start(host, port, settings, token, log)
        show(f"started in {time.monotonic() - began:.1f} s")
        if warm:
            began = time.monotonic()
            show("warming it up: a refresh of a tiny sample ...")
            warm_up(url, settings)
            show(f"warmed up in {time.monotonic() - began:.1f} s")
        where = f"token in {token_file(port)}" if made else f"token from {TOKEN_ENV}"
        show(f"ready: python -m etl refresh --remote {url} --source … ({where}); Ctrl+C stops it")
        proc.wait()
        if not stopping:
            raise ServerFailed(f"the Spark server stopped by itself (exit {proc.returncode}); see {log}")
        return 0
    except KeyboardInterrupt:
        show("stopping the Spark server ...")
        return 0
    finally:
        if proc is not None:
            stop(proc)
        if made:
            token_file(port).unlink(missing_ok=True)
        for s, handler in previous.items():
            signal.signal(s, handler)
