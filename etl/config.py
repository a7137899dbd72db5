"""Settings of a refresh: command-line flags win over environment variables,
which win over these defaults."""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

DEFAULT_WAREHOUSE = "duckdb:///data/bims.duckdb"


@dataclass(frozen=True)
class Settings:
    warehouse_url: str = DEFAULT_WAREHOUSE
    spark_master: str = "local[*]"
    # A Spark Connect server to run on instead (sc://HOST:PORT; `python -m etl spark-server`).
    spark_remote: str | None = None
    # First month of the fiscal year (September: FY2021 = Sep 2020 - Aug 2021).
    fiscal_start_month: int = 9
    # A refresh fails when a table's rejected rows exceed this share of it.
    max_reject_share: float = 0.01
    # Plausible range for a fact's month (rule 2).
    earliest_date: dt.date = dt.date(2000, 1, 1)
    latest_date: dt.date = dt.date(2040, 12, 1)
    # Fiscal years to recompute; empty means all (a full refresh).
    fiscal_years: tuple[int, ...] = field(default=())
    spark_driver_memory: str = "4g"
    shuffle_partitions: int = 8
    # Who reads CSV sources: "arrow" stages them as Parquet on this machine
    # first (much faster); "spark" reads them in Spark, as a cluster must.
    csv_reader: str = "arrow"

    @staticmethod
    def from_env(**overrides) -> "Settings":
        env = os.environ
        values = {
            "warehouse_url": env.get("BIMS_WAREHOUSE", DEFAULT_WAREHOUSE),
            "spark_master": env.get("SPARK_MASTER", "local[*]"),
            "spark_remote": env.get("SPARK_REMOTE") or None,
            "fiscal_start_month": int(env.get("BIMS_FISCAL_START_MONTH", 9)),
            "max_reject_share": float(env.get("BIMS_MAX_REJECT_SHARE", 0.01)),
            "spark_driver_memory": env.get("BIMS_SPARK_DRIVER_MEMORY", "4g"),
            "shuffle_partitions": int(env.get("BIMS_SHUFFLE_PARTITIONS", 8)),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        local = values["spark_master"].startswith("local")
        values.setdefault("csv_reader", env.get("BIMS_CSV_READER") or ("arrow" if local else "spark"))
        settings = Settings(**values)
        if not 1 <= settings.fiscal_start_month <= 12:
            raise ValueError("BIMS_FISCAL_START_MONTH must be a month number from 1 to 12")
        if not 0 <= settings.max_reject_share <= 1:
            raise ValueError("BIMS_MAX_REJECT_SHARE must be a share between 0 and 1")
        if settings.spark_remote and not settings.spark_remote.startswith("sc://"):
            raise ValueError(f"--remote / SPARK_REMOTE must be a Spark Connect URL, sc://HOST:PORT, "
                             f"not {settings.spark_remote!r}")
        if settings.csv_reader not in ("arrow", "spark"):
            raise ValueError("BIMS_CSV_READER must be arrow or spark")
        return settings
