"""Every query the dashboard runs, and the cache in front of them.

Pages and callbacks never see SQL: they ask for a named query of `queries/`
with filter values, and get a pandas DataFrame. Results are memoised with
flask-caching under a key made of the query, its parameters and the run id
of the latest successful refresh, so a refresh invalidates the cache without
a restart (the run id itself is looked up at most every few seconds).
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass

import pandas as pd
from flask_caching import Cache

from dashboard.config import DashboardSettings
from queries.catalog import catalog
from queries.runner import FILTERS, QueryError, allowed_values, run, unavailable_reason
from warehouse import Warehouse, WarehouseError, connect

log = logging.getLogger(__name__)

cache = Cache()
# How long the latest run id is trusted before asking the warehouse again.
RUN_ID_TTL_SECONDS = 2.0


class DataUnavailable(Exception):
    """The warehouse cannot answer: unreachable, not loaded yet, or lacking a source.
    The message is written for the person looking at the dashboard."""


@dataclass(frozen=True)
class Refresh:
    run_id: str
    finished_at: object
    layout: str | None
    missing: frozenset[str]
    # The latest refresh whatever its outcome: a failed one changes the run
    # history and findings the Data view shows, though not the figures.
    latest_run_id: str | None = None


class _State:
    settings: DashboardSettings | None = None
    warehouse: Warehouse | None = None
    refresh: Refresh | None = None
    refresh_checked: float = 0.0
    lock = threading.Lock()


_state = _State()


def init_app(server, settings: DashboardSettings) -> None:
    """Configure the cache and the warehouse for a Flask server."""
    if settings.redis_url:
        config = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": settings.redis_url}
    else:
        settings.cache_dir.mkdir(parents=True, exist_ok=True)
        config = {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(settings.cache_dir), "CACHE_THRESHOLD": 5000}
    config.update(CACHE_DEFAULT_TIMEOUT=settings.cache_timeout, CACHE_KEY_PREFIX="bims:")
    cache.init_app(server, config=config)
    cache.app = server  # usable outside a request too (warming the cache, tests)
    with _state.lock:
        _state.settings = settings
        _state.warehouse = None
        _state.refresh = None
        _state.refresh_checked = 0.0


def settings() -> DashboardSettings:
    if _state.settings is None:
        raise RuntimeError("dashboard.data.init_app() has not been called")
    return _state.settings


def _warehouse() -> Warehouse:
    with _state.lock:
        if _state.warehouse is None:
            try:
                _state.warehouse = connect(settings().warehouse_url)
            except WarehouseError as exc:
                raise DataUnavailable(str(exc)) from exc
        return _state.warehouse


def latest_refresh() -> Refresh:
    """The latest successful refresh (looked up at most every RUN_ID_TTL_SECONDS)."""
    now = time.monotonic()
    if _state.refresh is not None and now - _state.refresh_checked < RUN_ID_TTL_SECONDS:
        return _state.refresh
    try:
        rows = run(_warehouse(), "latest_successful_refresh", missing=set()).to_pylist()
    except WarehouseError as exc:
        _state.refresh = None
        raise DataUnavailable(_unavailable_message(exc)) from exc
    if not rows:
        raise DataUnavailable("The warehouse has no successful refresh yet: run `make run` "
                              "or `python -m etl refresh --source DIR`.")
    row = rows[0]
    _state.refresh = Refresh(row["run_id"], row["finished_at"], row["layout"],
                             frozenset((row["missing_tables"] or "").split()), row["latest_run_id"])
    _state.refresh_checked = now
    return _state.refresh


def _unavailable_message(exc: Exception) -> str:
    return f"The warehouse cannot be reached: {exc}"


def _key(*parts) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _cache_get(key: str):
    try:
        return cache.get(key)
    except Exception as exc:  # noqa: BLE001 - any backend's failure
        log.warning("the cache cannot be read, asking the warehouse: %s", exc)
        return None


def _cache_set(key: str, value) -> None:
    try:
        cache.set(key, value)
    except Exception as exc:  # noqa: BLE001
        log.warning("the cache cannot be written: %s", exc)


_computing: dict[str, threading.Lock] = {}
_computing_lock = threading.Lock()


def _cached(key: str, compute):
    """The value cached under key, else compute()'s, stored there. Cards of a
    page asking for the same answer at once wait for one computation instead
    of each running the query. A cache that fails (Redis down) is passed by:
    the answer comes from the warehouse."""
    value = _cache_get(key)
    if value is not None:
        return value
    with _computing_lock:
        lock = _computing.setdefault(key, threading.Lock())
    try:
        with lock:
            value = _cache_get(key)  # computed by the caller we waited for
            if value is None:
                value = compute()
                _cache_set(key, value)
    finally:
        with _computing_lock:
            _computing.pop(key, None)
    return value


def _allowed(run_id: str):
    def allowed(name: str) -> list:
        return _cached("allowed:" + _key(run_id, name), lambda: allowed_values(_warehouse(), name))
    return allowed


def unavailable(name: str) -> str | None:
    """Why a named query cannot be answered from this warehouse (None if it can)."""
    return unavailable_reason(catalog()[name], set(latest_refresh().missing))


def takes(name: str) -> tuple[str, ...]:
    return catalog()[name].params


def query(name: str, **params) -> pd.DataFrame:
    """A named query's answer for these filter values (empty values are no filter).

    Raises QueryError for a value the warehouse does not hold, DataUnavailable
    when the warehouse cannot answer."""
    taken = set(takes(name))
    params = {k: v for k, v in params.items() if k in taken and v not in (None, "")}
    refresh = latest_refresh()
    key = "query:" + _key(name, params, refresh.run_id, refresh.latest_run_id)
    return _cached(key, lambda: _run(name, params, refresh))


def _run(name: str, params: dict, refresh: Refresh) -> pd.DataFrame:
    try:
        table = run(_warehouse(), name, allowed=_allowed(refresh.run_id), missing=set(refresh.missing), **params)
    except QueryError as exc:
        reason = unavailable(name)
        if reason:
            raise DataUnavailable(f"Not available for this data: {reason}.") from exc
        raise
    except WarehouseError as exc:
        raise DataUnavailable(_unavailable_message(exc)) from exc
    return table.to_pandas()


def options(name: str) -> list:
    """The values a filter may take (from the warehouse, cached per refresh)."""
    if name not in FILTERS:
        raise KeyError(name)
    try:
        return _allowed(latest_refresh().run_id)(name)
    except WarehouseError as exc:
        raise DataUnavailable(_unavailable_message(exc)) from exc


def status() -> tuple[bool, str]:
    """Whether the warehouse can answer, and what to tell the user if not."""
    try:
        latest_refresh()
        return True, ""
    except DataUnavailable as exc:
        return False, str(exc)
