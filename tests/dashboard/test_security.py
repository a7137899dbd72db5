"""Security over HTTP, as a browser or an attacker would call the app: nothing
without a session, sign-in and its throttle, sign-out, security headers, and
row-level security — a user limited to some markets sees only those, in
tables, KPIs, exports, filter options and cached results, also when they
forge payloads that name other markets."""
from __future__ import annotations

import csv
import io
import time

import pytest
from flask_login import login_user

from dashboard import audit, auth, data, formatting, ids, state
from dashboard.users import UserStore
from queries.runner import run
from tests.dashboard.callbacks_http import compact, export_csv, post, table_rows
from tests.dashboard.signin import ADMIN, APAC, INDIA, VIEWER, Account, csrf_of, sign_in, signed_in_client

YEAR = 2021


def top_markets_state(**filters) -> dict:
    return {"filters": {"fiscal_year": YEAR, **filters}, "params": {"rank": "markets", "by": "net_sales", "n": "50"}}


def audit_entries(dashboard_app) -> list[dict]:
    return audit.entries(auth._settings.audit_log)


@pytest.fixture
def anonymous(dashboard_app):
    return dashboard_app.server.test_client()


@pytest.fixture(autouse=True)
def no_throttle_left_over():
    """Each test starts with no failed sign-ins counted (the counts are shared)."""
    yield
    for key in list(auth._local_failures):
        auth._remember(key, [])


# --- nothing without a session ----------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/sales", "/demand", "/pricing", "/costs", "/top-n", "/data", "/users",
                                  "/sales?fiscal_year=2021&market=India"])
def test_a_page_without_a_session_goes_to_sign_in(anonymous, path):
    response = anonymous.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert "Business Insights" not in response.get_data(as_text=True)


@pytest.mark.parametrize("method, path", [
    ("post", "/_dash-update-component"), ("get", "/_dash-layout"), ("get", "/_dash-dependencies"),
    ("get", "/_reload-hash"),
])
def test_callbacks_and_dash_internals_without_a_session_get_401(anonymous, method, path):
    response = getattr(anonymous, method)(path, json={} if method == "post" else None)
    assert response.status_code == 401
    assert response.get_json() == {"message": "Sign in first."}


def test_a_card_and_an_export_without_a_session_get_401(anonymous):
    table = ids.table("top_n", "table")
    response = post(anonymous, [(table, "rowData")], [(ids.page_state("top_n"), "data", top_markets_state())])
    assert response.status_code == 401
    response = post(anonymous, [(ids.download("top_n", "table"), "data")],
                    [(ids.export("top_n", "table"), "n_clicks", 1)],
                    [[(ids.page_state("top_n"), "data", top_markets_state())]],
                    output_key='{"name":["MATCH"],"page":["MATCH"],"type":"download"}.data')
    assert response.status_code == 401
    assert "India" not in response.get_data(as_text=True)


def test_only_sign_in_assets_and_healthz_are_public(anonymous):
    assert anonymous.get("/login").status_code == 200
    assert anonymous.get("/assets/10-bims.css").status_code == 200
    health = anonymous.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["status"] == "ok" and health.get_json()["warehouse"] == "reachable"
    assert anonymous.get("/_dash-component-suites/dash/deps/polyfill@7.v4_4_1m1.min.js").status_code == 401


def test_the_data_layer_refuses_a_request_without_a_user(dashboard_app):
    with dashboard_app.server.test_request_context("/"):
        with pytest.raises(data.NotSignedIn):
            data.query("top_markets", fiscal_year=YEAR)


# --- signing in and out --------------------------------------------------------------------

def test_sign_in_sets_a_secure_httponly_samesite_session_cookie(dashboard_app):
    client = dashboard_app.server.test_client()
    response = sign_in(client, VIEWER, next_path="/sales?fiscal_year=2021")
    assert response.status_code == 302 and response.headers["Location"] == "/sales?fiscal_year=2021"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("bims_session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert client.get("/sales").status_code == 200


def test_a_wrong_password_is_refused_and_audited(dashboard_app):
    client = dashboard_app.server.test_client()
    response = sign_in(client, VIEWER, password="not-the-password")
    assert response.status_code == 401
    assert "The user name or password is wrong." in response.get_data(as_text=True)
    assert client.get("/sales").status_code == 302
    last = audit_entries(dashboard_app)[-1]
    assert (last["event"], last["user"], last["address"]) == ("sign_in_failed", "vic", "127.0.0.1")


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(dashboard_app):
    client = dashboard_app.server.test_client()
    response = sign_in(client, Account("nobody", "whatever-password"))
    assert response.status_code == 401
    assert "The user name or password is wrong." in response.get_data(as_text=True)


def test_sign_in_without_the_form_token_is_refused(dashboard_app):
    client = dashboard_app.server.test_client()
    response = client.post("/login", data={"username": VIEWER.name, "password": VIEWER.password})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"])
def test_sign_in_never_redirects_to_another_site(dashboard_app, target):
    response = sign_in(dashboard_app.server.test_client(), VIEWER, next_path=target)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_repeated_failed_sign_ins_are_throttled(dashboard_app):
    client = dashboard_app.server.test_client()
    for _ in range(auth.FAILURES_PER_USER):
        assert sign_in(client, APAC, password="guessing-wrong").status_code == 401
    # Now even the right password is refused, without being checked.
    response = sign_in(client, APAC)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.get_data(as_text=True)
    assert 0 < int(response.headers["Retry-After"]) <= auth.FAILURE_WINDOW_SECONDS
    assert audit_entries(dashboard_app)[-1]["event"] == "sign_in_throttled"
    # Another user from elsewhere is not locked out by it.
    assert sign_in(dashboard_app.server.test_client(), VIEWER).status_code == 302


def test_sign_out_ends_the_session(dashboard_app):
    client = signed_in_client(dashboard_app.server, VIEWER)
    assert client.get("/_dash-layout").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login?signed_out=1"
    assert client.get("/_dash-layout").status_code == 401
    assert audit_entries(dashboard_app)[-1]["event"] == "sign_out"


def test_another_site_cannot_post_for_a_signed_in_user(dashboard_app):
    client = signed_in_client(dashboard_app.server, VIEWER)
    assert client.post("/logout", headers={"Origin": "https://evil.example"}).status_code == 403
    table = ids.table("top_n", "table")
    response = client.post("/_dash-update-component", json={"output": f"{compact(table)}.rowData"},
                           headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert client.get("/_dash-layout").status_code == 200  # still signed in


def test_a_new_password_ends_the_users_other_sessions(dashboard_app):
    store = auth.store()
    store.add("temp", "temporary-password-1")
    try:
        client = signed_in_client(dashboard_app.server, Account("temp", "temporary-password-1"))
        assert client.get("/_dash-layout").status_code == 200
        store.set_password("temp", "temporary-password-2")
        assert client.get("/_dash-layout").status_code == 401
    finally:
        store.remove("temp")


def test_a_removed_user_is_signed_out(dashboard_app):
    store = auth.store()
    store.add("gone", "temporary-password-1")
    client = signed_in_client(dashboard_app.server, Account("gone", "temporary-password-1"))
    store.remove("gone")
    assert client.get("/_dash-layout").status_code == 401


def test_a_session_ends_after_its_lifetime(dashboard_app):
    client = signed_in_client(dashboard_app.server, VIEWER)
    with client.session_transaction() as session:
        session["signed_in_at"] = time.time() - auth._settings.session_hours * 3600 - 1
    assert client.get("/_dash-layout").status_code == 401


def test_production_refuses_to_start_without_a_secret_key():
    from dashboard.config import ConfigError, DashboardSettings

    with pytest.raises(ConfigError, match="BIMS_SECRET_KEY is not set"):
        DashboardSettings.from_env(environment="production", secret_key="").checked()
    with pytest.raises(ConfigError, match="too short"):
        DashboardSettings.from_env(environment="production", secret_key="short").checked()
    assert DashboardSettings.from_env(environment="development", secret_key="").checked().production is False


# --- headers -------------------------------------------------------------------------------

def test_every_response_carries_the_security_headers(dashboard_app):
    client = signed_in_client(dashboard_app.server, VIEWER)
    for response in (client.get("/"), client.get("/login"), client.get("/_dash-layout"),
                     dashboard_app.server.test_client().get("/sales")):
        headers = response.headers
        policy = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
        script_src = next(p for p in policy.split("; ") if p.startswith("script-src"))
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
    assert client.get("/_dash-layout").headers["Cache-Control"] == "no-store"


# --- row-level security ---------------------------------------------------------------------

def markets_of(rows) -> set[str]:
    return {r["market"] for r in rows}


def test_a_market_scoped_user_sees_only_their_market(dashboard_app, full_warehouse):
    client = signed_in_client(dashboard_app.server, INDIA)
    rows, _ = table_rows(client, "top_n", "table", top_markets_state())
    expected = run(full_warehouse, "top_markets", fiscal_year=YEAR, market="India", n=50).to_pylist()
    assert markets_of(rows) == {"India"}
    assert [r["net_sales"] for r in rows] == [r["value"] for r in expected]


def test_a_region_scoped_user_sees_their_regions_markets(dashboard_app, full_warehouse):
    client = signed_in_client(dashboard_app.server, APAC)
    rows, _ = table_rows(client, "top_n", "table", top_markets_state())
    expected = run(full_warehouse, "top_markets", fiscal_year=YEAR, region="APAC", n=50).to_pylist()
    assert len(expected) > 1
    assert {(r["market"], r["net_sales"]) for r in rows} == {(r["market"], r["value"]) for r in expected}


@pytest.mark.parametrize("forged, said", [
    ({"market": "USA"}, "market 'USA' is not in the data you may see."),
    ({"region": "NA"}, "region 'NA' is not in the data you may see."),
    ({"customer": "AtliQ Flagship"}, None),  # a name in eight markets: only India's rows
    ({"market": "India' OR '1'='1"}, "is not in the data you may see."),
])
def test_forged_payloads_naming_other_markets_get_nothing_of_them(dashboard_app, full_warehouse, forged, said):
    client = signed_in_client(dashboard_app.server, INDIA)
    rows, message = table_rows(client, "top_n", "table", top_markets_state(**forged))
    if said:
        assert rows == [] and said in message
    else:
        assert markets_of(rows) <= {"India"}


def test_kpis_hold_only_the_users_markets(dashboard_app, full_warehouse):
    client = signed_in_client(dashboard_app.server, INDIA)
    kpis = ids.kpis("overview", "kpis")
    response = post(client, [(kpis, "children")],
                    [(ids.page_state("overview"), "data", {"filters": {"fiscal_year": YEAR}})])
    text = str(response.get_json()["response"][compact(kpis)]["children"])
    lines = {r["measure"]: r for r in run(full_warehouse, "kpis", fiscal_year=YEAR, market="India").to_pylist()}
    everyone = {r["measure"]: r for r in run(full_warehouse, "kpis", fiscal_year=YEAR).to_pylist()}
    india_sales = formatting.money(lines["net_sales"]["this_year"], "$")
    assert india_sales in text
    assert formatting.money(everyone["net_sales"]["this_year"], "$") not in text
    assert lines["net_sales"]["this_year"] < everyone["net_sales"]["this_year"]


def test_exports_hold_only_the_users_markets_even_when_forged(dashboard_app, full_warehouse):
    client = signed_in_client(dashboard_app.server, INDIA)
    exported = list(csv.DictReader(io.StringIO(export_csv(client, "top_n", "table", top_markets_state()))))
    assert {r["market"] for r in exported} == {"India"}
    forged = export_csv(client, "top_n", "table", top_markets_state(market="USA"))
    assert "USA" in forged.splitlines()[1] and "not in the data you may see" in forged
    assert len(forged.strip().splitlines()) == 2  # the header and the sentence: no figures
    entry = audit_entries(dashboard_app)[-1]
    assert entry["event"] == "export" and entry["user"] == "ivan"
    assert entry["filters"] == {"fiscal_year": YEAR, "market": "USA"} and entry["card"] == "table"


def test_users_with_different_scopes_never_share_a_cached_result(dashboard_app, full_warehouse):
    everyone = run(full_warehouse, "top_markets", fiscal_year=YEAR, n=50).to_pylist()
    admin = signed_in_client(dashboard_app.server, ADMIN)
    rows, _ = table_rows(admin, "top_n", "table", top_markets_state())
    assert markets_of(rows) == {r["market"] for r in everyone}
    # The same request, now cached for the admin, asked by the India user.
    rows, _ = table_rows(signed_in_client(dashboard_app.server, INDIA), "top_n", "table", top_markets_state())
    assert markets_of(rows) == {"India"}
    # And the other way round: the admin does not get the India user's answer.
    rows, _ = table_rows(admin, "top_n", "table", top_markets_state())
    assert len(rows) == len(everyone)


def test_a_scoped_users_filter_options_are_their_own(dashboard_app):
    account = auth.store().get(APAC.name)
    with dashboard_app.server.test_request_context("/"):
        login_user(auth.SignedIn(account))
        m = state.members()
        options = state.options(m, {})
        assert options["region"] == ["APAC"]
        assert set(m.customers["market"]) == set(data.query("customer_hierarchy")["market"])
        assert "India" in options["market"] and "USA" not in options["market"]
        # A link naming another region's market is cleaned away.
        assert state.clean(m, {"market": "USA", "fiscal_year": str(YEAR)})["market"] is None


def test_data_of_every_market_is_refused_to_a_scoped_user(dashboard_app):
    client = signed_in_client(dashboard_app.server, INDIA)
    rows, message = table_rows(client, "data_status", "findings", {"filters": {}})
    assert rows == [] and "not available to you" in message
    # Company-wide, market-free data (refresh history) stays visible.
    rows, _ = table_rows(client, "data_status", "history", {"filters": {}})
    assert rows


# --- hostile input ---------------------------------------------------------------------------

@pytest.mark.parametrize("params, said", [
    ({"n": str(10 ** 9)}, "n must be between 1 and 1000"),
    ({"n": "ten"}, "n takes a whole number"),
    ({"by": "net_sales; DROP TABLE etl_runs"}, "by 'net_sales; DROP TABLE etl_runs' is not in the warehouse."),
])
def test_tampered_settings_are_rejected_cleanly(dashboard_app, params, said):
    client = signed_in_client(dashboard_app.server, VIEWER)
    page_state = top_markets_state()
    page_state["params"].update(params)
    rows, message = table_rows(client, "top_n", "table", page_state)
    assert rows == [] and said in message


# --- the Users page -------------------------------------------------------------------------

USER_OUTPUTS = [(ids.USERS_TABLE, "rowData"), (ids.USER_FEEDBACK, "children"), (ids.USER_FEEDBACK, "color"),
                (ids.USER_FEEDBACK, "is_open"), (ids.USER_FORM["password"], "value")]


def save_user(client, username, role="viewer", regions=None, markets=None, password=""):
    f = ids.USER_FORM
    response = post(client, USER_OUTPUTS, [(ids.USER_SAVE, "n_clicks", 1), (ids.USER_REMOVE, "n_clicks", 0)],
                    [(f["username"], "value", username), (f["role"], "value", role),
                     (f["regions"], "value", regions), (f["markets"], "value", markets),
                     (f["password"], "value", password)])
    assert response.status_code == 200
    return response.get_json()["response"][ids.USER_FEEDBACK]["children"]


def test_only_an_admin_manages_users(dashboard_app):
    viewer = signed_in_client(dashboard_app.server, VIEWER)
    assert save_user(viewer, "mallory", "admin", password="mallory-password-1") == "Only administrators manage users."
    assert auth.store().get("mallory") is None
    assert "Users" not in viewer.get("/_dash-layout").get_data(as_text=True)


def test_an_admin_adds_changes_and_removes_a_user(dashboard_app):
    admin = signed_in_client(dashboard_app.server, ADMIN)
    assert "Users" in admin.get("/_dash-layout").get_data(as_text=True)
    assert save_user(admin, "newbie", markets=["Japan"], password="newbie-password-1") == "Added newbie."
    assert auth.store().get("newbie").markets == ("Japan",)
    assert save_user(admin, "newbie", markets=["Atlantis"]) == "Unknown markets: Atlantis."
    assert save_user(admin, "newbie", regions=["EU"]) == "Saved newbie."
    assert auth.store().get("newbie").regions == ("EU",) and auth.store().get("newbie").markets == ()
    assert save_user(admin, ADMIN.name, role="viewer") == "You cannot take away your own admin role."
    f = ids.USER_FORM
    response = post(admin, USER_OUTPUTS, [(ids.USER_REMOVE, "n_clicks", 1), (ids.USER_SAVE, "n_clicks", 0)],
                    [(f["username"], "value", "newbie"), (f["role"], "value", "viewer"), (f["regions"], "value", []),
                     (f["markets"], "value", []), (f["password"], "value", "")])
    assert response.get_json()["response"][ids.USER_FEEDBACK]["children"] == "Removed newbie."
    assert auth.store().get("newbie") is None
    events = [e["event"] for e in audit_entries(dashboard_app)[-3:]]
    assert events == ["user_added", "user_changed", "user_removed"]


def test_healthz_says_when_the_warehouse_cannot_answer_without_naming_it(anonymous, on_warehouse, tmp_path):
    with on_warehouse(tmp_path / "secret-place" / "bims.duckdb"):
        response = anonymous.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "warehouse": "unreachable or not loaded"}
    assert "secret-place" not in response.get_data(as_text=True)
