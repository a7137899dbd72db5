"""A refresh: extract -> validate -> transform -> load, with a record of the run.

This is the only module that sequences the stages and triggers Spark actions;
the stages themselves stay plain functions.
"""
from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq
from pyspark import StorageLevel
from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F
from pyspark.sql.types import FractionalType

from etl import transform as tf
from etl import validate as vd
from etl.config import Settings
from etl.extract import Extracted, extract
from etl.schema import FACT_TABLES, OUTPUT_TABLES
from warehouse import Publication, connect
from warehouse.base import parquet_files



@dataclass
class RunSummary:
    run_id: str
    status: str
    seconds: float
    rows_read: dict[str, int] = field(default_factory=dict)
    rows_rejected: dict[str, int] = field(default_factory=dict)
    rejected_by_rule: dict[str, int] = field(default_factory=dict)
    rows_written: dict[str, int] = field(default_factory=dict)
    missing_tables: list[str] = field(default_factory=list)
    message: str = ""


class StagingNotShared(Exception):
    """Spark's executors wrote output this machine cannot see (see `check_staged`)."""


class Stages:
    """Prints one line per stage with its duration."""

    def __init__(self, show: Callable[[str], None]):
        self.show = show
        self.started = time.monotonic()

    def run(self, name: str, detail: str, work: Callable):
        begun = time.monotonic()
        self.show(f"{name:<10} {detail} ...")
        result = work()
        self.show(f"{name:<10} done in {time.monotonic() - begun:.1f} s")
        return result


def new_run_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def _count_rules(flagged: dict[str, DataFrame]) -> dict[str, tuple[int, dict[str, int]]]:
    """Each table's rows and rows per rule broken, for all the tables in one
    Spark job: a job per small table cost about half a second each to plan and
    schedule, for a few thousand rows."""
    if not flagged:
        return {}
    rows = reduce(DataFrame.unionByName, [
        frame.select(F.lit(name).alias("table"), F.col("_rule").alias("rule")) for name, frame in flagged.items()
    ]).groupBy("table", "rule").count().collect()
    return {name: (sum(r["count"] for r in rows if r["table"] == name),
                   {r["rule"]: r["count"] for r in rows if r["table"] == name and r["rule"] is not None})
            for name in flagged}


def _arrow(frame: DataFrame | None) -> pa.Table:
    schema = pa.schema([(c, pa.string()) for c in vd.DQ_COLUMNS])
    if frame is None:
        return schema.empty_table()
    table = frame.select(*vd.DQ_COLUMNS).toArrow()
    return table.cast(schema) if table.num_rows else schema.empty_table()


def _count_duplicate_fact_rows(dq: pa.Table, summary: RunSummary) -> None:
    """Duplicate fact keys are found when the facts are combined, after the
    per-row checks: add their rows to the run's reject counts."""
    for row in dq.filter(pa.compute.equal(dq["rule"], "unique_key")).to_pylist():
        if row["table_name"] in FACT_TABLES:
            n = int(row["offending_value"])
            summary.rows_rejected[row["table_name"]] = summary.rows_rejected.get(row["table_name"], 0) + n
            summary.rejected_by_rule["unique_key"] = summary.rejected_by_rule.get("unique_key", 0) + n


def refresh(source: str, settings: Settings, show: Callable[[str], None] = print, spark=None) -> RunSummary:
    """Run one refresh; raise on failure after recording it in etl_runs."""
    from etl.spark import get_spark

    run_id = new_run_id()
    started_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    stages = Stages(show)
    warehouse = connect(settings.warehouse_url)
    summary = RunSummary(run_id, "running", 0.0)
    staging = Path(tempfile.mkdtemp(prefix=f"bims-{run_id}-"))
    record = {"run_id": run_id, "started_at": started_at, "source": source,
              "fiscal_years": " ".join(map(str, settings.fiscal_years)) or "all"}
    persisted: list[DataFrame] = []
    findings: list[DataFrame] = []
    own_session = None

    def finish(status: str, message: str, tables: dict[str, str]) -> None:
        dq = _arrow(reduce(DataFrame.unionByName, findings) if findings else None)
        _count_duplicate_fact_rows(dq, summary)
        summary.seconds = time.monotonic() - stages.started
        run = dict(record, finished_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), status=status,
                   missing_tables=" ".join(summary.missing_tables), message=message[:4000],
                   rows_read=sum(summary.rows_read.values()), rows_rejected=sum(summary.rows_rejected.values()),
                   seconds=round(summary.seconds, 3))
        run_tables = [{"table_name": t, "rows_read": summary.rows_read.get(t), "rows_rejected":
                       summary.rows_rejected.get(t), "rows_written": None}
                      for t in [*summary.rows_read, *[o for o in tables if o not in summary.rows_read]]]
        summary.rows_written = warehouse.publish(Publication(
            run, run_tables, dq, tables, settings.fiscal_years or None))
        summary.status, summary.message = status, message

    try:
        if spark is None:
            where = f"connecting to {settings.spark_remote}" if settings.spark_remote \
                else f"starting on {settings.spark_master}"
            spark = stages.run("spark", where, lambda: get_spark(
                settings.spark_master, settings.spark_driver_memory, settings.shuffle_partitions,
                remote=settings.spark_remote))
            if settings.spark_remote:
                # Ends this client's session on the server (its cached frames) when done.
                own_session = spark
        extracted: Extracted = stages.run("extract", f"reading {source}", lambda: extract(
            spark, source, staging / "source", settings.fiscal_years, settings.fiscal_start_month,
            settings.csv_reader))
        record["layout"] = extracted.layout
        summary.missing_tables = extracted.missing_optional
        for name in summary.missing_tables:
            show(f"warning    optional table {name} is missing: the measures that need it are absent")
        for path, reason in extracted.read_by_spark.items():
            show(f"warning    {path} is read by Spark's slower CSV reader: {reason}")

        def validate():
            flagged = vd.check_all(extracted.frames, settings)
            observed: dict[str, Observation] = {}
            clean: dict[str, DataFrame] = {}
            for name, frame in flagged.items():
                if name in FACT_TABLES:
                    # The large facts are read once, by the combine below: their rule
                    # counts are observed on the way, instead of caching the checked
                    # rows and counting them in a pass of their own.
                    frame = frame.drop("_row_id")
                    observed[name] = Observation(f"rules_{name}_{run_id}")
                    clean[name] = vd.clean_rows(frame.observe(observed[name], *vd.rule_counts()))
                    flagged_frames[name] = frame
                    continue
                frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
                persisted.append(frame)
                flagged_frames[name] = frame
                clean[name] = vd.clean_rows(frame)
            small = {name: flagged_frames[name] for name in flagged if name not in FACT_TABLES}
            for name, (read, rules) in _count_rules(small).items():
                _record_rules(name, read, rules)
            # Rule 1 on the facts is found where they are combined at their key, so the
            # combine runs here: one pass over each fact file, then it is cached.
            # What the transform needs to know of the combined facts as a whole
            # (their months, any duplicate keys) is observed on this same pass too.
            summary_of_facts = Observation(f"facts_{run_id}")
            combined = tf.combine_facts(clean["fact_sales_monthly"], clean.get("fact_forecast_monthly"),
                                        clean.get("post_invoice_deductions")) \
                .observe(summary_of_facts, *tf.fact_summary()).persist(StorageLevel.MEMORY_AND_DISK)
            persisted.append(combined)
            combined.count()
            for name, observation in observed.items():
                counts = observation.get
                _record_rules(name, counts["rows"], {r: counts[r] for r in vd.RULES if counts.get(r)})
            return clean, combined, summary_of_facts.get

        def _record_rules(name: str, read: int, rules: dict[str, int]) -> None:
            summary.rows_read[name] = read
            summary.rows_rejected[name] = sum(rules.values())
            for rule, n in rules.items():
                summary.rejected_by_rule[rule] = summary.rejected_by_rule.get(rule, 0) + n
            if rules:
                findings.append(vd.rejected_rows(flagged_frames[name], name))

        flagged_frames: dict[str, DataFrame] = {}
        clean, combined, facts = stages.run(
            "validate", f"{len(vd.RULES)} business rules on {len(extracted.frames)} tables", validate)
        vd.enforce_reject_limit(summary.rows_read, summary.rows_rejected, settings)

        tables = stages.run("transform", "computing measures and aggregates",
                            lambda: _transform(clean, combined, facts, settings, staging / "out", findings))
        stages.run("load", f"publishing {len(tables)} tables to {warehouse.url}",
                   lambda: finish("succeeded", "", tables))
        return summary
    except Exception as exc:
        if summary.status == "running":
            try:
                finish("failed", f"{type(exc).__name__}: {exc}", {})
            except Exception:  # the warehouse itself may be what failed
                pass
        raise
    finally:
        # Cleaning up must not hide why a refresh failed (a Spark server that went away, say).
        try:
            for frame in persisted:
                frame.unpersist()
            if own_session is not None:
                own_session.stop()
        except Exception as exc:  # noqa: BLE001
            show(f"warning    could not release Spark's cached tables: {type(exc).__name__}")
        shutil.rmtree(staging, ignore_errors=True)


def _transform(clean: dict[str, DataFrame], combined: DataFrame, facts: dict, settings: Settings, out: Path,
               findings: list[DataFrame]) -> dict[str, str]:
    """Build the output tables as Parquet folders under `out`; add findings."""
    customers, markets, geography_warnings = vd.geography(clean["dim_customer"], clean.get("dim_market"))
    findings.append(geography_warnings)
    products = clean["dim_product"]
    if (facts["most_rows_per_key"] or 0) > 1:
        findings.append(tf.duplicate_keys(combined))
    months = tf.fact_months(combined.sparkSession, facts, settings.fiscal_start_month)
    lines = tf.sales_lines(combined, months, products, clean["gross_price"], clean.get("manufacturing_cost"))
    rates = tf.customer_rates(customers, months, clean.get("pre_invoice_deductions"), clean.get("freight_cost"))

    frames = {
        "dim_customer": customers,
        "dim_product": products.select(*tf.PRODUCT_ATTRIBUTES),
        "dim_market": markets,
        "agg_customer_category_monthly": tf.customer_category_monthly(lines, rates, settings.fiscal_start_month),
        # Written with its `_missing_*` counts, which the warehouse does not publish.
        "agg_customer_product_yearly": tf.customer_product_yearly(lines, rates, products),
        "product_price_cost_yearly": tf.product_price_cost_yearly(
            clean["gross_price"], clean.get("manufacturing_cost"), products),
    }
    if "pre_invoice_deductions" in clean:
        frames["customer_deduction_rates_yearly"] = tf.customer_deduction_rates_yearly(
            clean["pre_invoice_deductions"], customers)
    # A layout without freight still gets the table, empty, so readers find it.
    freight = clean.get("freight_cost")
    if freight is None:
        freight = markets.limit(0).select(F.lit(None).cast("int").alias("fiscal_year"), "market",
                                          F.lit(None).cast("double").alias("freight_pct"),
                                          F.lit(None).cast("double").alias("other_cost_pct"))
    frames["market_cost_rates_yearly"] = tf.market_cost_rates_yearly(freight, markets)

    def write(name: str) -> tuple[str, int]:
        small = name.startswith(("dim_", "product_", "customer_", "market_"))
        return write_staged(frames[name], out / name, files=1 if small else 4)

    # Writing a small table is mostly driver work (planning, generating code):
    # a few at once overlap it with the large aggregates' tasks. The category
    # table and the missing lookups are read from the yearly table's files once
    # written: reading them back costs less than caching its 3 M wide rows.
    yearly = "agg_customer_product_yearly"
    with ThreadPoolExecutor(max_workers=3) as pool:
        pending = {name: pool.submit(write, name) for name in OUTPUT_TABLES if name in frames}
        staged = {yearly: pending.pop(yearly).result()}
        check_staged(staged)
        written_yearly = combined.sparkSession.read.parquet(staged[yearly][0])
        lookup_findings = tf.missing_lookups(written_yearly, set(clean))
        if lookup_findings is not None:
            findings.append(lookup_findings)
        frames["agg_customer_category_yearly"] = tf.customer_category_yearly(written_yearly)
        pending["agg_customer_category_yearly"] = pool.submit(write, "agg_customer_category_yearly")
        staged.update({name: future.result() for name, future in pending.items()})
    check_staged(staged)
    return {name: staged[name][0] for name in OUTPUT_TABLES if name in staged}


def write_staged(frame: DataFrame, path: Path, files: int) -> tuple[str, int]:
    """Write a table as a folder of `files` Parquet files; return the folder and
    the rows Spark's tasks wrote (counted as they write, for `check_staged`)."""
    written = Observation(f"written_{path.name}_{uuid.uuid4().hex}")
    writer = frame.coalesce(files).observe(written, F.count(F.lit(1)).alias("rows")).write.mode("overwrite")
    for field_ in frame.schema.fields:
        if isinstance(field_.dataType, FractionalType):
            # Parquet's writer tries a dictionary for every column; the measures
            # are nearly all distinct, so for them it is wasted work (about 3 s
            # of a full refresh at scale 10, docs/performance.md).
            writer = writer.option(f"parquet.enable.dictionary#{field_.name}", "false")
    writer.parquet(str(path))
    return str(path), written.get["rows"]


def check_staged(staged: dict[str, tuple[str, int]]) -> None:
    """Refuse to publish when the Parquet files this machine sees hold other than
    the rows Spark's tasks wrote (`staged`: table -> folder, rows written). On a
    cluster whose executors write the staging folder on their own disks, the
    job still succeeds, and the load would silently miss their part of a table."""
    short = []
    for name, (path, rows) in staged.items():
        seen = sum(pq.read_metadata(f).num_rows for f in parquet_files(path)) if Path(path).is_dir() else 0
        if seen != rows:
            short.append(f"{name} {seen:,} of {rows:,} rows")
    if short:
        folders = ", ".join(sorted({str(Path(path).parent) for path, _ in staged.values()}))
        raise StagingNotShared(
            f"Spark's executors wrote rows this machine cannot see in {folders} ({'; '.join(short)}), so the "
            f"warehouse was left as it was. On a cluster, set TMPDIR to a folder every node mounts "
            f"(docs/deploy.md).")
