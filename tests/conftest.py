"""Shared fixtures: one Spark session for the whole suite (it takes seconds to start)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BIMS_LOG_DIR", str(ROOT / "tests" / "output" / "logs"))


@pytest.fixture(scope="session")
def spark():
    from etl.spark import get_spark

    session = get_spark("local[2]", driver_memory="2g", shuffle_partitions=4)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    path = ROOT / "tests" / "output"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def sample_full(tmp_path_factory) -> Path:
    """A small, clean full-layout sample (scale 0.01) in CSV."""
    from etl.generate import generate

    folder = tmp_path_factory.mktemp("sample-full")
    generate(folder, scale=0.01, seed=11, layout="full", fmt="csv")
    return folder


@pytest.fixture(scope="session")
def sample_adhoc(tmp_path_factory) -> Path:
    from etl.generate import generate

    folder = tmp_path_factory.mktemp("sample-adhoc")
    generate(folder, scale=0.01, seed=12, layout="adhoc", fmt="parquet")
    return folder


def refresh_into(spark, source: Path, db: Path, **settings):
    return refresh_into_url(spark, source, f"duckdb:///{db}", **settings)


def _loaded_warehouse(spark, source: Path, folder: Path):
    from warehouse.duckdb import DuckDBWarehouse

    refresh_into(spark, source, folder / "bims.duckdb")
    warehouse = DuckDBWarehouse(folder / "bims.duckdb")
    yield warehouse
    warehouse.close()


@pytest.fixture(scope="session")
def full_warehouse(spark, sample_full, tmp_path_factory):
    """The full sample refreshed into a DuckDB warehouse."""
    yield from _loaded_warehouse(spark, sample_full, tmp_path_factory.mktemp("wh-full"))


@pytest.fixture(scope="session")
def adhoc_warehouse(spark, sample_adhoc, tmp_path_factory):
    """The ad-hoc sample refreshed into a DuckDB warehouse."""
    yield from _loaded_warehouse(spark, sample_adhoc, tmp_path_factory.mktemp("wh-adhoc"))


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL 15 server for the Redshift backend (tests/warehouse/README.md):
    stock redshift_connector made to talk to it by the test-only shim. Without
    PostgreSQL the tests skip locally and fail in CI."""
    from tests.warehouse import redshift_shim
    from tests.warehouse.postgres import PASSWORD, PostgresMissing, remove, start_server

    try:
        server = start_server()
    except PostgresMissing as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    redshift_shim.install()
    previous = os.environ.get("BIMS_REDSHIFT_PASSWORD")
    os.environ["BIMS_REDSHIFT_PASSWORD"] = PASSWORD
    try:
        yield server
    finally:
        if previous is None:
            os.environ.pop("BIMS_REDSHIFT_PASSWORD", None)
        else:
            os.environ["BIMS_REDSHIFT_PASSWORD"] = previous
        remove(server)


def refresh_into_url(spark, source: Path, url: str, **settings):
    from etl.config import Settings
    from etl.pipeline import refresh

    return refresh(str(source), Settings.from_env(warehouse_url=url, **settings), show=lambda line: None, spark=spark)


@pytest.fixture(scope="session")
def redshift_warehouse(spark, sample_full, postgres):
    """The full sample refreshed into the PostgreSQL-backed Redshift warehouse."""
    from warehouse.redshift import RedshiftWarehouse

    url = postgres.url
    refresh_into_url(spark, sample_full, url)
    warehouse = RedshiftWarehouse(url)
    yield warehouse
    warehouse.close()
