"""Every query the dashboard runs, and the cache in front of them.

Pages and callbacks never see SQL: they ask for a named query of `queries/`
with filter values, and get a pandas DataFrame. Results are memoised with
flask-caching under a key made of the query, its parameters, the markets
the user may see and the run id of the latest successful refresh, so a
refresh invalidates the cache without a restart (the run id itself is looked
up at most every few seconds) and users with different scopes never share a
result.

Row-level security lives here: inside a request, every query is limited to
the signed-in user's markets (their regions' markets plus their markets), and
filter values are checked against what that user may see. Outside a request
(the server warming its cache, a script) there is no user and no limit.
"""
from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import pandas as pd
from flask import has_request_context
from flask_caching import Cache
from flask_login import current_user

from dashboard.config import DashboardSettings
from queries.catalog import catalog
from queries.runner import FILTERS, QueryError, allowed_values, run, scope_value, unavailable_reason
from warehouse import Warehouse, WarehouseError, connect

log = logging.getLogger(__name__)

cache = Cache()
# How long the latest run id is trusted before asking the warehouse again.
RUN_ID_TTL_SECONDS = 2.0


class DataUnavailable(Exception):
    """The warehouse cannot answer: unreachable, not loaded yet, or lacking a source.
    The message is written for the person looking at the dashboard."""


class NotSignedIn(DataUnavailable):
    """A request without a signed-in user asked for data (the sign-in gate
    refuses those first; this is the second line)."""

    def __init__(self):
        super().__init__("Sign in to see data.")


# The filters whose values belong to markets: a limited user may pick only theirs.
SCOPED_FILTERS = ("region", "sub_zone", "market", "customer", "channel", "platform")
IN_SCOPE = "the data you may see"


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
    previous = _state.refresh
    _state.refresh = Refresh(row["run_id"], row["finished_at"], row["layout"],
                             frozenset((row["missing_tables"] or "").split()), row["latest_run_id"])
    _state.refresh_checked = now
    if previous is None or previous.run_id != _state.refresh.run_id:
        for listener in list(_new_refresh_listeners):
            try:
                listener(_state.refresh)
            except Exception:  # noqa: BLE001 - a listener (cache warming) never fails a request
                log.exception("a new-refresh listener failed")
    return _state.refresh


_new_refresh_listeners: list[Callable[[Refresh], None]] = []


def on_new_refresh(listener: Callable[[Refresh], None]) -> None:
    """Call listener(refresh) whenever a new successful refresh is first seen."""
    if listener not in _new_refresh_listeners:
        _new_refresh_listeners.append(listener)


def _unavailable_message(exc: Exception) -> str:
    return f"The warehouse cannot be reached: {exc}"


def _key(*parts) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def cache_get(key: str):
    """The cached value, or None (also when the cache itself fails)."""
    try:
        return cache.get(key)
    except Exception as exc:  # noqa: BLE001 - any backend's failure
        log.warning("the cache cannot be read, asking the warehouse: %s", exc)
        return None


def cache_add(key: str, value, timeout: int | None = None) -> bool:
    """Store value only if the key is not there yet: whether this caller stored it."""
    try:
        return bool(cache.add(key, value, timeout=timeout))
    except Exception as exc:  # noqa: BLE001
        log.warning("the cache cannot be written: %s", exc)
        return False


def cache_set(key: str, value, timeout: int | None = None) -> None:
    try:
        cache.set(key, value, timeout=timeout)
    except Exception as exc:  # noqa: BLE001
        log.warning("the cache cannot be written: %s", exc)


_computing: dict[str, threading.Lock] = {}
_computing_lock = threading.Lock()


def _cached(key: str, compute):
    """The value cached under key, else compute()'s, stored there. Cards of a
    page asking for the same answer at once wait for one computation instead
    of each running the query. A cache that fails (Redis down) is passed by:
    the answer comes from the warehouse."""
    value = cache_get(key)
    if value is not None:
        return value
    with _computing_lock:
        lock = _computing.setdefault(key, threading.Lock())
    try:
        with lock:
            value = cache_get(key)  # computed by the caller we waited for
            if value is None:
                value = compute()
                cache_set(key, value)
    finally:
        with _computing_lock:
            _computing.pop(key, None)
    return value


def _allowed(run_id: str, markets: frozenset | None):
    def allowed(name: str) -> list:
        if markets is not None and name in SCOPED_FILTERS:
            mine = _query("customer_hierarchy", {}, markets)
            values = set(mine[name]) | (set(mine["customer_code"]) if name == "customer" else set())
            return sorted(v for v in values if v is not None)
        return _cached("allowed:" + _key(run_id, name), lambda: allowed_values(_warehouse(), name))
    return allowed


def scope_label() -> str | None:
    """What the signed-in user is limited to, in words (None: no limit)."""
    if not has_request_context() or not getattr(current_user, "is_authenticated", False):
        return None
    account = current_user.account
    return ", ".join([*account.regions, *account.markets]) if account.limited else None


# The scope the server itself acts for outside a request (warming a user's answers).
_acting_for: contextvars.ContextVar = contextvars.ContextVar("acting_for", default=None)


@contextmanager
def acting_for(markets: frozenset | None):
    """Outside a request, run queries limited to these markets (None: all)."""
    token = _acting_for.set(markets)
    try:
        yield
    finally:
        _acting_for.reset(token)


def markets_in_scope() -> frozenset | None:
    """The markets the signed-in user may see (None: every market)."""
    if not has_request_context():
        return _acting_for.get()
    if not getattr(current_user, "is_authenticated", False):
        raise NotSignedIn()
    return markets_of(current_user.account)


def markets_of(account) -> frozenset | None:
    """A user's markets: their regions' markets plus their markets (None: no limit)."""
    if not account.limited:
        return None
    markets = set(account.markets)
    if account.regions:
        everyone = _query("customer_hierarchy", {}, None)
        markets |= set(everyone.loc[everyone["region"].isin(account.regions), "market"])
    return frozenset(markets)


def unavailable(name: str) -> str | None:
    """Why a named query cannot be answered from this warehouse (None if it can)."""
    return unavailable_reason(catalog()[name], set(latest_refresh().missing))


def takes(name: str) -> tuple[str, ...]:
    return catalog()[name].params


def query(name: str, **params) -> pd.DataFrame:
    """A named query's answer for these filter values (empty values are no
    filter), limited to the markets the signed-in user may see.

    Raises QueryError for a value the warehouse (or the user's scope) does not
    hold, DataUnavailable when the warehouse cannot answer."""
    return _query(name, params, markets_in_scope())


def _query(name: str, params: dict, markets: frozenset | None) -> pd.DataFrame:
    taken = set(takes(name))
    params = {k: v for k, v in params.items() if k in taken and v not in (None, "")}
    refresh = latest_refresh()
    key = "query:" + _key(name, params, scope_value(markets), refresh.run_id, refresh.latest_run_id)
    return _cached(key, lambda: _run(name, params, refresh, markets))


def _run(name: str, params: dict, refresh: Refresh, markets: frozenset | None) -> pd.DataFrame:
    try:
        table = run(_warehouse(), name, allowed=_allowed(refresh.run_id, markets), missing=set(refresh.missing),
                    markets_in_scope=markets, holder=IN_SCOPE if markets is not None else "the warehouse",
                    **params)
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
        return _allowed(latest_refresh().run_id, markets_in_scope())(name)
    except WarehouseError as exc:
        raise DataUnavailable(_unavailable_message(exc)) from exc


def status() -> tuple[bool, str]:
    """Whether the warehouse can answer, and what to tell the user if not."""
    try:
        latest_refresh()
        return True, ""
    except DataUnavailable as exc:
        return False, str(exc)
