"""The dashboard's app factory. `server` is the Flask app gunicorn serves:
`gunicorn dashboard.app:server`. Everything but /login, /healthz and the
static assets needs a signed-in user (dashboard.auth)."""
from __future__ import annotations

import logging
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import has_request_context
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard import auth, components, data, headers, health, ids, warm
from dashboard.config import DashboardSettings

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


def create_app(settings: DashboardSettings | None = None) -> dash.Dash:
    global _app
    settings = (settings or DashboardSettings.from_env()).checked()
    if not settings.production and not settings.secret_key:
        log.warning("BIMS_ENV=development without BIMS_SECRET_KEY: sessions end when the server restarts")
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder=str(Path(__file__).parent / "pages"),
        assets_folder=str(ROOT / "assets"),
        # Everything is served from assets/: no CDN, so the dashboard works offline.
        serve_locally=True,
        external_stylesheets=[],
        title="BIMS · Business Insights",
        update_title=None,
        suppress_callback_exceptions=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        on_error=_on_error,
    )
    data.init_app(app.server, settings)
    auth.init_app(app.server, settings)
    health.init_app(app.server)
    headers.init_app(app, settings.production)
    if settings.trusted_proxies:
        # Behind a load balancer: the client's address and scheme from its X-Forwarded-* headers.
        n = settings.trusted_proxies
        app.server.wsgi_app = ProxyFix(app.server.wsgi_app, x_for=n, x_proto=n, x_host=n)
    import dashboard.callbacks  # noqa: F401, PLC0415 - registers every callback

    app.layout = _layout
    # Dash sets itself up (the callback map, scripts) on the first request, with
    # no lock: a fresh gunicorn worker whose first requests arrive together
    # answered some with 500 "Callback function not found". Done here, once,
    # before any request can arrive.
    with app.server.test_request_context("/"):
        app._setup_server()
    if settings.warm_cache:
        warm.start()
    _app = app
    return app


def _signed_in():
    """The signed-in user, when the layout is made for a request that has one."""
    if has_request_context() and getattr(current_user, "is_authenticated", False):
        return current_user
    return None


def _layout():
    """The frame of every page, made per request: the navigation shows the
    signed-in user (and the Users page to admins only)."""
    user = _signed_in()
    pages = sorted((p for p in dash.page_registry.values()
                    if not p.get("admin_only") or (user and user.is_admin)), key=lambda p: p["order"])
    return html.Div([
        dcc.Store(id=ids.THEME, storage_type="local", data="light"),
        dcc.Interval(id=ids.STATUS_POLL, interval=30_000),
        components.navbar(pages, user),
        dbc.Container([
            dbc.Alert(id=ids.BANNER, color="danger", is_open=False, className="warehouse-banner"),
            components.filter_bar(),
            dash.page_container,
        ], fluid=True, className="bims-main"),
    ], className="bims-app")


def _on_error(error: Exception):
    """The last line of defence: log the error; the browser gets no traceback."""
    log.error("a callback failed", exc_info=error)
    return dash.no_update


_app: dash.Dash | None = None


def get_app() -> dash.Dash:
    """The process's app, made on first use from the environment's settings."""
    global _app
    if _app is None:
        _app = create_app()
    return _app


def __getattr__(name: str):
    # `dashboard.app:server` (gunicorn) and `dashboard.app.app` are made on
    # first access, so importing this module has no side effects.
    if name == "app":
        return get_app()
    if name == "server":
        return get_app().server
    raise AttributeError(name)
