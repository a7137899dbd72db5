"""Warming the cache after a refresh: once a new successful run shows up, a
background thread asks every card of every page for its default view (no
filters but the default fiscal year), for everyone and for each scope a user
has, so the first executive to open a page after the nightly refresh gets
cached answers. One worker warms a run; the others find the answers cached.
"""
from __future__ import annotations

import logging
import threading
import time

from dashboard import data

log = logging.getLogger(__name__)

# How often a worker with no requests checks for a new refresh.
POLL_SECONDS = 15.0


def scopes() -> list[frozenset | None]:
    """None (everything) and the distinct market sets of the users' scopes."""
    from dashboard import auth  # noqa: PLC0415

    found: list[frozenset | None] = [None]
    try:
        users = auth.store().all().values()
    except Exception:  # noqa: BLE001 - warming must never fail a worker
        log.exception("cannot read the users to warm their scopes")
        return found
    for user in users:
        if user.limited:
            markets = data.markets_of(user)
            if markets not in found:
                found.append(markets)
    return found


def warm(run_id: str) -> int:
    """Compute every card's default view for every scope; the number of cards computed."""
    from dashboard import state  # noqa: PLC0415
    from dashboard.callbacks.cards import CARDS  # noqa: PLC0415

    started, done = time.monotonic(), 0
    for scope in scopes():
        with data.acting_for(scope):
            try:
                # One state serves every page: a card asks only for the filters its queries take.
                page_state = state.for_page({}, with_params=True)
            except data.DataUnavailable as exc:
                log.info("not warmed: %s", exc)
                return done
            for card in CARDS.values():
                try:
                    card.data(page_state)
                    done += 1
                except Exception as exc:  # noqa: BLE001 - a card that cannot answer is not warmed
                    log.info("not warmed: %s/%s (%s)", card.page, card.name, exc)
    log.info("warmed %d card answers for run %s in %.1f s", done, run_id, time.monotonic() - started)
    return done


def _warm_once(refresh: data.Refresh) -> None:
    # Only one worker (process) warms a run: the first to claim it in the shared cache.
    if not data.cache_add("warming:" + refresh.run_id, True, timeout=3600):
        return
    threading.Thread(target=warm, args=(refresh.run_id,), name="bims-warm", daemon=True).start()


def _watch() -> None:
    while True:
        time.sleep(POLL_SECONDS)
        try:
            data.latest_refresh()  # a new run id calls _warm_once
        except data.DataUnavailable:
            pass
        except Exception:  # noqa: BLE001
            log.exception("checking for a new refresh failed")


def start() -> None:
    """Warm after every new refresh, starting with the one there now."""
    data.on_new_refresh(_warm_once)
    threading.Thread(target=_watch, name="bims-refresh-watch", daemon=True).start()
