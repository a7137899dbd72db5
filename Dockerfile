# BIMS: the dashboard (gunicorn) by default; the same image runs the ETL
# (`docker run IMAGE python -m etl refresh --source s3://…`), hence the Java
# runtime Spark needs. Build: docker build -t bims .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Java 17 for Spark; procps because Spark's launch scripts call ps.
# Debian's security updates move these versions, so they are not pinned.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY etl/ etl/
COPY queries/ queries/
COPY warehouse/ warehouse/
COPY dashboard/ dashboard/
COPY assets/ assets/
COPY gunicorn.conf.py ./

# The archive of the classes Spark loads (etl/spark.py: class_archive), written
# by a refresh of a tiny sample at build time: each refresh starts seconds sooner.
ENV BIMS_CLASS_ARCHIVE=/app/spark-classes.jsa
RUN python -m etl archive-classes && rm -rf logs

# A user without a login shell or rights over the code; data and logs on volumes.
RUN groupadd --system --gid 10001 bims \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin bims \
    && mkdir -p /data /logs \
    && chown 10001:10001 /data /logs
USER 10001:10001

# XDG_CACHE_HOME: where `python -m etl spark-server` leaves its token for
# refreshes run beside it (`docker exec … refresh --remote sc://localhost:15002`).
ENV BIMS_WAREHOUSE=duckdb:////data/bims.duckdb \
    XDG_CACHE_HOME=/tmp \
    BIMS_USERS_FILE=/data/users.json \
    BIMS_AUDIT_LOG=/logs/audit.log \
    BIMS_LOG_DIR=/logs \
    BIMS_CACHE_DIR=/tmp/bims-cache \
    BIMS_BIND=0.0.0.0:8050
VOLUME ["/data", "/logs"]
EXPOSE 8050

# /healthz: 200 while the warehouse answers, 503 when it does not.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ['BIMS_BIND'].rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]

CMD ["gunicorn", "--config", "gunicorn.conf.py", "dashboard.app:server"]
