"""`python -m etl archive-classes`: a real archive, built by a real JVM, used by the next one."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from etl import spark as es
from tests.conftest import ROOT
from tests.etl.test_cli import etl


@pytest.fixture(scope="module")
def built(tmp_path_factory, spark):
    folder = tmp_path_factory.mktemp("classes")
    # Built where an archive Java does not map already lies under the same name,
    # recorded for this very class path, as a virtualenv made again in the same
    # place leaves one: `--if-missing` (what `make run` and `make test` give)
    # must build it again, not keep it.
    archive = _archive(folder, "bims.jsa")
    es.class_path_of(archive).write_text(spark._jvm.java.lang.System.getProperty("java.class.path"))
    env = dict(os.environ, BIMS_LOG_DIR=str(folder / "logs"))
    out = etl("archive-classes", "--out", str(archive), "--if-missing", env=env, timeout=600)
    return archive, out


def _usable_copy(built, archive):
    """The built archive (and its class path) under another name: one Java maps."""
    os.link(built[0], archive)
    es.class_path_of(archive).write_text(es.class_path_of(built[0]).read_text())
    return archive


def test_the_archive_is_written_and_named_in_the_output(built):
    archive, out = built
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"wrote {archive} (" in out.stdout
    assert archive.stat().st_size > 50 * 2**20  # thousands of classes
    # Nothing half-written is left beside it.
    assert sorted(p.name for p in archive.parent.iterdir() if p.is_file()) == ["bims.jsa", "bims.jsa.classpath"]


def test_an_archive_java_does_not_map_is_built_again_even_if_missing_is_asked(built):
    archive, out = built
    assert f"Java no longer maps the class archive {archive}" in out.stdout
    assert es.archive_usable(archive)


def test_the_archive_maps_for_the_class_path_spark_sessions_run_with(built, spark):
    archive, _ = built
    session_class_path = spark._jvm.java.lang.System.getProperty("java.class.path")
    assert es.class_path_of(archive).read_text() == session_class_path
    assert es.archive_maps(archive, session_class_path)


def test_the_next_spark_driver_starts_with_the_archive(built, tmp_path):
    archive, _ = built
    script = ("from etl.spark import get_spark\n"
              "s = get_spark('local[1]', driver_memory='1g')\n"
              "print(list(s._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()))\n"
              "print(s.range(5).count())\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), BIMS_CLASS_ARCHIVE=str(archive), BIMS_LOG_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    arguments, count = out.stdout.splitlines()[-2:]
    assert f"-XX:SharedArchiveFile={archive}" in arguments and count == "5"


def test_a_truncated_archive_is_refused_where_java_would_crash_on_it(built, tmp_path, monkeypatch):
    archive, _ = built
    truncated = tmp_path / "truncated.jsa"
    truncated.write_bytes(archive.read_bytes()[:100_000])
    es.class_path_of(truncated).write_text(es.class_path_of(archive).read_text())
    monkeypatch.setenv("BIMS_CLASS_ARCHIVE", str(truncated))
    assert not es.archive_maps(truncated, es.class_path_of(truncated).read_text())
    assert "SharedArchiveFile" not in es.driver_java_options()


def test_if_missing_leaves_an_existing_archive_alone(built):
    archive, _ = built
    before = archive.stat().st_mtime_ns
    out = etl("archive-classes", "--out", str(archive), "--if-missing")
    assert out.returncode == 0 and out.stdout == ""
    assert archive.stat().st_mtime_ns == before


# --- archives of installs that are gone -------------------------------------------------------------

def _archive(folder, name, class_path=None):
    archive = folder / name
    archive.write_bytes(b"\0" * 1000)
    if class_path is not None:
        es.class_path_of(archive).write_text(os.pathsep.join(str(p) for p in class_path))
    return archive


def test_only_archives_whose_jars_are_gone_or_unrecorded_are_stale(tmp_path):
    from etl.class_archive import stale_archives

    jar = tmp_path / "install" / "jars" / "spark-core.jar"
    jar.parent.mkdir(parents=True)
    jar.write_bytes(b"jar")
    cache = tmp_path / "cache"
    cache.mkdir()
    # Another virtualenv's, still installed (a folder on its class path that does not exist is normal).
    alive = _archive(cache, "spark-4.3.0-classes-aaaaaaaaaaaa.jsa", [tmp_path / "install" / "conf", jar])
    upgraded = _archive(cache, "spark-4.2.0-classes-bbbbbbbbbbbb.jsa", [jar, tmp_path / "install" / "old.jar"])
    unrecorded = _archive(cache, "spark-4.3.0-classes-cccccccccccc.jsa")
    current = _archive(cache, "spark-4.3.0-classes-dddddddddddd.jsa")  # being built: no class path yet
    other = _archive(cache, "notes.jsa")
    assert stale_archives(cache, keep=current) == [upgraded, unrecorded]
    assert alive.is_file() and other.is_file()


def test_archive_classes_removes_the_stale_archives_from_its_cache_folder(built, tmp_path, monkeypatch):
    cache = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv("BIMS_CLASS_ARCHIVE", raising=False)
    current = es.class_archive()
    current.parent.mkdir(parents=True)
    _usable_copy(built, current)
    before = current.stat().st_mtime_ns
    gone = _archive(current.parent, "spark-4.1.0-classes-eeeeeeeeeeee.jsa", [tmp_path / "removed-venv" / "a.jar"])
    env = {k: v for k, v in os.environ.items() if k != "BIMS_CLASS_ARCHIVE"}
    out = etl("archive-classes", "--if-missing", env=dict(env, XDG_CACHE_HOME=str(cache)))
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"removed 1 archive(s) of pyspark installs that are gone (0 MB) from {current.parent}" in out.stdout
    assert not gone.exists() and not es.class_path_of(gone).exists()
    assert current.stat().st_mtime_ns == before  # --if-missing: the current, usable one is left as it is


def test_an_archive_path_given_by_hand_prunes_nothing(built, tmp_path, monkeypatch):
    cache = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    folder = es.class_archive().parent
    folder.mkdir(parents=True)
    gone = _archive(folder, "spark-4.1.0-classes-eeeeeeeeeeee.jsa", [tmp_path / "removed-venv" / "a.jar"])
    mine = _usable_copy(built, folder / "mine.jsa")  # beside them, but named by hand
    out = etl("archive-classes", "--if-missing", "--out", str(mine),
              env=dict(os.environ, XDG_CACHE_HOME=str(cache)))
    assert out.returncode == 0 and out.stdout == ""
    assert gone.is_file()
