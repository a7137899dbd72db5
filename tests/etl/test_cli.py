"""`python -m etl` as a user runs it: progress, summary, status, clear errors."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def etl(*args, env=None, timeout=300):
    env = dict(os.environ if env is None else env, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "etl", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_refresh_shows_stages_and_a_summary_without_jvm_noise(sample_full, tmp_path):
    env = dict(os.environ, BIMS_LOG_DIR=str(tmp_path / "logs"))
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    out = etl("refresh", "--source", str(sample_full), "--warehouse", url, "--master", "local[2]", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    for stage in ("spark", "extract", "validate", "transform", "load"):
        assert f"  {stage:<10} done in" in out.stdout, stage
    assert "fact_sales_monthly" in out.stdout and "agg_customer_product_yearly" in out.stdout
    assert "succeeded in" in out.stdout
    for noise in ("WARN", "log4j", "Traceback", "SparkContext", "incubator"):
        assert noise not in out.stdout + out.stderr, noise
    assert (tmp_path / "logs" / "spark.log").exists()
    status = etl("status", "--warehouse", url, env=env)
    assert status.returncode == 0 and "succeeded" in status.stdout and str(sample_full) in status.stdout


def test_without_java_one_sentence_says_how_to_install_it(sample_full, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)  # no java on it
    out = etl("refresh", "--source", str(sample_full), "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}", env=env)
    assert out.returncode == 1
    assert "install a Java 17 runtime" in out.stdout and "Traceback" not in out.stdout + out.stderr


def test_a_missing_source_is_a_clear_error(tmp_path):
    out = etl("refresh", "--source", str(tmp_path / "nowhere"), "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}",
              "--master", "local[1]")
    assert out.returncode == 1
    assert f"source folder {tmp_path / 'nowhere'} does not exist" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr
    assert not (tmp_path / "w.duckdb").exists() or "failed" in etl(
        "status", "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}").stdout


def test_generate_writes_the_tables(tmp_path):
    out = etl("generate", "--out", str(tmp_path / "s"), "--scale", "0.01", "--layout", "adhoc", "--format", "parquet")
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [
        "dim_customer.parquet", "dim_product.parquet", "fact_gross_price.parquet",
        "fact_manufacturing_cost.parquet", "fact_pre_invoice_deductions.parquet", "fact_sales_monthly.parquet"]
    assert "wrote 6 tables" in out.stdout


def test_unknown_warehouse_url_is_refused(sample_full, tmp_path):
    out = etl("refresh", "--source", str(sample_full), "--warehouse", "mysql://db/bims")
    assert out.returncode == 1 and "unknown warehouse URL" in out.stdout
