"""The Spark session BIMS runs on, tuned for a small machine unless told otherwise."""
from __future__ import annotations

import hashlib
import logging
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

# Given to the JVM by path rather than as SPARK_CONF_DIR: a folder on the class
# path that holds files stops Java from sharing class data (see class_archive).
LOG4J_CONFIG = Path(__file__).parent / "conf" / "log4j2.properties"
LOG_DIR = Path(os.environ.get("BIMS_LOG_DIR", "logs"))

log = logging.getLogger(__name__)

NO_JAVA = (
    "Spark needs Java, and none was found: install a Java 17 runtime "
    "(on Debian or Ubuntu: sudo apt-get install openjdk-17-jre-headless) and run again."
)


class JavaMissing(RuntimeError):
    pass


def _java() -> Path | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return Path(home) / "bin" / "java"
    found = shutil.which("java")
    return Path(found) if found else None


def java_available() -> bool:
    return _java() is not None


def class_archive() -> Path | None:
    """Where the archive of the classes Spark's driver loads lives for this
    pyspark and this Java (`python -m etl archive-classes` writes it).

    Spark loads thousands of classes on each start and on first use of each
    part of a plan; mapped from this archive (Java's class data sharing) they
    need no reading, parsing or verifying: 4-7 s less per refresh here.
    The file name changes with the pyspark version and install and the JVM
    build, so an upgrade or another virtualenv is never handed an archive of
    another build (Java would ignore it).
    `BIMS_CLASS_ARCHIVE` overrides the place; None when there is no Java."""
    if os.environ.get("BIMS_CLASS_ARCHIVE"):
        return Path(os.environ["BIMS_CLASS_ARCHIVE"])
    java = _java()
    if java is None:
        return None
    import pyspark

    home = java.resolve().parent.parent
    jvm = next(home.glob("lib/server/libjvm.so"), None) or java.resolve()
    build = jvm.stat()
    # The install's place too: Java maps an archive only for the class path
    # (pyspark's jars) it was recorded with, so each virtualenv has its own.
    install = Path(pyspark.__file__).resolve().parent
    key = hashlib.sha256(f"{pyspark.__version__} {install} {jvm} {build.st_size} {build.st_mtime_ns}".encode()
                         ).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "bims" / f"spark-{pyspark.__version__}-classes-{key}.jsa"


def class_path_of(archive: Path) -> Path:
    """The class path the archive was recorded with (Java maps it only for that one)."""
    return archive.with_name(archive.name + ".classpath")


def archive_maps(archive: Path, class_path: str) -> bool:
    """Whether Java maps the archive for this class path: a JVM that must share
    classes (-Xshare:on) starts and exits, in about 0.2 s. A damaged archive
    that passes Java's own checks would otherwise crash the driver at start."""
    java = _java()
    if java is None or not archive.is_file():
        return False
    # In a folder of its own: a JVM that crashes on the archive leaves its crash report there.
    with tempfile.TemporaryDirectory(prefix="bims-archive-check-") as scratch:
        done = subprocess.run([str(java), f"-XX:SharedArchiveFile={archive}", "-Xshare:on", "-cp", class_path,
                               "-version"], capture_output=True, timeout=60, cwd=scratch)
    return done.returncode == 0


def archive_usable(archive: Path) -> bool:
    """Whether Java maps the archive for the class path it was recorded with. It
    does not once that pyspark install's jars are replaced (a virtualenv made
    again in the same place), even though the archive's name is the same."""
    recorded = class_path_of(archive)
    return archive.is_file() and recorded.is_file() and archive_maps(archive, recorded.read_text())


def driver_java_options(record_classes_to: Path | None = None) -> str:
    """The driver JVM's options: the collector, the quiet log configuration, and
    the class archive when there is a usable one (or, while building it, where
    to write it)."""
    options = ["-XX:+UseParallelGC", f"-Dlog4j2.configurationFile={LOG4J_CONFIG.as_uri()}"]
    archive = class_archive()
    if record_classes_to is not None:
        options.append(f"-XX:ArchiveClassesAtExit={record_classes_to}")
    elif archive is not None and archive.is_file():
        if archive_usable(archive):
            # Java still checks the class path Spark's launcher gives it, and
            # starts without sharing when that differs (say, SPARK_CONF_DIR is set).
            options.append(f"-XX:SharedArchiveFile={archive}")
        else:
            log.warning("the class archive %s is unusable, so Spark starts without it: rebuild it with "
                        "`python -m etl archive-classes`", archive)
    return " ".join(shlex.quote(o) for o in options)


@contextmanager
def _jvm_output_to(log_file: Path):
    """Send what the JVM prints at start-up (and later) to a log file.

    The JVM inherits the Python process's stdout/stderr descriptors when it is
    launched, so pointing those at a file for the launch keeps Spark's noise out
    of the user's terminal for the JVM's whole life.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        saved = os.dup(1), os.dup(2)
        try:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


# Settings of every BIMS Spark session. The SQL ones are the session's own, so
# they are also set on a session of a Spark Connect server (`get_spark(remote=…)`),
# whoever started that server: with ANSI mode on (Spark 4's default), say, an
# invalid value would fail the refresh instead of being reported by validate.
STATIC_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # A refresh generates some 220 classes (Spark's compiled plans); the default
    # cache of 100 let a long-lived server compile them all again, and Java's JIT
    # the hot ones, on every refresh (docs/performance.md).
    "spark.sql.codegen.cache.maxEntries": "1000",
}


def session_conf(shuffle_partitions: int = 8) -> dict[str, str]:
    return {
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        # Off: the plan is tuned by hand (broadcast hints, the combine's one
        # partitioning reused by the aggregates), and re-planning after every
        # stage cost about 10 s of driver time per refresh at scale 10.
        "spark.sql.adaptive.enabled": "false",
        "spark.sql.autoBroadcastJoinThreshold": str(64 * 1024 * 1024),
        # Invalid values become NULL and are reported by validate, not thrown.
        "spark.sql.ansi.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
    }


class SparkServerUnreachable(RuntimeError):
    """No Spark Connect server answers at the URL, or it refused us."""


def get_spark(master: str = "local[*]", driver_memory: str = "4g", shuffle_partitions: int = 8,
              record_classes_to: Path | None = None, remote: str | None = None):
    """Start (or reuse) the Spark session. `record_classes_to`: write the class
    archive there when the JVM exits (see `etl.class_archive.build`). `remote`:
    instead, a session of the Spark Connect server at this `sc://` URL (see
    `etl.spark_server`), whose JVM stays warm from one refresh to the next."""
    if remote:
        return _remote_session(remote, shuffle_partitions)
    if not java_available():
        raise JavaMissing(NO_JAVA)
    # Python workers must run this interpreter (the virtualenv's), not whatever
    # `python3` is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.appName("bims-etl")
        .master(master)
        .config("spark.driver.memory", driver_memory)
        .config("spark.driver.extraJavaOptions", driver_java_options(record_classes_to))
    )
    for key, value in {**STATIC_CONF, **session_conf(shuffle_partitions)}.items():
        builder = builder.config(key, value)
    with _jvm_output_to(LOG_DIR / "spark.log"):
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _remote_session(url: str, shuffle_partitions: int):
    from pyspark.errors import PySparkException
    from pyspark.sql import SparkSession

    from etl.spark_server import client_url, reachable

    address = client_url(url)
    # PySpark's client retries a server that is not there for minutes: ask the port first.
    if not reachable(address):
        raise SparkServerUnreachable(_why_unreachable(url, None))
    try:
        spark = SparkSession.builder.remote(address).create()
        for key, value in session_conf(shuffle_partitions).items():
            spark.conf.set(key, value)
    except (PySparkException, ValueError) as exc:
        raise SparkServerUnreachable(_why_unreachable(url, exc)) from None
    return spark


def _why_unreachable(url: str, exc: Exception | None) -> str:
    text = str(exc or "")
    if exc is None:
        reason = "nothing answers there: start one with `python -m etl spark-server`"
    elif "UNAUTHENTICATED" in text or "Invalid authentication token" in text:
        reason = ("it refused the token: give the server's (SPARK_CONNECT_AUTHENTICATE_TOKEN, or the token "
                  "file `python -m etl spark-server` wrote)")
    else:
        reason = f"{type(exc).__name__}: {text.strip().splitlines()[0] if text.strip() else 'no reason given'}"
    return f"cannot use the Spark Connect server at {url}: {reason}"
