"""An Airflow DAG that refreshes BIMS every night (an example to adapt; BIMS
does not depend on Airflow). Copy it into your DAGs folder and set the
Variables it reads. The task runs the same command as `make refresh` and the
cron line of docs/deploy.md; the dashboard notices the new run by itself
(within seconds) and warms its cache."""
from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.models import Variable
from airflow.operators.bash import BashOperator

BIMS_HOME = Variable.get("bims_home", default_var="/srv/bims")
SOURCE = Variable.get("bims_source", default_var="s3://atliq-exports/monthly/")

with DAG(
    dag_id="bims_refresh",
    description="Refresh the BIMS warehouse from the monthly exports",
    schedule="15 2 * * *",             # 02:15 every night, after the exports land
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,                  # two refreshes never overlap
    default_args={
        "owner": "finance-data",
        "retries": 2,
        "retry_delay": timedelta(minutes=10),
        "execution_timeout": timedelta(hours=2),
    },
    tags=["bims"],
) as dag:
    # Exit code 0: published. 1: failed or refused (e.g. too many rejected rows;
    # the warehouse keeps the previous data and etl_runs says why). 2: wrong usage.
    refresh = BashOperator(
        task_id="refresh_warehouse",
        bash_command=f"cd {BIMS_HOME} && .venv/bin/python -m etl refresh --source {SOURCE}",
        env={
            "BIMS_WAREHOUSE": "{{ var.value.bims_warehouse }}",         # duckdb:////… or redshift://…
            "BIMS_REDSHIFT_PASSWORD": "{{ var.value.bims_redshift_password }}",
            "SPARK_MASTER": "{{ var.value.get('bims_spark_master', 'local[*]') }}",
        },
        append_env=True,
    )

    # The figures the executives open first: fail the DAG if the P&L cannot be read back.
    check = BashOperator(
        task_id="check_pnl",
        bash_command=f"cd {BIMS_HOME} && .venv/bin/python -m queries run pnl --format json > /dev/null",
        env={"BIMS_WAREHOUSE": "{{ var.value.bims_warehouse }}",
             "BIMS_REDSHIFT_PASSWORD": "{{ var.value.bims_redshift_password }}"},
        append_env=True,
    )

    refresh >> check
