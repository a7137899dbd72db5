"""Sign-in: who may reach the dashboard at all.

Flask-Login keeps the signed-in user in Flask's signed session cookie (Secure,
HttpOnly, SameSite=Lax; its lifetime from BIMS_SESSION_HOURS, counted from
sign-in). Everything is behind it except the sign-in page, the static assets
and /healthz: a page asked for without a session redirects to /login, any
other request (a Dash callback, an export, a component's bundle) gets 401.
Failed sign-ins are counted per user name and per address in the shared
cache; past the limit, sign-in is refused for a while without checking the
password at all.
"""
from __future__ import annotations

import hmac
import secrets
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from flask import Response, has_request_context, jsonify, redirect, render_template_string, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from dashboard import audit, data
from dashboard.config import DashboardSettings
from dashboard.users import User, UserStore

LOGIN_PATH, LOGOUT_PATH = "/login", "/logout"
PUBLIC_PATHS = {LOGIN_PATH, "/healthz", "/_favicon.ico"}
PUBLIC_PREFIXES = ("/assets/",)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

# Failed sign-ins allowed within the window, per user name and per client address.
FAILURES_PER_USER = 5
FAILURES_PER_ADDRESS = 20
FAILURE_WINDOW_SECONDS = 15 * 60

TEMPLATE = Path(__file__).parent / "templates" / "login.html"

login_manager = LoginManager()
_store: UserStore | None = None
_settings: DashboardSettings | None = None


class SignedIn(UserMixin):
    """The signed-in user as Flask-Login sees them."""

    def __init__(self, account: User):
        self.account = account

    def get_id(self) -> str:
        # The epoch changes with the password: a session from before it ends.
        return f"{self.account.username}:{self.account.session_epoch}"

    @property
    def username(self) -> str:
        return self.account.username

    @property
    def is_admin(self) -> bool:
        return self.account.is_admin


def store() -> UserStore:
    if _store is None:
        raise RuntimeError("dashboard.auth.init_app() has not been called")
    return _store


@login_manager.user_loader
def _load(user_id: str):
    name, _, epoch = user_id.rpartition(":")
    account = store().get(name)
    if account is None or str(account.session_epoch) != epoch:
        return None
    return SignedIn(account)


def init_app(server, settings: DashboardSettings) -> None:
    global _store, _settings
    _store, _settings = UserStore(settings.users_file), settings
    audit.configure(settings.audit_log)
    server.secret_key = settings.secret_key or secrets.token_urlsafe(48)
    server.config.update(
        SESSION_COOKIE_NAME="bims_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
    )
    login_manager.init_app(server)
    server.before_request(_gate)
    server.add_url_rule(LOGIN_PATH, "login", _login, methods=["GET", "POST"])
    server.add_url_rule(LOGOUT_PATH, "logout", _logout, methods=["POST"])


def client_address() -> str:
    return request.remote_addr or "unknown"


def current_username() -> str | None:
    if not has_request_context():
        return None
    return current_user.username if getattr(current_user, "is_authenticated", False) else None


def is_admin() -> bool:
    """Whether the request's signed-in user is an admin (checked on the server, per request)."""
    return bool(current_username()) and current_user.is_admin


# -- the gate -----------------------------------------------------------------
def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _gate():
    if request.method not in SAFE_METHODS and not _same_origin():
        return jsonify(message="Cross-site requests are refused."), 403
    if is_public(request.path):
        return None
    if current_user.is_authenticated and not _expired():
        return None
    if current_user.is_authenticated:  # past its lifetime: sign in again
        logout_user()
        session.clear()
    if request.method == "GET" and not request.path.startswith("/_"):
        return redirect(LOGIN_PATH + "?" + urlencode({"next": request.full_path.rstrip("?")}))
    return jsonify(message="Sign in first."), 401


def _expired() -> bool:
    signed_in_at = session.get("signed_in_at")
    return not signed_in_at or time.time() - signed_in_at > _settings.session_hours * 3600


def _same_origin() -> bool:
    """Whether a state-changing request comes from one of our own pages. A
    browser names the page's origin; a request without one (a script) is let
    through: SameSite cookies keep other sites' requests unauthenticated anyway.
    Hosts are compared, not schemes, so a TLS-terminating proxy needs no setting."""
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if not origin:
        return True
    return origin != "null" and urlsplit(origin).netloc == request.host


# -- sign-in and sign-out -----------------------------------------------------
def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def _page(message: str = "", status: int = 200, username: str = "", notice: str = "") -> Response:
    html = render_template_string(TEMPLATE.read_text(), message=message, notice=notice, username=username,
                                  csrf=_csrf_token(), next=_safe_next(request.values.get("next")))
    return Response(html, status=status, mimetype="text/html")


def _login():
    if request.method == "GET":
        if current_user.is_authenticated and not _expired():
            return redirect(_safe_next(request.args.get("next")))
        return _page(notice="You have signed out." if request.args.get("signed_out") else "")
    username = (request.form.get("username") or "").strip().lower()[:64]
    password = request.form.get("password") or ""
    if not hmac.compare_digest(request.form.get("csrf") or "", session.get("csrf") or "-"):
        return _page("Your sign-in form had expired; please try again.", 400, username)
    address = client_address()
    wait = throttled(username, address)
    if wait:
        audit.record("sign_in_throttled", username, address=address)
        response = _page(f"Too many failed sign-ins. Try again in {max(1, round(wait / 60))} minute(s).",
                         429, username)
        response.headers["Retry-After"] = str(int(wait))
        return response
    account = store().verify(username, password) if username and password else None
    if account is None:
        note_failure(username, address)
        audit.record("sign_in_failed", username, address=address)
        return _page("The user name or password is wrong.", 401, username)
    forget_failures(username)
    session.clear()  # a fresh session: nothing from before sign-in carries over
    session.permanent = True
    login_user(SignedIn(account))
    session["signed_in_at"] = time.time()
    audit.record("sign_in", account.username, address=address, role=account.role,
                 scope=account.scope_text())
    return redirect(_safe_next(request.form.get("next")))


def _logout():
    who = current_username()
    if who:
        audit.record("sign_out", who, address=client_address())
    logout_user()
    session.clear()
    return redirect(LOGIN_PATH + "?signed_out=1")


# -- throttling failed sign-ins -------------------------------------------------
_local_failures: dict[str, list[float]] = {}


def _failures(key: str) -> list[float]:
    now = time.time()
    shared = data.cache_get("signin-failures:" + key)
    times = shared if isinstance(shared, list) else _local_failures.get(key, [])
    return [t for t in times if now - t < FAILURE_WINDOW_SECONDS]


def _remember(key: str, times: list[float]) -> None:
    _local_failures[key] = times  # also counted here if the shared cache is down
    data.cache_set("signin-failures:" + key, times, timeout=FAILURE_WINDOW_SECONDS)


def throttled(username: str, address: str) -> float:
    """Seconds until this user name and address may try again (0: now)."""
    wait = 0.0
    for key, limit in ((f"user:{username}", FAILURES_PER_USER), (f"address:{address}", FAILURES_PER_ADDRESS)):
        times = _failures(key)
        if len(times) >= limit:
            wait = max(wait, FAILURE_WINDOW_SECONDS - (time.time() - sorted(times)[-limit]))
    return wait


def note_failure(username: str, address: str) -> None:
    for key in (f"user:{username}", f"address:{address}"):
        _remember(key, [*_failures(key), time.time()])


def forget_failures(username: str) -> None:
    _remember(f"user:{username}", [])
