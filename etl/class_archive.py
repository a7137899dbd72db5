"""Build the archive of the classes Spark's driver loads (see `etl.spark.class_archive`).

Java writes the archive when the JVM exits, listing every class it loaded; so
a JVM of its own runs a whole refresh of a tiny sample, full and then one
fiscal year, which loads what any refresh loads, and is then made to exit.
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Callable

from etl.spark import LOG_DIR, archive_maps, class_path_of, get_spark

# Large enough to hold every table, rule and fiscal year; small enough to take seconds.
SAMPLE_SCALE = 0.002


def build(archive: Path, show: Callable[[str], None] = print) -> Path:
    """Write the class archive to `archive` (replacing any there); returns it.

    Must run in a process that has not started Spark yet: Java takes the option
    that records classes only when the JVM starts."""
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:
        raise RuntimeError("the class archive must be built by a process that has not started Spark")
    archive.parent.mkdir(parents=True, exist_ok=True)
    # Java writes to this name; the archive appears under its own name only
    # once complete, so a refresh starting meanwhile never maps half a file.
    partial = archive.with_name(f".{archive.name}.{os.getpid()}.partial")
    try:
        class_path = _record(partial, show)
        if not partial.is_file():
            raise RuntimeError("Java wrote no class archive: see the JVM's messages in "
                               f"{LOG_DIR / 'spark.log'}")
        if not archive_maps(partial, class_path):
            raise RuntimeError(f"Java cannot map the archive it wrote ({partial.stat().st_size:,} bytes)")
        class_path_of(archive).write_text(class_path)
        partial.replace(archive)
    finally:
        partial.unlink(missing_ok=True)
    return archive


def stale_archives(folder: Path, keep: Path) -> list[Path]:
    """The archives in the cache `folder`, other than `keep`, that Java can
    never map again: their recorded class path names a jar that is gone (that
    pyspark install was removed or upgraded), or no class path was recorded.
    Each is about 180 MB, and a new one is written per install and upgrade.
    Another virtualenv's archive whose jars are still there is left alone."""
    stale = []
    for archive in sorted(folder.glob("spark-*-classes-*.jsa")):
        if archive == keep:
            continue
        recorded = class_path_of(archive)
        jars = [p for p in recorded.read_text().split(os.pathsep) if p.endswith(".jar")] if recorded.is_file() else []
        if not jars or not all(Path(j).is_file() for j in jars):
            stale.append(archive)
    return stale


def prune(folder: Path, keep: Path) -> tuple[int, int]:
    """Remove the `stale_archives` (with their class path files): how many, and their bytes."""
    removed = size = 0
    for archive in stale_archives(folder, keep):
        size += archive.stat().st_size
        archive.unlink(missing_ok=True)
        class_path_of(archive).unlink(missing_ok=True)
        removed += 1
    return removed, size


def _record(partial: Path, show: Callable[[str], None]) -> str:
    """Run the refreshes in a JVM that writes its classes to `partial` as it
    exits; returns the JVM's class path."""
    from etl.config import Settings
    from etl.generate import generate
    from etl.pipeline import refresh

    with tempfile.TemporaryDirectory(prefix="bims-classes-") as work:
        work = Path(work)
        source = work / "source"
        generate(source, scale=SAMPLE_SCALE)
        spark = get_spark("local[*]", record_classes_to=partial)
        settings = Settings.from_env(warehouse_url=f"duckdb:///{work / 'warehouse.duckdb'}", spark_master="local[*]")
        quiet = lambda line: None  # noqa: E731
        show("running a full refresh of a small sample ...")
        refresh(str(source), settings, show=quiet, spark=spark)
        show("running a refresh of one fiscal year ...")
        refresh(str(source), dataclasses.replace(settings, fiscal_years=(2021,)), show=quiet, spark=spark)
        show("writing the archive as the JVM exits ...")
        class_path = spark._jvm.java.lang.System.getProperty("java.class.path")
        jvm = spark.sparkContext._gateway.proc
        spark.stop()
        # The JVM exits when its standard input closes; Java writes the archive then.
        jvm.stdin.close()
        jvm.wait(timeout=600)
    return class_path
