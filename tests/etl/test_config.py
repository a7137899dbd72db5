"""Settings of a refresh: who reads CSV sources follows where Spark runs."""
from __future__ import annotations

import pytest

from etl.config import Settings


@pytest.mark.parametrize("env, overrides, expected", [
    ({}, {}, "arrow"),  # Spark on this machine: Arrow stages the CSV
    ({"SPARK_MASTER": "spark://spark-master.internal:7077"}, {}, "spark"),  # executors can't see our disk
    ({"SPARK_MASTER": "yarn"}, {"spark_master": "local[2]"}, "arrow"),  # --master wins over the variable
    ({"BIMS_CSV_READER": "spark"}, {}, "spark"),
    ({"BIMS_CSV_READER": "arrow", "SPARK_MASTER": "yarn"}, {}, "arrow"),
    ({"BIMS_CSV_READER": "arrow"}, {"csv_reader": "spark"}, "spark"),
])
def test_csv_reader_follows_where_spark_runs_unless_told(monkeypatch, env, overrides, expected):
    for name in ("SPARK_MASTER", "BIMS_CSV_READER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    assert Settings.from_env(**overrides).csv_reader == expected


def test_an_unknown_csv_reader_is_refused(monkeypatch):
    monkeypatch.setenv("BIMS_CSV_READER", "pandas")

    with pytest.raises(ValueError, match="BIMS_CSV_READER must be arrow or spark"):
        Settings.from_env()
