"""/healthz for load balancers and container health checks: whether the
warehouse answers, and how old its latest successful refresh is. Public (no
sign-in) and free of figures: 200 when the warehouse answers, 503 when not."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from flask import jsonify

from dashboard import data

log = logging.getLogger(__name__)


def _age_seconds(finished_at) -> float | None:
    if not hasattr(finished_at, "timestamp"):
        return None
    if finished_at.tzinfo is None:  # the warehouse stores UTC without a zone
        finished_at = finished_at.replace(tzinfo=timezone.utc)
    return round((datetime.now(timezone.utc) - finished_at).total_seconds(), 1)


def healthz():
    try:
        refresh = data.latest_refresh()
    except data.DataUnavailable as exc:
        # The reason stays in the server's log: it may name hosts and paths.
        log.warning("health check: %s", exc)
        return jsonify(status="unavailable", warehouse="unreachable or not loaded"), 503
    return jsonify(status="ok", warehouse="reachable", last_refresh_run_id=refresh.run_id,
                   last_refresh_finished_at=str(refresh.finished_at),
                   last_refresh_age_seconds=_age_seconds(refresh.finished_at))


def init_app(server) -> None:
    server.add_url_rule("/healthz", "healthz", healthz, methods=["GET"])
