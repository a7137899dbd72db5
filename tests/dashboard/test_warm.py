"""Warming the cache after a refresh: every card's default view, for everyone
and for each user's scope, is computed before anyone asks; one worker warms
a run."""
from __future__ import annotations

from flask_login import login_user

from dashboard import auth, data, state, warm
from dashboard.callbacks.cards import CARDS
from tests.dashboard.signin import INDIA
from tests.dashboard.test_data import reads  # noqa: F401 - the fixture


def test_scopes_are_everyone_and_each_limited_users_markets(dashboard_app):
    with dashboard_app.server.app_context():
        found = warm.scopes()
    everyone = set(data.query("customer_hierarchy").query("region == 'APAC'")["market"])
    assert found[0] is None
    assert frozenset({"India"}) in found and frozenset(everyone) in found
    assert len(found) == 3  # the admin and the unlimited viewer share "everything"


def test_after_warming_the_default_views_are_read_from_the_cache(dashboard_app, full_warehouse, on_warehouse,
                                                                 reads):  # noqa: F811
    with on_warehouse(full_warehouse.path):
        run_id = data.latest_refresh().run_id
        computed = warm.warm(run_id)
        assert computed >= len(CARDS) - 2  # a card may have nothing to say for a scope
        reads["reset"]()
        page_state = state.for_page({}, with_params=True)
        for (page, name), card in CARDS.items():
            if page == "top_n":
                card.data(page_state)
        # As a user limited to India: their default view was warmed too.
        with dashboard_app.server.test_request_context("/"):
            login_user(auth.SignedIn(auth.store().get(INDIA.name)))
            frame = CARDS[("top_n", "table")].data(state.for_page({}, with_params=True))
            assert set(frame.get("market", ["India"])) <= {"India"}
        assert reads["run"] == 0, "every default answer should have come from the cache"


def test_one_worker_warms_a_run(dashboard_app, full_warehouse, on_warehouse, monkeypatch):
    started = []
    monkeypatch.setattr(warm, "warm", lambda run_id: started.append(run_id))
    with on_warehouse(full_warehouse.path):
        refresh = data.latest_refresh()
        warm._warm_once(refresh)
        warm._warm_once(refresh)   # another worker (sharing the cache) sees the claim
    for thread in __import__("threading").enumerate():
        if thread.name == "bims-warm":
            thread.join(timeout=10)
    assert started == [refresh.run_id]
