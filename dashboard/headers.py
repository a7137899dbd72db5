"""Security headers on every response.

The Content-Security-Policy allows scripts from this site only, plus Dash's
own inline scripts by their hashes (the renderer's start-up and the
clientside callbacks); no eval. Styles allow 'unsafe-inline' because Plotly
and AG Grid insert <style> elements at run time; style injection cannot run
code. frame-ancestors 'none' (and X-Frame-Options) stop other sites framing
the dashboard (clickjacking)."""
from __future__ import annotations

from flask import request

_policy: str | None = None


def policy(app) -> str:
    global _policy
    if _policy is None:
        # Computed on first use, once every clientside callback is registered.
        scripts = " ".join(["'self'", *app.csp_hashes()])
        _policy = "; ".join([
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ])
    return _policy


def init_app(app, production: bool) -> None:
    def secure(response):
        response.headers["Content-Security-Policy"] = policy(app)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
        if production:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if not request.path.startswith(("/assets/", "/_dash-component-suites/")):
            # Figures are confidential: no copy in shared caches or the browser's history cache.
            response.headers["Cache-Control"] = "no-store"
        return response

    app.server.after_request(secure)
