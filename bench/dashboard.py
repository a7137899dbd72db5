"""Benchmark: the dashboard's server time per callback and its time to first render.

    .venv/bin/python bench/dashboard.py [--scale 10] [--max-urls 20] [--no-doc] [--from-results]

The warehouse: the sample of bench/etl.py (bench/output/scale-S-parquet/, generated
unless its `.complete` marker is there) refreshed once by the real ETL into
bench/output/dashboard-S.duckdb (reused while it is there).

The app: `dashboard.app.create_app()` on that warehouse with a fresh
FileSystemCache directory, served in this process by werkzeug's threaded server
(the one the browser tests use) on a free loopback port, and driven by Debian's
headless Chromium through Playwright. Only this script adds, to this process:

* Flask before/after_request hooks on app.server that time every request and
  read which outputs a POST /_dash-update-component served;
* timing wrappers around the warehouse's reads and its lock, the cache's get/set,
  `dashboard.data._run` (DuckDB -> pandas) and Dash's `to_json`, so each
  callback's time splits into DuckDB, lock wait, pandas conversion, cache,
  JSON and the rest (the card's own Python: frames, Plotly figures);
* GET /bench-ping ("ok") and GET /bench-static (one Plotly bar chart, plotly.js
  from Dash's component-suite path): the baselines.

For every view, a list of distinct filter states (each fiscal year x no filter,
regions, a market, a channel or a division). For each URL: clear the cache, load
it (UNCACHED), load it again (CACHED). Each load is timed from navigation start
to the moment the page is drawn (no Dash request in flight, no loading
indicator, then the frame after the last DOM change).

Baselines, measured in the same run: (a) the named queries each uncached callback
ran, re-run directly with `queries.runner.run` on a `DuckDBWarehouse`; (b) the
server time of GET /bench-ping; (c) the load of /bench-static in the same browser.

Results: a table on stdout, bench/output/dashboard-results.json and the section
between the dashboard-bench markers of docs/performance.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from importlib.metadata import version as package_version
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.etl import DOC, OUT, _busy_seconds, dataset, machine, markdown_table, say, scale_name  # noqa: E402

RESULTS = OUT / "dashboard-results.json"
START, END = "<!-- dashboard-bench:start -->", "<!-- dashboard-bench:end -->"
FORMAT = "parquet"           # the sample the warehouse is refreshed from
TARGET_UNCACHED_MS = 100.0   # p95 of a view's callbacks, from the issue
TARGET_CACHED_MS = 10.0
TARGET_RENDER_MS = 1000.0
QUIET_MS = 400               # a page is drawn once nothing has changed for this long
LOAD_TIMEOUT_S = 60
PINGS_PER_PAGE = 30
STATIC_LOADS = 10
RAW_REPEAT = 3               # each distinct raw query runs this often; the median counts
SHELL_SYNC, ROUTER = "filter bar sync", "page router"
BENCH_USER, BENCH_PASSWORD = "bench", "bench-password-0123"
PACKAGES = ("dash", "plotly", "flask", "werkzeug", "flask-caching", "dash-ag-grid", "dash-bootstrap-components",
            "duckdb", "pandas", "pyarrow", "playwright")


# --- the warehouse ---------------------------------------------------------------------------------------

def warehouse_for(scale: float) -> tuple[Path, dict]:
    """The scale's warehouse, refreshed by the ETL from bench/etl.py's sample unless already there."""
    path = OUT / f"dashboard-{scale_name(scale)}.duckdb"
    built = None
    if path.exists():
        say(f"reusing {path.relative_to(REPO)}")
    else:
        folder, _ = dataset(scale, FORMAT)
        log = OUT / "logs" / f"dashboard-refresh-{scale_name(scale)}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "etl", "refresh", "--source", str(folder),
               "--warehouse", f"duckdb:///{path}"]  # absolute: duckdb:////abs/path
        say(f"refreshing {path.relative_to(REPO)} from {folder.relative_to(REPO)} (a few minutes) ...")
        began = time.monotonic()
        with open(log, "w") as out:
            code = subprocess.run(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                  env=dict(os.environ, BIMS_LOG_DIR=str(OUT / "logs"))).returncode
        if code != 0 or not path.exists():
            raise SystemExit(f"the refresh failed (exit {code}); see {log.relative_to(REPO)}")
        built = time.monotonic() - began
        say(f"  done in {built:.0f} s")
    return path, {"path": str(path.relative_to(REPO)), "refresh_seconds": built, **warehouse_facts(path)}


def warehouse_facts(path: Path) -> dict:
    """Row counts of the tables the dashboard reads, and of the yearly table per fiscal year."""
    from warehouse.duckdb import DuckDBWarehouse

    wh = DuckDBWarehouse(path)
    try:
        tables = [r for r in wh.read("SELECT table_name FROM information_schema.tables "
                                     "WHERE table_catalog = 'warehouse' ORDER BY 1").column(0).to_pylist()]
        rows = {t: wh.read(f'SELECT count(*) FROM "{t}"').column(0)[0].as_py() for t in tables}
        per_year = {str(r["fiscal_year"]): r["n"] for r in wh.read(
            "SELECT fiscal_year, count(*) AS n FROM agg_customer_product_yearly GROUP BY 1 ORDER BY 1").to_pylist()}
        monthly_per_year = {str(r["fiscal_year"]): r["n"] for r in wh.read(
            "SELECT fiscal_year, count(*) AS n FROM agg_customer_category_monthly GROUP BY 1 ORDER BY 1").to_pylist()}
    finally:
        wh.close()
    return {"rows": rows, "yearly_rows_per_fiscal_year": per_year, "monthly_rows_per_fiscal_year": monthly_per_year,
            "size_mb": round(path.stat().st_size / 2**20, 1)}


# --- the filter states ---------------------------------------------------------------------------------

def filter_states(path: Path, max_urls: int) -> dict[str, list[dict]]:
    """Per page module, the query strings to load: every fiscal year x (no filter, two regions, a
    market, a channel or a division); Top-N also varies what it ranks."""
    from queries.runner import run
    from warehouse.duckdb import DuckDBWarehouse

    wh = DuckDBWarehouse(path)
    try:
        years = sorted(int(y) for y in run(wh, "fiscal_years").column("fiscal_year").to_pylist())
        customers = run(wh, "customer_hierarchy").to_pandas()
        products = run(wh, "product_hierarchy").to_pandas()
    finally:
        wh.close()
    regions = sorted(customers["region"].dropna().unique())
    markets = list(customers["market"].value_counts().index[:3])
    channel = customers["channel"].value_counts().index[0]
    division = products["division"].value_counts().index[0]
    common = []
    for i, year in enumerate(reversed(years)):  # the latest years first: they are cut last
        y = {"fiscal_year": year}
        common += [y, {**y, "region": regions[(2 * i) % len(regions)]},
                   {**y, "region": regions[(2 * i + 1) % len(regions)]},
                   {**y, "market": markets[i % len(markets)]},
                   {**y, "channel": channel} if i % 2 == 0 else {**y, "division": division}]
    rank_params = ({}, {"rank": "customers"}, {"rank": "markets", "n": "50"}, {"by": "gross_margin"},
                   {"rank": "customers", "by": "sold_quantity", "n": "25"})
    states = {}
    for module in ("overview", "sales", "demand", "pricing", "costs", "top_n", "data_status"):
        page_states = common
        if module == "top_n":
            page_states = [{**s, **rank_params[n % len(rank_params)]} for n, s in enumerate(common)]
        states[module] = page_states[:max_urls]
    return states


def search_of(state: dict) -> str:
    from urllib.parse import urlencode

    return "?" + urlencode(list(state.items())) if state else ""


# --- instrumenting the app (this process only) --------------------------------------------------------------

class Recorder:
    """Every request the server answered, with its time split by where it went."""

    def __init__(self):
        self.records: list[dict] = []
        self.phase = "setup"
        self.visit: int | None = None
        self._lock = threading.Lock()

    def add(self, record: dict) -> None:
        with self._lock:
            self.records.append(record)


def _bucket(name: str, ms: float) -> None:
    """Adds ms to a bucket of the current request's timing (no-op outside a request)."""
    from flask import g, has_request_context

    if has_request_context() and hasattr(g, "bench"):
        g.bench[name] = g.bench.get(name, 0.0) + ms


class TimedLock:
    """The warehouse's lock, timing how long each reader waits for it."""

    def __init__(self):
        self._lock = threading.Lock()

    def __enter__(self):
        began = time.perf_counter()
        self._lock.acquire()
        _bucket("lock_ms", (time.perf_counter() - began) * 1000)
        return self

    def __exit__(self, *exc):
        self._lock.release()
        return False


def instrument(app, recorder: Recorder, warehouse_path: Path, views: dict[str, str]) -> None:
    from flask import Response, g, request

    import dash._callback as dash_callback
    from dashboard import data
    from warehouse.duckdb import DuckDBWarehouse

    server = app.server

    # The warehouse the app reads, made here so that its reads and lock are timed.
    wh = DuckDBWarehouse(warehouse_path, f"duckdb:///{warehouse_path}")
    wh._lock = TimedLock()
    plain_read = wh.read

    def read(sql, params=()):
        began = time.perf_counter()
        waited_before = g.bench.get("lock_ms", 0.0) if _in_request() else 0.0
        try:
            return plain_read(sql, params)
        finally:
            waited = (g.bench.get("lock_ms", 0.0) if _in_request() else 0.0) - waited_before
            _bucket("db_ms", (time.perf_counter() - began) * 1000 - waited)
            _bucket("db_reads", 1)

    wh.read = read
    data._state.warehouse = wh

    plain_get, plain_set = data.cache.get, data.cache.set

    def cache_get(key):
        began = time.perf_counter()
        value = plain_get(key)
        _bucket("cache_ms", (time.perf_counter() - began) * 1000)
        if key.startswith("query:"):
            _bucket("hits" if value is not None else "misses", 1)
        return value

    def cache_set(key, value, *args, **kwargs):
        began = time.perf_counter()
        try:
            return plain_set(key, value, *args, **kwargs)
        finally:
            _bucket("cache_ms", (time.perf_counter() - began) * 1000)

    data.cache.get, data.cache.set = cache_get, cache_set

    # data._run = queries.runner.run (DuckDB, to Arrow) + .to_pandas(): time both (the inner
    # run's time is kept per thread, since callbacks run in parallel threads).
    plain_run, plain_inner_run = data._run, data.run
    local = threading.local()

    def inner_run(*args, **kwargs):
        began = time.perf_counter()
        try:
            return plain_inner_run(*args, **kwargs)
        finally:
            local.run_s = getattr(local, "run_s", 0.0) + time.perf_counter() - began

    def run_timed(name, params, refresh, *scope):
        local.run_s = 0.0
        began = time.perf_counter()
        frame = plain_run(name, params, refresh, *scope)
        total = time.perf_counter() - began
        _bucket("pandas_ms", (total - local.run_s) * 1000)
        if _in_request():
            g.bench.setdefault("queries", []).append(
                {"name": name, "params": params, "ms": round(total * 1000, 3), "rows": int(len(frame))})
        return frame

    data.run, data._run = inner_run, run_timed

    plain_to_json = dash_callback.to_json

    def to_json(value):
        began = time.perf_counter()
        text = plain_to_json(value)
        _bucket("json_ms", (time.perf_counter() - began) * 1000)
        _bucket("bytes", len(text))
        return text

    dash_callback.to_json = to_json

    @server.before_request
    def _bench_start():
        g.bench = {"t0": time.perf_counter()}
        g.bench["start"] = g.bench["t0"]

    @server.after_request
    def _bench_stop(response):
        b = getattr(g, "bench", None)
        if b is None:
            return response
        ms = (time.perf_counter() - b.pop("t0")) * 1000
        record = {"phase": recorder.phase, "visit": recorder.visit, "method": request.method,
                  "path": request.path, "status": response.status_code, "ms": ms, **b}
        if request.path.endswith("/_dash-update-component"):
            body = request.get_json(silent=True) or {}
            record.update(classify(body, views))
            record["_body"] = request.get_data()  # for the one-at-a-time replay; not saved
        recorder.add(record)
        return response

    server.add_url_rule("/bench-ping", "bench_ping", lambda: Response("ok", mimetype="text/plain"))
    server.add_url_rule("/bench-static", "bench_static", lambda: Response(STATIC_PAGE, mimetype="text/html"))
    server.add_url_rule("/bench-static.js", "bench_static_js",
                        lambda: Response(STATIC_SCRIPT, mimetype="text/javascript"))


def _in_request() -> bool:
    from flask import g, has_request_context

    return has_request_context() and hasattr(g, "bench")


def classify(body: dict, views: dict[str, str]) -> dict:
    """Which callback a request was: the filter bar's sync, Dash's page router, or a card of a view."""
    output = body.get("output", "")
    outputs = body.get("outputs")
    outputs = outputs if isinstance(outputs, list) else [outputs]
    if "_pages_content.children" in output:
        return {"view": ROUTER, "card": ROUTER}
    if "_pages_location.search" in output:
        return {"view": SHELL_SYNC, "card": SHELL_SYNC}
    for o in outputs:
        if isinstance(o, list):  # ALL outputs: a list of ids
            o = o[0] if o else {}
        cid = (o or {}).get("id")
        if isinstance(cid, dict) and "page" in cid:
            return {"view": views.get(cid["page"], cid["page"]), "card": f"{cid.get('name')} ({cid.get('type')})",
                    "module": cid["page"]}
    return {"view": "other", "card": output[:80]}


STATIC_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>bench: one Plotly chart</title>
<script src="/_dash-component-suites/plotly/package_data/plotly.min.js"></script></head>
<body><div id="chart" style="height:360px"></div>
<script src="/bench-static.js"></script></body></html>
"""
# A script of its own (not inline): the dashboard's Content-Security-Policy covers this page too.
STATIC_SCRIPT = """
const months = ["Sep","Oct","Nov","Dec","Jan","Feb","Mar","Apr","May","Jun","Jul","Aug"];
Plotly.newPlot("chart", [
  {type: "bar", name: "FY2022", x: months, y: [12,14,13,17,16,15,18,19,17,16,20,21]},
  {type: "scatter", mode: "lines", name: "FY2021", x: months, y: [10,12,12,15,14,14,16,17,15,15,18,19]}],
  {title: {text: "Net sales by month"}, margin: {t: 40, r: 10, b: 40, l: 50}}, {responsive: true});
"""


# --- the browser ---------------------------------------------------------------------------------------------

# Installed before any page script: counts the page's Dash requests and notes when the DOM last
# changed and the frame after it, on performance.now()'s clock (0 = navigation start).
PROBE = """
(() => {
  const s = window.__bench = {inflight: 0, dashRequests: 0, lastDashEnd: 0, lastMutation: 0, lastPaint: 0,
                              firstCallback: 0};
  const plainFetch = window.fetch.bind(window);
  window.fetch = (input, init) => {
    const url = typeof input === 'string' ? input : (input && input.url) || '';
    if (!url.includes('/_dash-')) return plainFetch(input, init);
    s.inflight++; s.dashRequests++;
    if (url.includes('/_dash-update-component') && !s.firstCallback) s.firstCallback = performance.now();
    return plainFetch(input, init).finally(() => { s.inflight--; s.lastDashEnd = performance.now(); });
  };
  const seen = () => {
    s.lastMutation = performance.now();
    requestAnimationFrame(() => { s.lastPaint = performance.now(); });
  };
  new MutationObserver(seen).observe(document, {subtree: true, childList: true, attributes: true,
                                                characterData: true});
})();
"""

STATE = """() => {
  const s = window.__bench || {};
  const content = document.querySelector('#_pages_content');
  return {inflight: s.inflight || 0, dashRequests: s.dashRequests || 0,
          loading: !!document.querySelector('[data-dash-is-loading="true"]'),
          lastChange: Math.max(s.lastMutation || 0, s.lastDashEnd || 0),
          lastPaint: s.lastPaint || 0, lastDashEnd: s.lastDashEnd || 0, now: performance.now(),
          firstCallback: s.firstCallback || 0,
          titled: !!(content && content.querySelector('.page-title')),
          charts: document.querySelectorAll('.js-plotly-plot').length,
          drawn: [...document.querySelectorAll('.js-plotly-plot')].filter(g => g.querySelector('.main-svg')).length,
          plotly: Math.max(0, ...performance.getEntriesByType('resource')
                                 .filter(e => e.name.includes('plotly.min.js')).map(e => e.responseEnd)),
          grids: document.querySelectorAll('.ag-root').length,
          kpis: document.querySelectorAll('.kpi-card').length,
          dcl: (performance.getEntriesByType('navigation')[0] || {}).domContentLoadedEventEnd || 0};
}"""

PINGS = """async (n) => {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await fetch('/bench-ping', {cache: 'no-store'});
    await r.text();
    out.push(performance.now() - t);
  }
  return out;
}"""


def load(page, url: str, dash_page: bool) -> dict:
    """Navigate to url and wait until it is drawn; the time from navigation start to the frame
    after the last change (DOM or Dash response), in ms."""
    errors_before = len(page.bench_errors)
    began = time.monotonic()
    page.goto(url, wait_until="commit", timeout=LOAD_TIMEOUT_S * 1000)
    while True:
        page.wait_for_timeout(50)
        s = page.evaluate(STATE)
        ready = (s["inflight"] == 0 and not s["loading"] and s["now"] - s["lastChange"] > QUIET_MS
                 and s["lastPaint"] > 0 and (not dash_page or (s["dashRequests"] > 0 and s["titled"])))
        if ready:
            break
        if time.monotonic() - began > LOAD_TIMEOUT_S:
            raise TimeoutError(f"{url} kept loading: {s}")
    return {"ms": max(s["lastPaint"], s["lastDashEnd"]), "dom_content_loaded_ms": s["dcl"],
            "first_callback_ms": s["firstCallback"], "last_response_ms": s["lastDashEnd"],
            "plotly_js_loaded_ms": s["plotly"],
            "dash_requests": s["dashRequests"], "charts": s["charts"], "charts_drawn": s["drawn"],
            "grids": s["grids"], "kpi_cards": s["kpis"], "console_errors": len(page.bench_errors) - errors_before}


def new_tab(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.add_init_script(PROBE)
    tab = context.new_page()
    tab.bench_errors = []
    tab.on("console", lambda m: tab.bench_errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.bench_errors.append(str(e)))
    return context, tab


# --- the run ---------------------------------------------------------------------------------------------------

def sign_in(tab, base: str) -> None:
    tab.goto(base + "/login")
    tab.fill("#username", BENCH_USER)
    tab.fill("#password", BENCH_PASSWORD)
    tab.click("#signin-button")
    tab.wait_for_url(lambda url: "/login" not in url)


def replay(base: str, cookie: str, recorder: Recorder, visit: int, phase: str) -> None:
    """Posts a visit's callback requests again, in the order they came, one at a time."""
    import urllib.request

    bodies = [r["_body"] for r in sorted((r for r in recorder.records if r["visit"] == visit and "_body" in r),
                                         key=lambda r: r["start"])]
    recorder.phase, recorder.visit = phase, visit
    for body in bodies:
        req = urllib.request.Request(base + "/_dash-update-component", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Cookie": cookie})
        with urllib.request.urlopen(req, timeout=LOAD_TIMEOUT_S) as response:
            response.read()


def own_cpu_seconds() -> float:
    """CPU seconds of this process and its children (Playwright's driver, Chromium)."""
    total = 0.0
    me = psutil.Process()
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system + getattr(t, "children_user", 0) + getattr(t, "children_system", 0)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return total


def measure(path: Path, states: dict[str, list[dict]]) -> dict:
    import dash
    from playwright.sync_api import sync_playwright

    from dashboard import data
    from dashboard.app import create_app
    from dashboard.config import DashboardSettings
    from tests.dashboard.browser import CHROMIUM_ARGS, chromium_path, serve

    cache_dir = Path(tempfile.mkdtemp(prefix="bims-bench-cache-"))
    # The app as it serves users, signed in as one (no background warming: the
    # bench clears the cache itself to time uncached callbacks).
    from dashboard.users import UserStore
    users_file = cache_dir.parent / f"{cache_dir.name}-users.json"
    users_file.unlink(missing_ok=True)
    UserStore(users_file).add(BENCH_USER, BENCH_PASSWORD, "admin")
    settings = DashboardSettings(warehouse_url=f"duckdb:///{path}", cache_dir=cache_dir, redis_url=None,
                                 debug=False, environment="development", secret_key="bench-" + "k" * 40,
                                 users_file=users_file, audit_log=cache_dir.parent / f"{cache_dir.name}-audit.log",
                                 warm_cache=False)
    app = create_app(settings)
    logging.getLogger("dashboard").setLevel(logging.ERROR)
    pages = {p["module"].rsplit(".", 1)[-1]: p for p in dash.page_registry.values()}
    views = {module: p["name"] for module, p in pages.items()}
    recorder = Recorder()
    instrument(app, recorder, path, views)
    loads: list[dict] = []
    pings: list[float] = []
    static: list[dict] = []

    load_before = os.getloadavg()
    busy_before, own_before, began = _busy_seconds(), own_cpu_seconds(), time.monotonic()
    with serve(app.server) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        context, tab = new_tab(browser)
        try:
            sign_in(tab, base)
            cookie = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())
            say(f"serving on {base}; Chromium {browser.version}; cache {cache_dir}")
            # Warm-up (not counted): every page once, then the static page.
            recorder.phase = "warmup"
            for module, page in sorted(pages.items(), key=lambda kv: kv[1]["order"]):
                load(tab, base + page["path"], True)
            load(tab, base + "/bench-static", False)
            for module, page in sorted(pages.items(), key=lambda kv: kv[1]["order"]):
                if module not in states:
                    continue  # not a view of the data (the admins' Users page)
                urls = [base + page["path"] + search_of(s) for s in states[module]]
                say(f"{page['name']}: {len(urls)} URLs, each uncached then cached ...")
                for n, url in enumerate(urls):
                    uncached = recorder.visit = len(loads)
                    data.cache.clear()
                    recorder.phase = "uncached"
                    loads.append({"module": module, "view": page["name"], "url": url[len(base):], "phase": "uncached",
                                  "visit": recorder.visit, **load(tab, url, True)})
                    cached = recorder.visit = len(loads)
                    recorder.phase = "cached"
                    loads.append({"module": module, "view": page["name"], "url": url[len(base):], "phase": "cached",
                                  "visit": recorder.visit, **load(tab, url, True)})
                    # The same callbacks again, one at a time from a plain HTTP client while the
                    # browser idles: the callback's own time, without queueing for the CPU or
                    # the warehouse's lock. Cached first (the cache is full), then uncached.
                    replay(base, cookie, recorder, cached, "cached-serial")
                    data.cache.clear()
                    replay(base, cookie, recorder, uncached, "uncached-serial")
                recorder.phase, recorder.visit = "ping", None
                pings += tab.evaluate(PINGS, PINGS_PER_PAGE)
            recorder.phase = "static"
            for _ in range(STATIC_LOADS):
                static.append(load(tab, base + "/bench-static", False))
            chromium = browser.version
            own_after = own_cpu_seconds()
        finally:
            context.close()
            browser.close()
    seconds = time.monotonic() - began
    busy = _busy_seconds() - busy_before
    load_after = os.getloadavg()
    data._state.warehouse.close()
    shutil.rmtree(cache_dir, ignore_errors=True)

    say("raw queries: re-running the uncached callbacks' named queries directly ...")
    raw = raw_baseline(path, recorder.records)
    return {"records": recorder.records, "loads": loads, "static": static, "ping_rtt_ms": pings, "raw": raw,
            "chromium": chromium, "seconds": seconds,
            "load": {"loadavg_before": load_before, "loadavg_after": load_after,
                     "other_cores": max(0.0, busy - (own_after - own_before)) / seconds,
                     "own_cores": (own_after - own_before) / seconds}}


def raw_baseline(path: Path, records: list[dict]) -> dict:
    """The named queries the uncached callbacks ran, each re-run RAW_REPEAT times with
    queries.runner.run on a DuckDBWarehouse of its own (allowed values and missing sources
    looked up once beforehand, as the dashboard caches them); the median per query, in ms."""
    from queries.runner import FILTERS, allowed_values, missing_sources, run
    from warehouse.duckdb import DuckDBWarehouse

    wh = DuckDBWarehouse(path)
    allowed = {name: allowed_values(wh, name) for name in FILTERS if FILTERS[name].allowed_sql or name == "by"}
    missing = missing_sources(wh)
    distinct = {}
    for r in records:
        if r["phase"] == "uncached":
            for q in r.get("queries", []):
                distinct.setdefault(query_key(q), q)
    # One pass to warm DuckDB the way the server's warm-up did, then the timed passes.
    for q in distinct.values():
        run(wh, q["name"], allowed=allowed.__getitem__, missing=missing, **q["params"])
    times: dict[str, list[float]] = {k: [] for k in distinct}
    for _ in range(RAW_REPEAT):
        for k, q in distinct.items():
            began = time.perf_counter()
            run(wh, q["name"], allowed=allowed.__getitem__, missing=missing, **q["params"])
            times[k].append((time.perf_counter() - began) * 1000)
    wh.close()
    return {k: {"name": distinct[k]["name"], "params": distinct[k]["params"], "ms": float(np.median(v))}
            for k, v in times.items()}


def query_key(q: dict) -> str:
    return json.dumps([q["name"], q["params"]], sort_keys=True, default=str)


# --- summarising -------------------------------------------------------------------------------------------------

def pct(values, q) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


def stats(values) -> dict:
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95), "max": max(values) if values else None}


PARTS = ("db_ms", "lock_ms", "pandas_ms", "cache_ms", "json_ms")
PHASES = ("uncached", "cached", "uncached-serial", "cached-serial")


def summarise(m: dict, view_order: list[str]) -> dict:
    callbacks = [r for r in m["records"] if r.get("view") and r["phase"] in PHASES]
    raw = m["raw"]
    for r in callbacks:
        if r["phase"] == "uncached":
            r["raw_ms"] = sum(raw[query_key(q)]["ms"] for q in r.get("queries", []))
        r["other_ms"] = r["ms"] - sum(r.get(p, 0.0) for p in PARTS)
    pings = [r["ms"] for r in m["records"] if r["path"] == "/bench-ping"]
    ping = stats(pings)
    rows = []
    for view in [*view_order, SHELL_SYNC, ROUTER]:
        mine = [r for r in callbacks if r["view"] == view]
        unc = [r for r in mine if r["phase"] == "uncached"]
        cac = [r for r in mine if r["phase"] == "cached"]
        raw_ms = [r["raw_ms"] for r in unc if r.get("queries")]
        rows.append({"view": view, "uncached": stats([r["ms"] for r in unc]), "cached": stats([r["ms"] for r in cac]),
                     "uncached_serial": stats([r["ms"] for r in mine if r["phase"] == "uncached-serial"]),
                     "cached_serial": stats([r["ms"] for r in mine if r["phase"] == "cached-serial"]),
                     "raw": stats(raw_ms),
                     "uncached_fully_from_cache": sum(1 for r in unc if not r.get("misses")),
                     "uncached_parts_mean": {p: float(np.mean([r.get(p, 0.0) for r in unc])) if unc else None
                                             for p in (*PARTS, "other_ms")},
                     "cached_parts_mean": {p: float(np.mean([r.get(p, 0.0) for r in cac])) if cac else None
                                           for p in (*PARTS, "other_ms")},
                     "shell": view in (SHELL_SYNC, ROUTER)})
    for row in rows:
        u, c, rw = row["uncached"], row["cached"], row["raw"]
        row["uncached_pass"] = u["p95"] is not None and u["p95"] <= TARGET_UNCACHED_MS
        row["cached_pass"] = c["p95"] is not None and c["p95"] <= TARGET_CACHED_MS
        row["uncached_ratio"] = u["p95"] / rw["p95"] if u["p95"] and rw["p95"] else None
        # Against the round trip of a trivial request through the same server, seen by the browser.
        rtt = pct(m["ping_rtt_ms"], 95)
        row["cached_ratio"] = c["p95"] / rtt if c["p95"] and rtt else None
    cards = []
    for key in sorted({(r["view"], r["card"]) for r in callbacks}, key=lambda k: (_order(k[0], view_order), k[1])):
        mine = [r for r in callbacks if (r["view"], r["card"]) == key]
        unc = [r for r in mine if r["phase"] == "uncached"]
        cac = [r for r in mine if r["phase"] == "cached"]
        names = sorted({q["name"] for r in unc for q in r.get("queries", [])})
        cards.append({"view": key[0], "card": key[1], "uncached": stats([r["ms"] for r in unc]),
                      "uncached_serial": stats([r["ms"] for r in mine if r["phase"] == "uncached-serial"]),
                      "cached_serial": stats([r["ms"] for r in mine if r["phase"] == "cached-serial"]),
                      "cached": stats([r["ms"] for r in cac]), "raw": stats([r["raw_ms"] for r in unc if r.get("queries")]),
                      "queries": names,
                      "rows_p50": pct([sum(q["rows"] for q in r.get("queries", [])) for r in unc if r.get("queries")], 50),
                      "bytes_p50": pct([r.get("bytes", 0) for r in unc], 50),
                      "uncached_parts_mean": {p: float(np.mean([r.get(p, 0.0) for r in unc])) if unc else None
                                              for p in (*PARTS, "other_ms")},
                      "cached_parts_mean": {p: float(np.mean([r.get(p, 0.0) for r in cac])) if cac else None
                                            for p in (*PARTS, "other_ms")}})
    renders = []
    static = [s["ms"] for s in m["static"]]
    static_p50 = pct(static, 50)
    for view in view_order:
        mine = [x for x in m["loads"] if x["view"] == view]
        row = {"view": view}
        for phase in ("uncached", "cached"):
            ms = [x["ms"] for x in mine if x["phase"] == phase]
            row[phase] = stats(ms)
            row[f"{phase}_pass"] = row[phase]["p50"] is not None and row[phase]["p50"] <= TARGET_RENDER_MS
            row[f"{phase}_ratio"] = row[phase]["p50"] / static_p50 if row[phase]["p50"] and static_p50 else None
            row[f"{phase}_timeline_p50"] = {k: pct([x[k] for x in mine if x["phase"] == phase], 50) for k in
                                            ("dom_content_loaded_ms", "plotly_js_loaded_ms", "first_callback_ms",
                                             "last_response_ms", "ms")}
        row["console_errors"] = sum(x["console_errors"] for x in mine)
        row["charts_not_drawn"] = sum(x["charts"] - x["charts_drawn"] for x in mine)
        row["dom_content_loaded_p50"] = pct([x["dom_content_loaded_ms"] for x in mine], 50)
        row["dash_requests_p50"] = pct([x["dash_requests"] for x in mine], 50)
        renders.append(row)
    return {"callbacks": rows, "cards": cards, "renders": renders, "ping_server": ping,
            "ping_rtt": stats(m["ping_rtt_ms"]), "static": stats(static),
            "static_dom_content_loaded_p50": pct([s["dom_content_loaded_ms"] for s in m["static"]], 50),
            "raw_queries": sorted(({"name": k, **stats([v["ms"] for v in m["raw"].values() if v["name"] == k])}
                                   for k in {v["name"] for v in m["raw"].values()}), key=lambda x: -(x["p95"] or 0)),
            "other_requests": {path: stats([r["ms"] for r in m["records"]
                                            if r["path"] == path and r["phase"] in ("uncached", "cached")])
                               for path in sorted({r["path"] for r in m["records"]
                                                   if not r["path"].endswith("_dash-update-component")
                                                   and not r["path"].startswith(("/_dash-component-suites", "/assets",
                                                                                 "/bench"))})}}


def _order(view: str, order: list[str]) -> int:
    return order.index(view) if view in order else len(order) + (view == ROUTER)


# --- reporting ---------------------------------------------------------------------------------------------------

def f(ms) -> str:
    return ("–" if ms is None else f"{ms:,.2f}" if ms < 1 else f"{ms:,.1f}" if ms < 100 else f"{ms:,.0f}")


def ratio(x) -> str:
    return "–" if x is None else f"{x:,.1f}x"


def verdict(ok: bool, value) -> str:
    return "–" if value is None else ("PASS" if ok else "MISS")


CALLBACK_HEADER = ("view", "uncached n", "p50", "p95", f"≤{TARGET_UNCACHED_MS:g} ms", "raw query p95",
                   "p95 / raw", "one at a time p95", "cached n", "p50", "p95", f"≤{TARGET_CACHED_MS:g} ms",
                   "p95 / ping round trip", "one at a time p95")


def callback_rows(s: dict) -> list[tuple]:
    out = []
    for r in s["callbacks"]:
        u, c, rw = r["uncached"], r["cached"], r["raw"]
        name = f"_{r['view']} (shell)_" if r["shell"] else r["view"]
        out.append((name, str(u["n"]), f(u["p50"]), f(u["p95"]), verdict(r["uncached_pass"], u["p95"]), f(rw["p95"]),
                    ratio(r["uncached_ratio"]), f(r["uncached_serial"]["p95"]), str(c["n"]), f(c["p50"]),
                    f(c["p95"]), verdict(r["cached_pass"], c["p95"]), ratio(r["cached_ratio"]),
                    f(r["cached_serial"]["p95"])))
    return out


RENDER_HEADER = ("page", "uncached n", "p50 ms", "p95 ms", f"≤{TARGET_RENDER_MS:g} ms", "p50 / static",
                 "cached n", "p50 ms", "p95 ms", f"≤{TARGET_RENDER_MS:g} ms", "p50 / static", "Dash requests")


def render_rows(s: dict) -> list[tuple]:
    out = []
    for r in s["renders"]:
        u, c = r["uncached"], r["cached"]
        out.append((r["view"], str(u["n"]), f(u["p50"]), f(u["p95"]), verdict(r["uncached_pass"], u["p50"]),
                    ratio(r["uncached_ratio"]), str(c["n"]), f(c["p50"]), f(c["p95"]),
                    verdict(r["cached_pass"], c["p50"]), ratio(r["cached_ratio"]), f"{r['dash_requests_p50']:.0f}"))
    return out


CARD_HEADER = ("view", "card", "queries", "rows", "uncached p50", "p95", "raw p95", "DuckDB", "lock wait", "to pandas",
               "cache", "JSON", "rest", "KB", "one at a time p95", "cached p50", "p95", "one at a time p95")


def card_rows(s: dict) -> list[tuple]:
    out = []
    for c in s["cards"]:
        p = c["uncached_parts_mean"]
        out.append((c["view"], c["card"], ", ".join(c["queries"]) or "–",
                    "–" if c["rows_p50"] is None else f"{c['rows_p50']:,.0f}", f(c["uncached"]["p50"]),
                    f(c["uncached"]["p95"]), f(c["raw"]["p95"]),
                    *[f(p[k]) for k in (*PARTS, "other_ms")], f"{(c['bytes_p50'] or 0) / 1024:,.1f}",
                    f(c["uncached_serial"]["p95"]), f(c["cached"]["p50"]), f(c["cached"]["p95"]),
                    f(c["cached_serial"]["p95"])))
    return out


TIMELINE_HEADER = ("page", "load", "DOM content loaded", "plotly.js loaded", "first callback sent",
                   "last Dash response", "drawn")


def timeline_rows(s: dict) -> list[tuple]:
    return [(r["view"], phase, *[f(r[f"{phase}_timeline_p50"][k]) for k in
                                 ("dom_content_loaded_ms", "plotly_js_loaded_ms", "first_callback_ms",
                                  "last_response_ms", "ms")])
            for r in s["renders"] for phase in ("uncached", "cached")]


def print_table(header, rows) -> None:
    rows = [tuple(header), *rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for n, row in enumerate(rows):
        say("  ".join(c.rjust(w) for c, w in zip(row, widths)))
        if n == 0:
            say("  ".join("-" * w for w in widths))


def render_section(result: dict) -> str:
    s, info, wh = result["summary"], result["machine"], result["warehouse"]
    load = result["load"]
    out = [START, "", "## Dashboard: server time per callback and time to first render", "",
           "_Written by `bench/dashboard.py`; rerun it (`make bench-dashboard`) to replace this section._", ""]
    out.append(f"- Date: {result['date']}; commit {result['code']}; scale {scale_name(result['scale'])} warehouse "
               f"`{wh['path']}` ({wh['size_mb']:,} MB; `agg_customer_product_yearly` "
               f"{wh['rows'].get('agg_customer_product_yearly', 0):,} rows, "
               f"{_per_year(wh['yearly_rows_per_fiscal_year'])} per fiscal year; `agg_customer_category_monthly` "
               f"{wh['rows'].get('agg_customer_category_monthly', 0):,} rows).")
    out.append(f"- Machine: {info['nproc']} cores ({info['cpu']}), {info['ram_gb']} GB RAM, {info['os']}, Python "
               f"{info['python']}. Load average {load['loadavg_before'][0]:.2f} before, "
               f"{load['loadavg_after'][0]:.2f} after; during the {result['seconds'] / 60:.1f}-minute browser run "
               f"this process (server + Playwright + Chromium) used {load['own_cores']:.2f} cores and everything "
               f"else on the machine {load['other_cores']:.2f} cores.")
    out.append("- Versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items())
               + f", Chromium {result['chromium']} (headless).")
    out.append(f"- Server: werkzeug's threaded development server in the benchmark's process (as the browser "
               f"tests), FileSystemCache in a fresh directory, debug off. "
               f"{result['urls_per_page']} distinct URLs per page; for each: cache cleared, load (uncached), "
               f"load again (cached).")
    out += ["", "### Server time per callback (ms)", "",
            "Server time is what Flask's before/after_request hooks see for a POST /_dash-update-component "
            "(the callback, its queries, Dash's JSON). A view's row pools its cards' callbacks; the shell's two "
            "callbacks fire on every page and have rows of their own. *raw query*: the same named queries with "
            "the same parameters, re-run directly on a DuckDBWarehouse (median of "
            f"{RAW_REPEAT} runs each, summed per callback). *ping round trip*: GET /bench-ping (\"ok\") fetched "
            f"{PINGS_PER_PAGE} times after each page's URLs by the same tab through the same server, as the browser "
            f"sees it: p50 {f(s['ping_rtt']['p50'])} ms, p95 {f(s['ping_rtt']['p95'])} ms (its server time: "
            f"p95 {f(s['ping_server']['p95'])} ms). *one at a time*: right after each URL's two loads, the same "
            "callback requests posted again one by one from a plain HTTP client while the browser idles "
            "(cached first, then with the cache cleared): the callbacks' own time, without queueing for the "
            "two cores, the GIL or the warehouse's reader lock. The verdicts are on the browser figures.", ""]
    out += markdown_table(CALLBACK_HEADER, callback_rows(s))
    out += ["", "### Time to first render (ms)", "",
            "From navigation start to the frame after the last change of the page (no Dash request in "
            "flight, no loading indicator). *static*: a page with one Plotly chart (plotly.js from Dash's "
            f"component-suite path), loaded {len(result['static_ms'])} times in the same browser: median "
            f"{f(s['static']['p50'])} ms, p95 {f(s['static']['p95'])} ms. A page passes when its median is "
            f"within {TARGET_RENDER_MS:g} ms.", ""]
    out += markdown_table(RENDER_HEADER, render_rows(s))
    errors = sum(r["console_errors"] for r in s["renders"])
    undrawn = sum(r["charts_not_drawn"] for r in s["renders"])
    out += ["", f"Console errors during the loads: {errors}; charts left undrawn: {undrawn}.", "",
            "Where a load's time goes (medians, ms from navigation start):", ""]
    out += markdown_table(TIMELINE_HEADER, timeline_rows(s))
    out += ["",
            "### Where an uncached callback's time goes (mean ms per card)", "",
            "*DuckDB*: the warehouse's reads (allowed values included when the cache was empty); *lock wait*: "
            "waiting for the warehouse's one reader lock while other callbacks read; *to pandas*: Arrow to "
            "DataFrame; *cache*: FileSystemCache get/set (pickling); *JSON*: Dash serialising the response; "
            "*rest*: the card's own Python (frame shaping, the Plotly figure or grid rows) and Dash's dispatch. "
            "*rows*: rows the queries returned (median); *KB*: the response.", ""]
    out += markdown_table(CARD_HEADER, card_rows(s))
    out += ["", END]
    return "\n".join(out)


def _per_year(per_year: dict) -> str:
    values = list(per_year.values())
    return f"{min(values):,}–{max(values):,}" if values else "?"


def update_doc(result: dict) -> None:
    section = render_section(result)
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


def code_version() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "dashboard", "queries", "warehouse"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (uncommitted changes in dashboard/, queries/ or warehouse/)" if dirty else "")


def report(summary: dict) -> None:
    say("")
    say("Server time per callback, ms (p95 / raw: against the same queries run directly on DuckDB; "
        "p95 / ping round trip: against GET /bench-ping as the browser sees it)")
    print_table(CALLBACK_HEADER, callback_rows(summary))
    say("")
    say(f"Time to first render, ms (static page with one Plotly chart: median {f(summary['static']['p50'])} ms)")
    print_table(RENDER_HEADER, render_rows(summary))
    say("")
    say("Where a load's time goes (medians, ms from navigation start)")
    print_table(TIMELINE_HEADER, timeline_rows(summary))
    say("")
    say("Where an uncached callback's time goes (mean ms per card)")
    print_table(CARD_HEADER, card_rows(summary))


# --- main ----------------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Time the dashboard's callbacks and first render on a warehouse.")
    p.add_argument("--scale", type=float, default=10)
    p.add_argument("--max-urls", type=int, default=20, help="distinct filter states per page (default 20)")
    p.add_argument("--no-doc", action="store_true", help="do not rewrite the section of docs/performance.md")
    p.add_argument("--from-results", action="store_true",
                   help="measure nothing: print and write the doc from bench/output/dashboard-results.json")
    args = p.parse_args(argv)
    if args.from_results:
        result = json.loads(RESULTS.read_text())["runs"][scale_name(args.scale)]
        report(result["summary"])
        if not args.no_doc:
            update_doc(result)
            say(f"section updated in {DOC.relative_to(REPO)}")
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    info = machine()
    say(f"machine: {info['nproc']} cores, {info['ram_gb']} GB RAM; load average {os.getloadavg()[0]:.2f}")
    path, wh = warehouse_for(args.scale)
    say(f"warehouse: {wh['size_mb']} MB, agg_customer_product_yearly "
        f"{wh['rows'].get('agg_customer_product_yearly', 0):,} rows")
    states = filter_states(path, args.max_urls)
    m = measure(path, states)
    import dash

    # The views of the data (not the admins' Users page, which has no filter states).
    view_order = [p["name"] for p in sorted(dash.page_registry.values(), key=lambda p: p["order"])
                  if not p.get("admin_only")]
    summary = summarise(m, view_order)
    result = {"scale": args.scale, "date": dt.date.today().isoformat(),
              "finished": dt.datetime.now().isoformat(timespec="seconds"), "code": code_version(),
              "machine": info, "versions": {k: package_version(k) for k in PACKAGES}, "chromium": m["chromium"],
              "warehouse": wh, "urls_per_page": args.max_urls, "seconds": m["seconds"], "load": m["load"],
              "targets_ms": {"uncached_p95": TARGET_UNCACHED_MS, "cached_p95": TARGET_CACHED_MS,
                             "first_render_median": TARGET_RENDER_MS},
              "summary": summary, "static_ms": [s["ms"] for s in m["static"]], "loads": m["loads"],
              "requests": [{k: v for k, v in r.items() if k != "_body"} for r in m["records"]],
              "raw_queries": list(m["raw"].values())}

    report(summary)
    store = {}
    if RESULTS.exists():
        try:
            store = json.loads(RESULTS.read_text())
        except json.JSONDecodeError:
            store = {}
    store.setdefault("runs", {})[scale_name(args.scale)] = result
    store["updated"] = result["finished"]
    RESULTS.write_text(json.dumps(store, indent=1, default=str))
    say(f"results: {RESULTS.relative_to(REPO)}")
    if not args.no_doc:
        update_doc(result)
        say(f"section updated in {DOC.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
