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
