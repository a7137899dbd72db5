"""gunicorn's settings for the dashboard: `gunicorn dashboard.app:server`
reads this file from the working directory (the Docker image runs exactly
that). Every value can be overridden by an environment variable."""
import logging
import multiprocessing
import os

# The app's own log lines (cache warming, the audit log's `bims.audit`, errors)
# next to gunicorn's, on stderr where a container's logs are collected.
logging.basicConfig(level=os.environ.get("BIMS_LOG_LEVEL", "info").upper(),
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")

bind = os.environ.get("BIMS_BIND", "0.0.0.0:8050")
# Processes for CPU (pandas, Plotly and JSON per callback: one GIL each) and a
# few threads for the waits on the warehouse; all share the result cache
# (BIMS_CACHE_DIR or Redis). bench/load.py measured 2 x cores + 1 workers with
# 2 threads ahead of cores + 1 with 4 (docs/performance.md).
workers = int(os.environ.get("BIMS_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("BIMS_THREADS", 2))
timeout = int(os.environ.get("BIMS_WORKER_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
# A worker is replaced now and then, so slow growth of memory cannot pile up.
max_requests = 2000
max_requests_jitter = 200
# Behind a load balancer: whose X-Forwarded-* headers to believe (see BIMS_TRUSTED_PROXIES).
forwarded_allow_ips = os.environ.get("BIMS_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("BIMS_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("BIMS_LOG_LEVEL", "info")
