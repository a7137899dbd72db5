"""etl/spark.py: where the class archive lives, and when the driver uses it."""
from __future__ import annotations

import os
import shlex

import pyspark

from etl import spark as es


def options(**kwargs) -> list[str]:
    return shlex.split(es.driver_java_options(**kwargs))


def test_the_archive_lives_in_the_cache_named_for_the_pyspark_version_and_java_build(tmp_path, monkeypatch):
    monkeypatch.delenv("BIMS_CLASS_ARCHIVE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    archive = es.class_archive()
    assert archive.parent == tmp_path / "bims"
    assert archive.name.startswith(f"spark-{pyspark.__version__}-classes-") and archive.suffix == ".jsa"
    assert es.class_archive() == archive  # the same build, the same name
    monkeypatch.setattr(pyspark, "__version__", "0.0.1")
    assert es.class_archive() != archive and "spark-0.0.1-classes-" in es.class_archive().name
    # Another virtualenv (another class path): another archive.
    other = es.class_archive()
    monkeypatch.setattr(pyspark, "__file__", str(tmp_path / "venv2" / "pyspark" / "__init__.py"))
    assert es.class_archive() != other
    monkeypatch.setenv("BIMS_CLASS_ARCHIVE", str(tmp_path / "x.jsa"))
    assert es.class_archive() == tmp_path / "x.jsa"


def test_another_java_build_gets_another_archive(tmp_path, monkeypatch):
    """An update of the JDK in place (same path, new libjvm.so) must not be handed the old archive."""
    monkeypatch.delenv("BIMS_CLASS_ARCHIVE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    real = es.class_archive()
    jdk = tmp_path / "jdk"
    (jdk / "bin").mkdir(parents=True)
    (jdk / "lib" / "server").mkdir(parents=True)
    (jdk / "bin" / "java").write_text("")
    libjvm = jdk / "lib" / "server" / "libjvm.so"
    libjvm.write_bytes(b"build 1")
    monkeypatch.setattr(es, "_java", lambda: jdk / "bin" / "java")
    first = es.class_archive()
    assert first != real
    os.utime(libjvm, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    assert es.class_archive() not in (first, real)


def test_without_an_archive_the_driver_starts_with_the_collector_and_log_settings_only(tmp_path, monkeypatch):
    monkeypatch.setenv("BIMS_CLASS_ARCHIVE", str(tmp_path / "none.jsa"))
    assert options() == ["-XX:+UseParallelGC", f"-Dlog4j2.configurationFile={es.LOG4J_CONFIG.as_uri()}"]
    assert es.LOG4J_CONFIG.is_file()


def test_a_file_java_cannot_map_is_not_given_to_the_driver(tmp_path, monkeypatch, spark):
    archive = tmp_path / "damaged.jsa"
    archive.write_bytes(b"not a class archive" * 1000)
    es.class_path_of(archive).write_text(spark._jvm.java.lang.System.getProperty("java.class.path"))
    monkeypatch.setenv("BIMS_CLASS_ARCHIVE", str(archive))
    assert not es.archive_maps(archive, es.class_path_of(archive).read_text())
    assert not any(o.startswith("-XX:SharedArchiveFile") for o in options())


def test_an_archive_without_its_recorded_class_path_is_not_used(tmp_path, monkeypatch):
    archive = tmp_path / "a.jsa"
    archive.write_bytes(b"x")
    monkeypatch.setenv("BIMS_CLASS_ARCHIVE", str(archive))
    assert not any(o.startswith("-XX:SharedArchiveFile") for o in options())


def test_while_recording_the_driver_is_told_where_to_write_the_archive(tmp_path):
    target = tmp_path / "with space" / "a.jsa"
    assert options(record_classes_to=target)[-1] == f"-XX:ArchiveClassesAtExit={target}"
