"""A real headless Chromium (Debian's) driven by Playwright, against the app
served in-process on a free loopback port."""
from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
import weakref
from contextlib import contextmanager

import logging

from werkzeug.serving import make_server

CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-extensions", "--no-first-run"]


def chromium_path() -> str:
    path = os.environ.get("BIMS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("Chromium is not installed: apt-get install chromium chromium-driver (see .ci/run)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(flask_app):
    """The app on http://127.0.0.1:PORT in a background thread."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in the output
    server = make_server("127.0.0.1", free_port(), flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def css_id(component_id) -> str:
    """The CSS selector of a Dash component id (dict ids are rendered as sorted JSON)."""
    if isinstance(component_id, dict):
        text = json.dumps(component_id, sort_keys=True, separators=(",", ":"))
        return f"[id='{text}']"
    return f"#{component_id}"


class Traffic:
    """The Dash requests a tab has in flight, and when the last one ended."""

    def __init__(self, page):
        self.in_flight = 0
        self.last_activity = time.monotonic()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)
        _TRAFFIC[page] = self

    @staticmethod
    def _is_dash(request) -> bool:
        return "/_dash-" in request.url

    def _started(self, request):
        if self._is_dash(request):
            self.in_flight += 1
            self.last_activity = time.monotonic()

    def _ended(self, request):
        if self._is_dash(request):
            self.in_flight = max(0, self.in_flight - 1)
            self.last_activity = time.monotonic()


_TRAFFIC: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
QUIET_SECONDS = 0.6


def wait_until_settled(page, timeout: float = 30.0) -> None:
    """Until no Dash request has been in flight for a moment and nothing shows
    a loading indicator (a callback chain fires its steps back to back)."""
    traffic = _TRAFFIC.get(page) or Traffic(page)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)  # lets Playwright deliver the request events
        busy = page.evaluate("""() => !!document.querySelector('[data-dash-is-loading="true"]')""")
        if not busy and traffic.in_flight == 0 and time.monotonic() - traffic.last_activity > QUIET_SECONDS:
            return
    raise TimeoutError("the page kept loading")


def choose(page, filter_id: str, label: str) -> None:
    """Pick an option of a dcc.Dropdown by its label."""
    page.click(f"#{filter_id}")
    page.get_by_role("option", name=label, exact=True).click()
    page.keyboard.press("Escape")
