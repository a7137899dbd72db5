"""Benchmark: the dashboard under N concurrent users, served by gunicorn exactly
as the Docker image serves it (`gunicorn --config gunicorn.conf.py
dashboard.app:server`) on loopback, on the scale-10 warehouse.

    .venv/bin/python bench/load.py [--scale 10] [--users 10 50 100] [--duration 60]
                                   [--think 3 8] [--no-doc]

1. The warehouse: bench/dashboard.py's (bench/output/dashboard-S.duckdb, built
   by the real ETL if missing). 100 users in a fresh users file, one in four
   limited to a region (so scoped answers and their cache keys are exercised).
2. gunicorn starts with a fresh cache; the bench waits until the workers have
   warmed the cache for the refresh (dashboard/warm.py), as after a nightly
   refresh, and notes how long that took.
3. Capture: Debian's Chromium (Playwright) signs in and walks a script of
   realistic actions — open a view, pick a fiscal year, a region, drill to a
   market, Top-N by another measure, export a card — while every request it
   sends is recorded with its timing. Requests sent while earlier ones were
   still in flight form a wave (the browser sends them together).
4. Load: N simulated users, each a thread with its own session: sign in
   (GET + POST /login), open a first view (page, layout, dependencies and its
   callbacks), then repeat: think (uniform --think seconds), replay a random
   captured action's callbacks wave by wave (a wave's requests in parallel,
   as a browser does). Users sign in spread over --ramp seconds; "steady"
   figures count what came after the ramp.
   Every request's latency and status is recorded; errors are any status but
   200 (302 for the sign-in POST) and any failed connection.
5. Baseline, in the same run and under the same load: GET /healthz, which
   does no work beyond one cached lookup; and each level's latency against
   the one-user run.

Results: a table on stdout, bench/output/load-results.json and the section
between the load-bench markers of docs/performance.md. Target (the issue):
50 users with callback p95 <= 300 ms and no errors.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import re
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.etl import DOC, OUT, machine, markdown_table, say, scale_name  # noqa: E402

RESULTS = OUT / "load-results.json"
START, END = "<!-- load-bench:start -->", "<!-- load-bench:end -->"
TARGET_USERS, TARGET_P95_MS = 50, 300.0
PASSWORD = "load-test-password-0123"
REGIONS = ("APAC", "EU", "NA", "LATAM")
BROWSER_PARALLEL = 6   # requests a browser sends at once to one host


# --- set-up ----------------------------------------------------------------------------------------------------

def make_users(path: Path, count: int) -> list[str]:
    from dashboard.users import UserStore

    store = UserStore(path)
    names = []
    for i in range(count):
        name = f"user{i:03d}"
        limited = i % 4 == 3
        store.add(name, PASSWORD, "admin" if i == 0 else "viewer",
                  regions=[REGIONS[(i // 4) % len(REGIONS)]] if limited else [])
        names.append(name)
    return names


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dockerfile_command() -> list[str]:
    """The image's CMD, as written in the Dockerfile."""
    text = (REPO / "Dockerfile").read_text()
    line = re.search(r"^CMD\s+(\[.+\])$", text, re.MULTILINE).group(1)
    return json.loads(line)


class Server:
    """gunicorn as the image runs it, with its output kept to find the warming line."""

    def __init__(self, warehouse: Path, users_file: Path, work: Path, workers: int | None, threads: int | None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        bin_dir = Path(sys.executable).parent
        self.env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
                    "BIMS_BIND": f"127.0.0.1:{self.port}", "BIMS_WAREHOUSE": f"duckdb:///{warehouse}",
                    "BIMS_SECRET_KEY": "load-bench-" + "k" * 40, "BIMS_ENV": "development",
                    "BIMS_USERS_FILE": str(users_file), "BIMS_AUDIT_LOG": str(work / "audit.log"),
                    "BIMS_CACHE_DIR": str(work / "cache"), "BIMS_LOG_DIR": str(work)}
        if workers:
            self.env["BIMS_WORKERS"] = str(workers)
        if threads:
            self.env["BIMS_THREADS"] = str(threads)
        self.log = open(work / "gunicorn.log", "w")
        self.started = time.monotonic()
        self.process = subprocess.Popen(dockerfile_command(), cwd=REPO, env=self.env, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self.log_path = work / "gunicorn.log"

    def wait_healthy(self, timeout: float = 120) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return time.monotonic() - self.started
            except OSError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.3)
        raise TimeoutError("gunicorn did not become healthy")

    def wait_warmed(self, timeout: float = 600) -> float | None:
        """Seconds the warming took, from the worker's log line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"warmed (\d+) card answers for run \S+ in ([\d.]+) s", self.log_path.read_text())
            if found:
                return float(found.group(2))
            time.sleep(1)
        return None

    def workers(self) -> int:
        return len(psutil.Process(self.process.pid).children())

    def cpu_seconds(self) -> float:
        """CPU of gunicorn: the master, its live workers, and the workers it has
        already replaced (after max_requests), which the kernel adds to the
        master's children times when the master reaps them."""
        try:
            master = psutil.Process(self.process.pid)
            procs = [master, *master.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for p in procs:
            try:
                t = p.cpu_times()
                total += t.user + t.system + (t.children_user + t.children_system if p is master else 0.0)
            except psutil.Error:
                pass
        return total

    def rss_mb(self) -> float:
        total = 0
        for p in [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total / 2**20

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=60)
        self.log.close()


# --- capture: what a browser sends for each action -----------------------------------------------------------

ACTIONS = [
    # (name, URL to open, (page, card) to export or None)
    ("open Overview", "/", None),
    ("Overview FY2021", "/?fiscal_year=2021", None),
    ("Overview FY2021 APAC", "/?fiscal_year=2021&region=APAC", None),
    ("export Overview top customers", "/?fiscal_year=2021&region=APAC", ("overview", "top_customers")),
    ("open Sales", "/sales", None),
    ("Sales FY2020", "/sales?fiscal_year=2020", None),
    ("Sales drill EU", "/sales?fiscal_year=2021&region=EU", None),
    ("Sales drill Germany", "/sales?fiscal_year=2021&region=EU&sub_zone=NE&market=Germany", None),
    ("Sales Retailer channel", "/sales?fiscal_year=2021&channel=Retailer", None),
    ("open Demand", "/demand", None),
    ("Demand NA", "/demand?fiscal_year=2021&region=NA", None),
    ("open Pricing", "/pricing", None),
    ("Pricing a division", "/pricing?fiscal_year=2021&division=P%20%26%20A", None),
    ("open Freight & costs", "/costs", None),
    ("open Top-N", "/top-n", None),
    ("Top-N markets by gross margin", "/top-n?rank=markets&by=gross_margin", None),
    ("Top-N customers APAC", "/top-n?fiscal_year=2021&region=APAC&rank=customers", None),
    ("export Top-N table", "/top-n?rank=markets&by=gross_margin", ("top_n", "table")),
    ("open Data", "/data", None),
]


def capture(base: str, user: str) -> list[dict]:
    """Each action's requests as Chromium sent them: method, path, body, and the wave."""
    from playwright.sync_api import sync_playwright

    from dashboard import ids
    from tests.dashboard.browser import CHROMIUM_ARGS, chromium_path, css_id, wait_until_settled

    actions = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
        tab = context.new_page()
        tab.goto(base + "/login")
        tab.fill("#username", user)
        tab.fill("#password", PASSWORD)
        tab.click("#signin-button")
        tab.wait_for_url(lambda url: "/login" not in url)
        wait_until_settled(tab, timeout=120)
        seen: list[dict] = []

        def finished(request):
            path = urllib.parse.urlsplit(request.url).path
            if not (path.startswith("/_dash-") or request.resource_type == "document"):
                return  # scripts, styles and fonts: the browser's cache keeps them
            if path.startswith("/_dash-component-suites"):
                return
            timing = request.timing
            seen.append({"method": request.method, "path": path + ("?" + urllib.parse.urlsplit(request.url).query
                                                                   if request.resource_type == "document" else ""),
                         "body": request.post_data, "start": timing["startTime"],
                         "end": timing["startTime"] + max(timing["responseEnd"], 0)})

        tab.on("requestfinished", finished)
        for name, url, export in ACTIONS:
            seen.clear()
            if export:
                with tab.expect_download():
                    tab.click(css_id(ids.export(*export)))
            else:
                tab.goto(base + url)
            wait_until_settled(tab, timeout=120)
            actions.append({"name": name, "export": bool(export), "requests": waves(list(seen))})
        browser.close()
    return actions


def waves(requests: list[dict]) -> list[list[dict]]:
    """Requests grouped as the browser sent them: a request sent after one of the
    current wave's answers arrived depends on it and starts the next wave."""
    result: list[list[dict]] = []
    for request in sorted(requests, key=lambda r: r["start"]):
        if result and request["start"] < min(r["end"] for r in result[-1]):
            result[-1].append(request)
        else:
            result.append([request])
    return [[{k: r[k] for k in ("method", "path", "body")} for r in wave] for wave in result]


# --- load: N simulated users -------------------------------------------------------------------------------------

class Recorder:
    def __init__(self):
        self.rows: list[tuple] = []   # (kind, status, ms, at)
        self.errors: list[str] = []   # what the first failures were
        self.lock = threading.Lock()

    def add(self, kind: str, status: int, ms: float, detail: str = "") -> None:
        with self.lock:
            self.rows.append((kind, status, ms, time.monotonic()))
            if status != 200 and len(self.errors) < 20:
                self.errors.append(f"{kind} {status}: {detail[:300]}")


def kind_of(method: str, path: str, body: str | None) -> str:
    if path == "/_dash-update-component":
        return "export" if body and '"type":"download"' in body.replace(" ", "") else "callback"
    if path.startswith("/login"):
        return "sign-in"
    if path == "/healthz":
        return "healthz"
    return "page"


class User:
    def __init__(self, name: str, port: int, recorder: Recorder):
        self.name, self.port, self.recorder = name, port, recorder
        self.cookie = ""
        self.connections: list[http.client.HTTPConnection] = []
        self.pool = ThreadPoolExecutor(max_workers=BROWSER_PARALLEL)
        self.lock = threading.Lock()

    def _connection(self, fresh: bool = False) -> tuple[http.client.HTTPConnection, bool]:
        """A kept-alive connection (True) or a new one (False)."""
        with self.lock:
            if fresh:  # the kept ones went idle together: the server has closed them all
                for c in self.connections:
                    c.close()
                self.connections.clear()
            if self.connections:
                return self.connections.pop(), True
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60), False

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None,
                expect: int = 200, kind: str | None = None) -> tuple[int, bytes, http.client.HTTPResponse | None]:
        kind = kind or kind_of(method, path, body)
        all_headers = {"Cookie": self.cookie, **(headers or {})}
        if body is not None and "Content-Type" not in all_headers:
            all_headers["Content-Type"] = "application/json"
        began = time.perf_counter()
        for attempt in (1, 2):
            connection, reused = self._connection(fresh=attempt == 2)
            try:
                connection.request(method, path, body=body.encode() if body else None, headers=all_headers)
                response = connection.getresponse()
                data = response.read()
                break
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                if reused and attempt == 1:
                    # The server closed an idle kept-alive connection: a browser
                    # sends the request again on a new one, and so do we.
                    began = time.perf_counter()
                    continue
                self.recorder.add(kind, 0, (time.perf_counter() - began) * 1000, f"{method} {path}: {exc!r}")
                return 0, b"", None
        status = response.status
        self.recorder.add(kind, 200 if status == expect else status, (time.perf_counter() - began) * 1000,
                          f"{method} {path} {(body or '')[:150]} -> {data[:150]!r}")
        with self.lock:
            self.connections.append(connection)
        return status, data, response

    def sign_in(self) -> bool:
        status, page, response = self.request("GET", "/login")
        if status != 200:
            return False
        self.cookie = response.getheader("Set-Cookie", "").split(";")[0]
        token = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
        form = urllib.parse.urlencode({"csrf": token, "username": self.name, "password": PASSWORD, "next": "/"})
        status, _, response = self.request("POST", "/login", form,
                                           {"Content-Type": "application/x-www-form-urlencoded"}, expect=302)
        if status != 302:
            return False
        self.cookie = response.getheader("Set-Cookie", "").split(";")[0]
        return True

    def replay(self, action: dict, first: bool) -> None:
        for wave in action["requests"]:
            wave = [r for r in wave if first or r["method"] == "POST"]  # later actions: in-app, no reload
            if not wave:
                continue
            futures = [self.pool.submit(self.request, r["method"], r["path"], r["body"]) for r in wave]
            for f in futures:
                f.result()

    def close(self) -> None:
        self.pool.shutdown(wait=False)
        for c in self.connections:
            c.close()


def run_level(port: int, names: list[str], actions: list[dict], n: int, duration: float, think: tuple,
              seed: int, ramp: float) -> dict:
    """N users arriving (signing in) spread over `ramp` seconds, each then busy
    until `duration` seconds after the ramp."""
    recorder = Recorder()
    began = time.monotonic()
    stop_at = began + ramp + duration
    rng = random.Random(seed)
    opening = [a for a in actions if a["name"].startswith("open")]
    plans = [(names[i % len(names)], rng.uniform(0, ramp), random.Random(seed + i)) for i in range(n)]

    def session(name: str, delay: float, r: random.Random) -> None:
        time.sleep(delay)
        user = User(name, port, recorder)
        try:
            if not user.sign_in():
                return
            user.replay(r.choice(opening), first=True)
            while time.monotonic() < stop_at:
                time.sleep(r.uniform(*think))
                if time.monotonic() >= stop_at:
                    break
                user.replay(r.choice(actions), first=False)
        finally:
            user.close()

    def probe() -> None:
        """The baseline: GET /healthz every half second under the same load."""
        user = User(names[0], port, recorder)
        while time.monotonic() < stop_at:
            user.request("GET", "/healthz")
            time.sleep(0.5)
        user.close()

    threads = [threading.Thread(target=session, args=plan, daemon=True) for plan in plans]
    threads.append(threading.Thread(target=probe, daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration + 180)
    seconds = time.monotonic() - began
    return {"users": n, "seconds": seconds, "rows": recorder.rows, "error_samples": recorder.errors,
            "steady_from": began + ramp}


# --- summary -------------------------------------------------------------------------------------------------------

def pct(values, q) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


def summarise(level: dict, server_cpu: float, client_cpu: float) -> dict:
    rows = level["rows"]
    out = {"users": level["users"], "seconds": round(level["seconds"], 1), "requests": len(rows),
           "throughput_rps": round(len(rows) / level["seconds"], 1),
           "errors": sum(1 for r in rows if r[1] != 200),
           "server_cores": round(server_cpu / level["seconds"], 2),
           "client_cores": round(client_cpu / level["seconds"], 2), "error_samples": level["error_samples"]}
    for kind in ("callback", "export", "page", "sign-in", "healthz"):
        ms = [r[2] for r in rows if r[0] == kind and r[1] == 200]
        out[kind] = {"n": len(ms), "p50": pct(ms, 50), "p95": pct(ms, 95), "p99": pct(ms, 99),
                     "errors": sum(1 for r in rows if r[0] == kind and r[1] != 200)}
    views = [r[2] for r in rows if r[0] in ("callback", "export", "page") and r[1] == 200]
    out["all"] = {"n": len(views), "p50": pct(views, 50), "p95": pct(views, 95), "p99": pct(views, 99)}
    # Once every user has signed in: the load the dashboard carries all day.
    steady = [r[2] for r in rows if r[0] == "callback" and r[1] == 200 and r[3] >= level["steady_from"]]
    out["callback_steady"] = {"n": len(steady), "p50": pct(steady, 50), "p95": pct(steady, 95),
                              "p99": pct(steady, 99)}
    return out


def f(ms) -> str:
    return "–" if ms is None else f"{ms:,.0f}"


def table_rows(levels: list[dict]) -> list[tuple]:
    one = next((l for l in levels if l["users"] == 1), None)
    rows = []
    for l in levels:
        cb, hz, steady = l["callback"], l["healthz"], l["callback_steady"]
        ratio = (f"{cb['p95'] / one['callback']['p95']:.1f}x" if one and cb["p95"] and one["callback"]["p95"]
                 else "–")
        def verdict(p95):
            if l["users"] != TARGET_USERS:
                return ""
            return " PASS" if p95 is not None and p95 <= TARGET_P95_MS and not l["errors"] else " MISS"

        rows.append((str(l["users"]), f"{l['throughput_rps']:.1f}", f"{l['requests']:,}", str(l["errors"]), f(cb["p50"]),
                     f(cb["p95"]) + verdict(cb["p95"]), f(cb["p99"]),
                     f(steady["p50"]), f(steady["p95"]) + verdict(steady["p95"]), f(steady["p99"]), f(l["export"]["p95"]), f(l["page"]["p95"]), f(l["sign-in"]["p95"]),
                     f(hz["p95"]), ratio, f"{l['server_cores']:.2f}", f"{l['client_cores']:.2f}"))
    return rows


HEADER = ("users", "req/s", "requests", "errors", "callback p50 ms", "callback p95 ms", "callback p99 ms",
          "steady p50 ms", "steady p95 ms", "steady p99 ms",
          "export p95 ms", "page p95 ms", "sign-in p95 ms", "/healthz p95 ms", "callback p95 vs 1 user",
          "server cores", "load-generator cores")


def render_section(result: dict) -> str:
    m = result["machine"]
    lines = [
        START, "", "## Dashboard under load", "",
        "_Written by `bench/load.py`; rerun it to replace this section._", "",
        f"- Date: {result['date']}; machine: {m['nproc']} cores ({m.get('cpu') or 'CPU unknown'}), "
        f"{m['ram_gb']} GB RAM, Python {m['python']}; "
        "shared with other work, so the times are noisy. The load generator, gunicorn and (for the capture) "
        "Chromium run on the same cores.",
        f"- Server: `{' '.join(result['command'])}` (the Docker image's CMD) with gunicorn.conf.py: "
        f"{result['workers']} workers × {result['threads']} threads (gthread), on the scale-{result['scale']} "
        f"warehouse ({result['warehouse_mb']:,.0f} MB DuckDB file), on-disk cache; server memory at the end "
        f"{result['server_rss_mb']:,.0f} MB (all workers).",
        f"- Cache warming after the refresh: {result['warm_seconds']} s for every view's default answers, for "
        f"everyone and {result['scopes']} user scopes, before the first user arrived.",
        f"- Sessions: {len(result['actions'])} captured actions (Chromium's own requests, replayed wave by wave), "
        f"think time {result['think'][0]}–{result['think'][1]} s; the users sign in spread over "
        f"{result['ramp']:.0f} s, then all stay busy for {result['duration']:.0f} s; "
        "one user in four is limited to a region.",
        "", *markdown_table(HEADER, table_rows(result["levels"])), "",
        f"Target: {TARGET_USERS} users with callback p95 ≤ {TARGET_P95_MS:.0f} ms and no errors. "
        "*callback*: every POST /_dash-update-component but exports (the filter bar, the page router and "
        "every card), over the whole run; *steady*: the same once every user has signed in (after the "
        "ramp); *page*: the first view's HTML, layout and dependencies; *sign-in*: GET and POST /login "
        "(argon2id verification); *server cores*: CPU of gunicorn's processes (master and workers, also "
        "those replaced after max_requests); */healthz*: the same-run baseline, one trivial request every "
        "0.5 s under the same load.", "", END,
    ]
    return "\n".join(lines)


def update_doc(result: dict) -> None:
    text = DOC.read_text()
    section = render_section(result)
    if START in text:
        text = text[:text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


# --- main --------------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=10)
    parser.add_argument("--users", type=int, nargs="+", default=[1, 10, 50, 100])
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--think", type=float, nargs=2, default=[3.0, 8.0])
    parser.add_argument("--ramp", type=float, default=30.0, help="seconds over which the users sign in")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py's)")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (default: gunicorn.conf.py's)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args(argv)

    from bench.dashboard import warehouse_for

    warehouse, _ = warehouse_for(args.scale)
    work = Path(tempfile.mkdtemp(prefix="bims-load-"))
    say(f"users file and cache in {work}")
    names = make_users(work / "users.json", max(100, max(args.users)))
    server = Server(warehouse, work / "users.json", work, args.workers, args.threads)
    try:
        say(f"gunicorn healthy after {server.wait_healthy():.1f} s; waiting for the cache warming ...")
        warm = server.wait_warmed()
        say(f"warmed in {warm} s; capturing the browser's requests ...")
        actions = capture(server.base, names[1])
        say(f"{len(actions)} actions, {sum(len(w) for a in actions for w in a['requests'])} waves")
        levels = []
        me = psutil.Process()
        for n in args.users:
            cpu_server, cpu_client = server.cpu_seconds(), sum(me.cpu_times()[:2])
            level = run_level(server.port, names, actions, n, args.duration, tuple(args.think), args.seed,
                              args.ramp)
            summary = summarise(level, server.cpu_seconds() - cpu_server, sum(me.cpu_times()[:2]) - cpu_client)
            levels.append(summary)
            cb = summary["callback"]
            say(f"{n:>4} users: {summary['throughput_rps']:6.1f} req/s, callback p50/p95/p99 "
                f"{f(cb['p50'])}/{f(cb['p95'])}/{f(cb['p99'])} ms, errors {summary['errors']}")
            for sample in summary["error_samples"][:5]:
                say(f"      {sample}")
        rss, workers = server.rss_mb(), server.workers()
    finally:
        server.stop()
    config = runpy.run_path(str(REPO / "gunicorn.conf.py"), init_globals={})
    threads = args.threads or config["threads"]
    result = {
        "date": dt.date.today().isoformat(), "machine": machine(), "scale": scale_name(args.scale),
        "command": dockerfile_command(), "workers": workers, "threads": threads,
        "warehouse_mb": warehouse.stat().st_size / 2**20, "server_rss_mb": rss, "warm_seconds": warm,
        "scopes": len(REGIONS), "actions": [a["name"] for a in actions], "think": args.think,
        "ramp": args.ramp, "duration": args.duration, "levels": levels,
    }
    RESULTS.write_text(json.dumps(result, indent=2))
    print("\n".join(markdown_table(HEADER, table_rows(levels))))
    if not args.no_doc:
        update_doc(result)
        say(f"wrote {DOC}")
    if any(level["errors"] for level in levels):
        say(f"errors: the server's log is kept in {work / 'gunicorn.log'}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
