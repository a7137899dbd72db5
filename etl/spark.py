"""The Spark session BIMS runs on, tuned for a small machine unless told otherwise."""
from __future__ import annotations

import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

CONF_DIR = Path(__file__).parent / "conf"
LOG_DIR = Path(os.environ.get("BIMS_LOG_DIR", "logs"))

NO_JAVA = (
    "Spark needs Java, and none was found: install a Java 17 runtime "
    "(on Debian or Ubuntu: sudo apt-get install openjdk-17-jre-headless) and run again."
)


class JavaMissing(RuntimeError):
    pass


def java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and (Path(home) / "bin" / "java").exists()))


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


def get_spark(master: str = "local[*]", driver_memory: str = "4g", shuffle_partitions: int = 8):
    """Start (or reuse) the Spark session."""
    if not java_available():
        raise JavaMissing(NO_JAVA)
    os.environ.setdefault("SPARK_CONF_DIR", str(CONF_DIR))
    # Python workers must run this interpreter (the virtualenv's), not whatever
    # `python3` is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.appName("bims-etl")
        .master(master)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", driver_memory)
        .config("spark.driver.extraJavaOptions", "-XX:+UseParallelGC")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        # Off: the plan is tuned by hand (broadcast hints, the combine's one
        # partitioning reused by the aggregates), and re-planning after every
        # stage cost about 10 s of driver time per refresh at scale 10.
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.autoBroadcastJoinThreshold", str(64 * 1024 * 1024))
        # Invalid values become NULL and are reported by validate, not thrown.
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
    )
    with _jvm_output_to(LOG_DIR / "spark.log"):
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
