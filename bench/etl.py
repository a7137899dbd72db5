"""Benchmark: the Spark refresh against the same computation in plain DuckDB SQL.

    .venv/bin/python bench/etl.py [--scales 1 10] [--format csv|parquet] [--repeat 1] [--no-check]

For each scale the sample dataset is generated once into
bench/output/scale-S-FMT/ (reused while its `.complete` marker is there). Then,
in the same run and on the same files:

* spark:  `python -m etl refresh --source DIR --warehouse duckdb:///bench/output/w-S-FMT.duckdb`
* duckdb: `python bench/duckdb_baseline.py --source DIR --out bench/output/b-S-FMT.duckdb`

each in a subprocess, timed by wall clock, with the peak resident memory of
its whole process tree (the Python driver plus the JVM for Spark) and its
CPU seconds, both sampled every 0.1 s. Before the timed runs, both are run once at scale 0.01 and their
per-fiscal-year totals compared (the equality check).

Results: a table on stdout, bench/output/etl-results.json (merged by scale and
format with earlier runs), and the section between the etl-bench markers of
docs/performance.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from etl.schema import OUTPUT_TABLES  # noqa: E402

OUT = REPO / "bench" / "output"
RESULTS = OUT / "etl-results.json"
DOC = REPO / "docs" / "performance.md"
START, END = "<!-- etl-bench:start -->", "<!-- etl-bench:end -->"
CHECK_SCALE = 0.01
CHECK_MEASURES = ("net_sales", "gross_margin", "sold_quantity", "forecast_quantity", "abs_error")
CHECK_TOLERANCE = 1e-6
STAGE_LINE = re.compile(r"^\s*(\w+)\s+done in ([0-9.]+) s\s*$")
SAMPLE_EVERY = 0.1


def say(line: str = "") -> None:
    print(line, flush=True)


def scale_name(scale: float) -> str:
    return f"{scale:g}"


# --- the data --------------------------------------------------------------------------------------

def dataset(scale: float, fmt: str) -> tuple[Path, dict[str, int]]:
    """The sample at this scale and format, generated unless a finished copy is there;
    returns its folder and rows per table (kept in the `.complete` marker)."""
    folder = OUT / f"scale-{scale_name(scale)}-{fmt}"
    marker = folder / ".complete"
    if marker.exists():
        text = marker.read_text().strip()
        counts = json.loads(text) if text else count_rows(folder, fmt)
        if not text:
            marker.write_text(json.dumps(counts))
        say(f"reusing {folder.relative_to(REPO)} ({sum(counts.values()):,} rows)")
        return folder, counts
    import shutil

    from etl.generate import generate

    shutil.rmtree(folder, ignore_errors=True)
    began = time.monotonic()
    counts = generate(folder, scale=scale, fmt=fmt)
    marker.write_text(json.dumps(counts))
    say(f"generated {folder.relative_to(REPO)}: {sum(counts.values()):,} rows in {time.monotonic() - began:.1f} s")
    return folder, counts


def count_rows(folder: Path, fmt: str) -> dict[str, int]:
    import duckdb

    con = duckdb.connect()
    counts = {}
    for path in sorted(folder.glob(f"*.{fmt}")):
        reader = (f"read_csv('{path}', header = true, all_varchar = true)" if fmt == "csv"
                  else f"read_parquet('{path}')")
        counts[path.name[: -len(fmt) - 1]] = con.execute(f"SELECT count(*) FROM {reader}").fetchone()[0]
    con.close()
    return counts


def warm_page_cache(folder: Path) -> None:
    """Read every file once so that neither contender pays for a cold disk cache."""
    for path in folder.iterdir():
        if path.is_file():
            with open(path, "rb") as f:
                while f.read(16 << 20):
                    pass


# --- running and measuring ---------------------------------------------------------------------------

def _forked_copy(p: psutil.Process, images: dict[int, tuple]) -> bool:
    """A child forked from its parent that has not exec'd yet (the JVM forks to run `chmod` and
    the like): its resident set is mostly the parent's pages, shared copy-on-write."""
    return images.get(p.ppid()) == images.get(p.pid)


def sample_tree(proc: psutil.Process, cpu: dict[int, float]) -> int:
    """The resident memory of proc and its descendants now; records each one's CPU seconds in `cpu`.

    A forked, not yet exec'd copy of a process in the tree counts with its unique pages only
    (USS), not its resident set, which would count the parent's memory twice."""
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    images: dict[int, tuple] = {}
    for p in procs:
        try:
            images[p.pid] = (p.exe(), tuple(p.cmdline()))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    for p in procs:
        try:
            with p.oneshot():
                if p is not proc and _forked_copy(p, images):
                    total += p.memory_full_info().uss
                else:
                    total += p.memory_info().rss
                    times = p.cpu_times()
                    cpu[p.pid] = times.user + times.system
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return total


def _busy_seconds() -> float:
    """CPU seconds the whole machine has been busy since boot (all cores)."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0) + getattr(t, "steal", 0)


def measure(cmd: list[str], log: Path, env: dict | None = None, server: psutil.Process | None = None) -> dict:
    """Run cmd; wall seconds, peak RSS and CPU seconds of its process tree (sampled every
    SAMPLE_EVERY s), exit code and the stage lines it printed. With `server` (the Spark server
    a refresh runs on), its tree's resident memory counts in the peak and the CPU it used
    during the run in the CPU seconds."""
    log.parent.mkdir(parents=True, exist_ok=True)
    peak, cpu, server_cpu = 0, {}, {}
    server_before = 0.0
    if server is not None:
        sample_tree(server, server_cpu)
        server_before = sum(server_cpu.values())
    busy_before = _busy_seconds()
    began = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env)
        watched = psutil.Process(proc.pid)
        while proc.poll() is None:
            rss = sample_tree(watched, cpu)
            if server is not None:
                rss += sample_tree(server, server_cpu)
            peak = max(peak, rss)
            time.sleep(SAMPLE_EVERY)
        seconds = time.monotonic() - began
    if server is not None:
        sample_tree(server, server_cpu)
        # Its CPU during this run, under a key no process of the client's tree has.
        cpu[-1] = sum(server_cpu.values()) - server_before
    # CPU the rest of the machine used meanwhile, in cores: how much the run had to share.
    others = max(0.0, _busy_seconds() - busy_before - sum(cpu.values())) / seconds
    lines = log.read_text().splitlines()
    stages = {m.group(1): float(m.group(2)) for m in map(STAGE_LINE.match, lines) if m}
    return {"seconds": seconds, "peak_mb": peak / 2**20, "cpu_seconds": sum(cpu.values()), "other_load": others,
            "returncode": proc.returncode,
            "stages": stages, "log": str(log.relative_to(REPO)), "tail": lines[-5:]}


def spark_run(folder: Path, scale: float, fmt: str, tag: str, fiscal_years: list[int] | None = None,
              server: "SparkServer | None" = None) -> dict:
    """A full refresh into a new warehouse or, with fiscal_years, an incremental one into the
    warehouse the full refresh wrote; with `server`, run on that warm Spark server (--remote)."""
    warehouse = OUT / f"{'s' if server else 'w'}-{scale_name(scale)}-{fmt}.duckdb"
    if not fiscal_years:
        for stale in (warehouse, Path(f"{warehouse}.wal"), Path(f"{warehouse}.lock")):
            stale.unlink(missing_ok=True)  # a first refresh: nothing to copy
    env = dict(os.environ, BIMS_LOG_DIR=str(OUT / "logs"))
    cmd = [sys.executable, "-m", "etl", "refresh", "--source", str(folder.relative_to(REPO)),
           "--warehouse", f"duckdb:///{warehouse.relative_to(REPO)}"]
    if server:
        cmd += ["--remote", server.url]
    if fiscal_years:
        cmd += ["--fiscal-years", *map(str, fiscal_years)]
    log = OUT / "logs" / f"{'served' if server else 'spark'}-{tag}.log"
    result = measure(cmd, log, env, server=server.process if server else None)
    result["warehouse"] = str(warehouse.relative_to(REPO))
    return result


class SparkServer:
    """`python -m etl spark-server` for the served runs: started once per scale (with its
    warm-up, timed), stopped at the end."""

    def __init__(self, tag: str):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"sc://localhost:{self.port}"
        self.log = OUT / "logs" / f"spark-server-{tag}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, BIMS_LOG_DIR=str(OUT / "logs"))
        began = time.monotonic()
        self._out = open(self.log, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "etl", "spark-server", "--port", str(self.port)],
                                     cwd=REPO, env=env, stdout=self._out, stderr=subprocess.STDOUT)
        self.process = psutil.Process(self.proc.pid)
        while "ready:" not in self.log.read_text():
            if self.proc.poll() is not None:
                raise SystemExit(f"the Spark server did not start; see {self.log}:\n" + self.log.read_text()[-2000:])
            time.sleep(0.2)
        self.ready_seconds = time.monotonic() - began
        lines = self.log.read_text()
        started = re.search(r"^started in ([0-9.]+) s", lines, re.M)
        warmed = re.search(r"^warmed up in ([0-9.]+) s", lines, re.M)
        self.start_seconds = float(started.group(1)) if started else None
        self.warm_up_seconds = float(warmed.group(1)) if warmed else None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=120)
        self._out.close()


def refresh_and_incrementals(label: str, what: str, run, full_runs: list[dict],
                             incremental_runs: dict[str, list[dict]]) -> None:
    """A full refresh, then an incremental refresh of each kind of fiscal year into the warehouse
    it wrote; `run(tag_suffix, fiscal_years)` runs one."""
    say(f"{label}: {what} ...")
    full = run("", None)
    full_runs.append(full)
    require_success(what, full)
    say(f"  {full['seconds']:.1f} s, peak {full['peak_mb']:,.0f} MB; stages {full['stages']}")
    for kind, runs in incremental_runs.items():
        year = incremental_year(REPO / full["warehouse"], kind)
        say(f"{label}: incremental {what} of FY{year} ({kind}) ...")
        runs.append(run(f"-fy{year}", [year]))
        require_success(f"incremental {what}", runs[-1])
        runs[-1]["fiscal_year"] = year
        runs[-1]["rows_read_full"], runs[-1]["rows_read"] = rows_read_last_runs(REPO / runs[-1]["warehouse"])
        say(f"  {runs[-1]['seconds']:.1f} s, peak {runs[-1]['peak_mb']:,.0f} MB; stages {runs[-1]['stages']}")


def rows_read_last_runs(warehouse: Path) -> tuple[int, int]:
    """Rows read by the last full refresh and by the last incremental one, from etl_runs."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        full, part = (con.execute("SELECT rows_read FROM etl_runs WHERE status = 'succeeded' AND fiscal_years "
                                  f"{op} 'all' ORDER BY started_at DESC LIMIT 1").fetchone()[0] for op in ("=", "<>"))
    finally:
        con.close()
    return full, part


# Which fiscal year an incremental refresh recomputes: the one still running (what a
# scheduled refresh does as each month's actuals arrive) and the latest complete one
# (a restatement of last year, the larger of the two in this growing sample).
INCREMENTAL_KINDS = {"current": "the fiscal year still running", "complete": "the latest complete fiscal year"}


def incremental_year(warehouse: Path, kind: str) -> int:
    """The fiscal year of this kind, from a refreshed warehouse."""
    import duckdb

    having = "count(DISTINCT month) = 12" if kind == "complete" else "count(DISTINCT month) > 0"
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        row = con.execute("SELECT max(fiscal_year) FROM (SELECT fiscal_year FROM agg_customer_category_monthly "
                          f"WHERE has_actuals GROUP BY 1 HAVING {having})").fetchone()
    finally:
        con.close()
    if row[0] is None:
        raise SystemExit(f"{warehouse}: no fiscal year has actuals ({kind})")
    return int(row[0])


def duckdb_run(folder: Path, scale: float, fmt: str, tag: str, memory_limit: str | None = None) -> dict:
    out = OUT / f"b-{scale_name(scale)}-{fmt}.duckdb"
    cmd = [sys.executable, str(REPO / "bench" / "duckdb_baseline.py"), "--source", str(folder),
           "--out", str(out), "--format", fmt, *(["--memory-limit", memory_limit] if memory_limit else [])]
    result = measure(cmd, OUT / "logs" / f"duckdb-{tag}.log")
    result["warehouse"] = str(out.relative_to(REPO))
    return result


def require_success(name: str, result: dict) -> None:
    if result["returncode"] != 0:
        raise SystemExit(f"{name} failed (exit {result['returncode']}); see {result['log']}:\n  "
                         + "\n  ".join(result["tail"]))


# --- the equality check --------------------------------------------------------------------------------

def compare(spark_db: Path, baseline_db: Path) -> dict:
    """Per-fiscal-year sums of the checked measures in agg_customer_product_yearly, and the
    row counts of every output table, in the Spark warehouse and the baseline."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"ATTACH '{spark_db}' AS s (READ_ONLY)")
    con.execute(f"ATTACH '{baseline_db}' AS b (READ_ONLY)")
    sums = ", ".join(f"sum({m})" for m in CHECK_MEASURES)
    totals = {side: {row[0]: row[1:] for row in con.execute(
        f"SELECT fiscal_year, {sums} FROM {side}.agg_customer_product_yearly GROUP BY 1 ORDER BY 1").fetchall()}
        for side in ("s", "b")}
    counts = {t: (con.execute(f"SELECT count(*) FROM s.{t}").fetchone()[0],
                  con.execute(f"SELECT count(*) FROM b.{t}").fetchone()[0]) for t in OUTPUT_TABLES}
    con.close()
    worst, failures = 0.0, []
    if totals["s"].keys() != totals["b"].keys():
        failures.append(f"fiscal years differ: {sorted(totals['s'])} vs {sorted(totals['b'])}")
    for year in sorted(totals["s"].keys() & totals["b"].keys()):
        for measure, a, b in zip(CHECK_MEASURES, totals["s"][year], totals["b"][year]):
            a, b = a or 0.0, b or 0.0
            rel = abs(a - b) / max(abs(a), abs(b), 1e-12) if a != b else 0.0
            worst = max(worst, rel)
            if rel > CHECK_TOLERANCE:
                failures.append(f"FY{year} {measure}: spark {a!r} vs duckdb {b!r}")
    failures += [f"{t}: {a:,} rows (spark) vs {b:,} (duckdb)" for t, (a, b) in counts.items() if a != b]
    return {"passed": not failures, "fiscal_years": sorted(totals["s"]), "measures": list(CHECK_MEASURES),
            "max_relative_difference": worst, "tolerance": CHECK_TOLERANCE,
            "row_counts_equal": all(a == b for a, b in counts.values()), "failures": failures,
            "net_sales_by_fiscal_year": {str(y): v[0] for y, v in totals["s"].items()}}


def equality_check(fmt: str) -> dict:
    folder, _ = dataset(CHECK_SCALE, fmt)
    say(f"equality check at scale {CHECK_SCALE:g} ({fmt}): running both ...")
    spark = spark_run(folder, CHECK_SCALE, fmt, f"check-{fmt}")
    require_success("spark refresh (check)", spark)
    base = duckdb_run(folder, CHECK_SCALE, fmt, f"check-{fmt}")
    require_success("duckdb baseline (check)", base)
    result = compare(REPO / spark["warehouse"], REPO / base["warehouse"])
    result.update(scale=CHECK_SCALE, format=fmt)
    say("equality check: " + describe_check(result))
    for failure in result["failures"]:
        say(f"  {failure}")
    return result


def describe_check(check: dict) -> str:
    verdict = "PASS" if check["passed"] else "FAIL"
    return (f"{verdict} at scale {check['scale']:g} ({check['format']}): SUM of "
            f"{', '.join(check['measures'])} per fiscal year ({len(check['fiscal_years'])} years, "
            f"agg_customer_product_yearly) agree to a max relative difference of "
            f"{check['max_relative_difference']:.1e} (tolerance {check['tolerance']:.0e}); row counts of the "
            f"{len(OUTPUT_TABLES)} output tables {'equal' if check['row_counts_equal'] else 'DIFFER'}")


# --- the machine and the settings ----------------------------------------------------------------------

def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "ram_gb": round(psutil.virtual_memory().total / 2**30, 1), "cpu": cpu,
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version()}


def spark_settings() -> dict:
    from etl.config import Settings

    s = Settings.from_env()
    import pyspark

    try:
        java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    except (OSError, IndexError):
        java = "unknown"
    from etl.spark import driver_java_options

    return {"pyspark": pyspark.__version__, "java": java, "master": s.spark_master,
            "driver_memory": s.spark_driver_memory, "shuffle_partitions": s.shuffle_partitions,
            "class_archive": "SharedArchiveFile" in driver_java_options()}


def code_version() -> str:
    """The commit the ETL ran at, and whether etl/ or warehouse/ had uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "etl", "warehouse"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" with uncommitted changes in etl/ or warehouse/" if dirty else "")


def duckdb_settings(memory_limit: str | None = None) -> dict:
    import duckdb

    con = duckdb.connect()
    if memory_limit:
        con.execute("SET memory_limit = ?", [memory_limit])
    version, threads, memory = con.execute(
        "SELECT version(), current_setting('threads'), current_setting('memory_limit')").fetchone()
    con.close()
    return {"duckdb": version, "threads": threads, "memory_limit": memory, "memory_limit_set": bool(memory_limit)}


# --- reporting ---------------------------------------------------------------------------------------

HEADER = ("scale", "rows in", "spark s", "duckdb s", "ratio", "spark peak MB", "duckdb peak MB",
          "spark CPU s", "duckdb CPU s", "CPU ratio")


def table_rows(results: list[dict]) -> list[tuple]:
    return [(scale_name(r["scale"]), f"{r['rows_in']:,}", f"{r['spark']['seconds']:.1f}",
             f"{r['duckdb']['seconds']:.1f}", f"{r['ratio']:.1f}x", f"{r['spark']['peak_mb']:,.0f}",
             f"{r['duckdb']['peak_mb']:,.0f}", f"{r['spark']['cpu_seconds']:.0f}",
             f"{r['duckdb']['cpu_seconds']:.0f}", f"{r['cpu_ratio']:.1f}x") for r in results]


def print_table(results: list[dict]) -> None:
    rows = [HEADER, *table_rows(results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    for n, row in enumerate(rows):
        say("  ".join(c.rjust(w) for c, w in zip(row, widths)))
        if n == 0:
            say("  ".join("-" * w for w in widths))


def markdown_table(header, rows) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def _load(run: dict) -> str:
    return f"{run['other_load']:.1f}" if "other_load" in run else "?"


def paired(numerators: list[float], denominators: list[float]) -> str:
    """Each run's ratio to the run measured beside it in the same repeat, and their median:
    steadier than best against best when the machine's load changes between runs."""
    ratios = [a / b for a, b in zip(numerators, denominators) if b]
    if len(ratios) < 2:
        return "—"
    return f"{statistics.median(ratios):.2f} ({' / '.join(f'{x:.2f}' for x in ratios)})"


def noise_rows(results: list[dict]) -> list[tuple]:
    return [(scale_name(r["scale"]), " / ".join(f"{s:.1f}" for s in r["spark"].get("all_seconds", [])),
             " / ".join(f"{s:.1f}" for s in r["duckdb"].get("all_seconds", [])),
             paired(r["spark"].get("all_seconds", []), r["duckdb"].get("all_seconds", [])),
             _load(r["spark"]), _load(r["duckdb"])) for r in results]


def stage_rows(results: list[dict]) -> list[tuple]:
    names = ("spark", "extract", "validate", "transform", "load")
    rows = []
    for r in results:
        st = r["spark"]["stages"]
        accounted = sum(st.get(n, 0.0) for n in names)
        rows.append((scale_name(r["scale"]), *[f"{st.get(n, 0.0):.1f}" for n in names],
                     f"{r['spark']['seconds'] - accounted:.1f}", f"{r['spark']['seconds']:.1f}",
                     " / ".join(f"{r['duckdb']['stages'].get(n, 0.0):.1f}" for n in ("validate", "transform", "load"))))
    return rows


def incrementals(result: dict) -> list[tuple[str, dict]]:
    """(kind, run) of each incremental refresh measured in a result (older results hold
    only the latest complete year, under `spark_incremental`)."""
    runs = result.get("incremental") or {}
    if not runs and result.get("spark_incremental"):
        runs = {"complete": result["spark_incremental"]}
    return [(kind, runs[kind]) for kind in INCREMENTAL_KINDS if kind in runs]


def incremental_rows(results: list[dict]) -> list[tuple]:
    rows = []
    for r, kind, inc in ((r, kind, inc) for r in results for kind, inc in incrementals(r)):
        share = inc["rows_read"] / inc["rows_read_full"] if inc.get("rows_read_full") else None
        st = inc["stages"]
        rows.append((scale_name(r["scale"]), f"FY{inc['fiscal_year']} ({kind})",
                     f"{inc['rows_read']:,} ({share:.0%})" if share is not None else "?",
                     f"{r['spark']['seconds']:.1f}", f"{inc['seconds']:.1f}",
                     f"{inc['seconds'] / r['spark']['seconds']:.0%}",
                     " / ".join(f"{s:.1f}" for s in inc.get("all_seconds", [])),
                     paired(inc.get("all_seconds", []), r["spark"].get("all_seconds", [])), f"{inc['peak_mb']:,.0f}",
                     " / ".join(f"{st.get(n, 0.0):.1f}" for n in ("extract", "validate", "transform", "load"))))
    return rows


SERVED_HEADER = ("scale", "server ready s (start + warm-up)", "full s", "duckdb s", "ratio",
                 "ratio per run, median (each)", "CPU s", "CPU ratio", "peak MB", "incremental, year running",
                 "incremental, last complete year")


def served_rows(results: list[dict]) -> list[tuple]:
    rows = []
    for r in results:
        sv = r.get("served")
        if not sv:
            continue
        server = sv["server"]
        incs = dict(incrementals(sv))

        def inc(kind: str) -> str:
            run = incs.get(kind)
            if run is None:
                return "—"
            return (f"FY{run['fiscal_year']}: {run['seconds']:.1f} s = {run['seconds'] / sv['spark']['seconds']:.0%}; "
                    f"per run {paired(run.get('all_seconds', []), sv['spark'].get('all_seconds', []))}")

        rows.append((scale_name(r["scale"]),
                     f"{server['ready_seconds']:.1f} ({server['start_seconds']} + {server['warm_up_seconds']})",
                     " / ".join(f"{x:.1f}" for x in sv["spark"]["all_seconds"]),
                     " / ".join(f"{x:.1f}" for x in r["duckdb"].get("all_seconds", [])), f"{sv['ratio']:.1f}x",
                     paired(sv["spark"]["all_seconds"], r["duckdb"].get("all_seconds", [])),
                     f"{sv['spark']['cpu_seconds']:.0f}", f"{sv['cpu_ratio']:.1f}x", f"{sv['spark']['peak_mb']:,.0f}",
                     inc("current"), inc("complete")))
    return rows


def scaling_svg(results: list[dict], fmt: str) -> str:
    """Two log-log panels, seconds and peak MB against scale, as a plain SVG (no plotting library)."""
    import math

    series = {"spark full refresh": ("spark", "#d62728"),
              "spark incremental, year running": ("incremental_current", "#ff7f0e"),
              "spark incremental, last complete year": ("incremental_complete", "#9467bd"),
              "duckdb baseline": ("duckdb", "#1f77b4"),
              "spark full refresh on a warm server": ("served_full", "#2ca02c")}
    results = [dict(r, **{f"incremental_{kind}": inc for kind, inc in incrementals(r)},
                    served_full=(r.get("served") or {}).get("spark")) for r in results]
    scales = [r["scale"] for r in results]
    w, h, left, top, pw, ph = 820, 368, 70, 40, 300, 220

    def panel(x0: int, title: str, key: str, unit: str) -> list[str]:
        values = [r[k][key] for r in results for k, _ in series.values() if r.get(k)]
        lo, hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
        hi = max(hi, lo + 1)
        sx_lo, sx_hi = math.log10(min(scales)), math.log10(max(scales))
        sx_hi = sx_hi if sx_hi > sx_lo else sx_lo + 1

        def x(v):
            return x0 + (math.log10(v) - sx_lo) / (sx_hi - sx_lo) * pw

        def y(v):
            return top + ph - (math.log10(v) - lo) / (hi - lo) * ph

        out = [f'<text x="{x0 + pw / 2}" y="{top - 14}" text-anchor="middle" font-weight="bold">{title}</text>',
               f'<rect x="{x0}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>']
        for k in range(lo, hi + 1):
            for m in (1, 2, 5):
                v = m * 10 ** k
                if 10 ** lo <= v <= 10 ** hi:
                    out.append(f'<line x1="{x0}" x2="{x0 + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>')
                    out.append(f'<text x="{x0 - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:,g}</text>')
        for sc in scales:
            out.append(f'<text x="{x(sc):.1f}" y="{top + ph + 16}" text-anchor="middle">{sc:g}</text>')
        out.append(f'<text x="{x0 + pw / 2}" y="{top + ph + 34}" text-anchor="middle">scale (1 = 5.4M rows)</text>')
        out.append(f'<text x="{x0 - 48}" y="{top + ph / 2}" text-anchor="middle" '
                   f'transform="rotate(-90 {x0 - 48} {top + ph / 2})">{unit}</text>')
        for name, (k, colour) in series.items():
            pts = [(x(r["scale"]), y(r[k][key])) for r in results if r.get(k)]
            if pts:
                out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                           + " ".join(f"{a:.1f},{b:.1f}" for a, b in pts) + '"/>')
                out += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{colour}"/>' for a, b in pts]
        return out

    body = panel(left, f"Refresh time ({fmt.upper()} sources)", "seconds", "seconds (log)")
    body += panel(left + pw + 110, "Peak resident memory", "peak_mb", "MB (log)")
    for i, (name, (_, colour)) in enumerate(series.items()):  # two legend entries per row
        lx, ly = left + (i % 2) * 360, h - 52 + (i // 2) * 18
        body += [f'<rect x="{lx}" y="{ly - 6}" width="14" height="4" fill="{colour}"/>',
                 f'<text x="{lx + 20}" y="{ly}">{name}</text>']
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" '
            f'font-size="11">\n<rect width="{w}" height="{h}" fill="white"/>\n' + "\n".join(body) + "\n</svg>\n")


def render_section(store: dict) -> str:
    out = [START, "", "## Results", ""]
    out.append("_Written by `bench/etl.py`; rerun it to replace this section._")
    out.append("")
    by_format: dict[str, list[dict]] = {}
    for r in sorted(store["results"], key=lambda r: (r["format"], r["scale"])):
        by_format.setdefault(r["format"], []).append(r)
    for fmt, results in by_format.items():
        dates = sorted({r["date"] for r in results})
        m = results[-1]["machine"]
        sp = results[-1]["spark_settings"]
        dd = results[-1]["duckdb_settings"]
        out += [f"### {fmt.upper()} sources", ""]
        out.append(f"- Date: {', '.join(dates)}; machine: {m['nproc']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, "
                   f"{m['os']}, Python {m['python']}; shared with other people's work, so the times are noisy "
                   f"(see the load table below).")
        out.append(f"- Spark: pyspark {sp['pyspark']}, {sp['java']}, master `{sp['master']}`, driver memory "
                   f"{sp['driver_memory']}, `spark.sql.shuffle.partitions` {sp['shuffle_partitions']} "
                   f"(the other settings are those of `etl/spark.py` at the commit that ran: AQE off after "
                   f"1d0bb5e, on up to it; 64 MB broadcast threshold, ParallelGC, Arrow on); "
                   f"class archive (`python -m etl archive-classes`): "
                   f"{ {True: 'used', False: 'not used'}.get(sp.get('class_archive'), 'not yet, before it existed')}.")
        commits = ", ".join(sorted({r.get("code", "unknown") for r in results}))
        limits: dict[str, list[str]] = {}
        for r in results:
            d = r["duckdb_settings"]
            limits.setdefault(f"{d['memory_limit']}{'' if d.get('memory_limit_set') else ' (its default)'}",
                              []).append(scale_name(r["scale"]))
        limit_text = "; ".join(f"{limit} at scale {', '.join(scales)}" for limit, scales in limits.items())
        out.append(f"- DuckDB: {dd['duckdb']}, threads {dd['threads']}, memory_limit {limit_text}. "
                   f"ETL code: commit {commits}.")
        repeats = {r["repeat"] for r in results}
        out.append(f"- Times are wall-clock seconds of the whole subprocess (start-up included), best of "
                   f"{'/'.join(map(str, sorted(repeats)))} run(s); peak memory is the largest total resident "
                   f"set of the process tree (Python driver + JVM for Spark; a forked, not yet exec'd child counts "
                   f"with its own pages only) and CPU seconds are user + system time of the tree, both sampled "
                   f"every {SAMPLE_EVERY} s.")
        out.append("")
        out += markdown_table(HEADER, table_rows(results))
        out.append("")
        out.append("Every run's time, each Spark run's ratio to the DuckDB run of the same repeat (with two "
                   "or more runs; their median is steadier than best against best on a shared machine), and "
                   "how busy the rest of the machine was during the best run of each (CPU used by other "
                   f"processes, in cores, out of {m['nproc']}):")
        out.append("")
        out += markdown_table(("scale", "spark runs s", "duckdb runs s", "ratio per run, median (each)",
                               "other load, spark run", "other load, duckdb run"), noise_rows(results))
        out.append("")
        out.append("Where the Spark refresh's time goes (seconds, from the stage lines `python -m etl refresh` "
                   "prints; *other* is process start-up, imports and the final summary), and the "
                   "baseline's own stages:")
        out.append("")
        out += markdown_table(("scale", "spark start", "extract", "validate", "transform", "load", "other",
                               "spark total", "duckdb validate / transform / load"), stage_rows(results))
        out.append("")
        inc = incremental_rows(results)
        if inc:
            out.append("Incremental refresh: `python -m etl refresh --fiscal-years Y`, right after the full "
                       "refresh and into the warehouse it wrote (best of the same number of runs), for "
                       "*current*, the fiscal year still running (what a scheduled refresh recomputes as each "
                       "month's actuals arrive), and *complete*, the latest complete one. *rows in scope*: "
                       "source rows it read after the fiscal-year filter, and their share of the full "
                       "refresh's:")
            out.append("")
            out += markdown_table(("scale", "fiscal year", "rows in scope", "full s", "incremental s",
                                   "incremental / full", "incremental runs s", "share per run, median (each)",
                                   "peak MB", "extract / validate / transform / load"), inc)
            out.append("")
        served = served_rows(results)
        if served:
            out.append("The same refreshes run on a warm Spark server: `python -m etl spark-server` started once "
                       "per scale (its JVM start and its warm-up, a refresh of a tiny sample, are the first "
                       "column), then `python -m etl refresh --remote …` in each repeat, after the refreshes "
                       "above and before the baseline. *ratio*: best against best; per run, each against the "
                       "baseline run of its repeat. CPU seconds and peak memory count the server's JVM with "
                       "the client (the server's CPU during the run; its whole resident set). The incremental "
                       "refreshes: best time, share of the best full refresh on the server, and each run's "
                       "share of the full refresh of its repeat:")
            out.append("")
            out += markdown_table(SERVED_HEADER, served)
            out.append("")
        plot = DOC.parent / f"etl-scaling-{fmt}.svg"
        plotted = [r for r in results if incrementals(r)]  # runs of this bench's current shape
        if len(plotted) > 1:
            plot.write_text(scaling_svg(plotted, fmt))
            out.append(f"How time and peak memory grow with scale: [{plot.name}]({plot.name})")
            out.append("")
            out.append(f"![Refresh time and peak memory against scale, {fmt.upper()} sources]({plot.name})")
            out.append("")
    checks = store.get("checks", {})
    if checks:
        out += ["### Equality check", ""]
        for fmt, check in sorted(checks.items()):
            out.append(f"- {describe_check(check)} (run {check['date']}).")
            out += [f"  - {f}" for f in check["failures"]]
        out.append("")
    out.append(END)
    return "\n".join(out)


def update_doc(store: dict) -> None:
    section = render_section(store)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


def load_store() -> dict:
    if RESULTS.exists():
        try:
            return json.loads(RESULTS.read_text())
        except json.JSONDecodeError:
            pass
    return {"results": [], "checks": {}}


# --- main ------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Time the Spark refresh against plain DuckDB SQL on the same files.")
    p.add_argument("--scales", type=float, nargs="+", default=[1, 10])
    p.add_argument("--format", choices=("csv", "parquet"), default="csv")
    p.add_argument("--repeat", type=int, default=1, help="runs per contender and scale; the best time counts")
    p.add_argument("--incremental", nargs="+", choices=tuple(INCREMENTAL_KINDS), default=list(INCREMENTAL_KINDS),
                   help="which fiscal years to time an incremental refresh of, after each full one")
    p.add_argument("--no-spark-server", action="store_true",
                   help="skip the refreshes run on a warm Spark server (`python -m etl spark-server`)")
    p.add_argument("--no-check", action="store_true", help="skip the scale-0.01 equality check")
    p.add_argument("--no-doc", action="store_true", help="do not rewrite the section of docs/performance.md")
    p.add_argument("--duckdb-memory-limit", help="memory_limit for the baseline, e.g. 4GB (default: DuckDB's, "
                   "80%% of RAM)")
    args = p.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)

    store = load_store()
    store.setdefault("checks", {})
    today = dt.date.today().isoformat()
    info, sp, dd, code = machine(), spark_settings(), duckdb_settings(args.duckdb_memory_limit), code_version()
    say(f"machine: {info['nproc']} cores, {info['ram_gb']} GB RAM; spark {sp}; duckdb {dd}")

    if not args.no_check:
        check = equality_check(args.format)
        check["date"] = today
        store["checks"][args.format] = check

    results = []
    for scale in args.scales:
        folder, counts = dataset(scale, args.format)
        warm_page_cache(folder)
        load_before = os.getloadavg()[0]
        spark_runs, duck_runs, served_runs = [], [], []
        inc_runs: dict[str, list[dict]] = {kind: [] for kind in args.incremental}
        served_inc: dict[str, list[dict]] = {kind: [] for kind in args.incremental}
        server = None
        if not args.no_spark_server:
            say(f"scale {scale_name(scale)} ({args.format}): starting a Spark server (with its warm-up) ...")
            server = SparkServer(f"{scale_name(scale)}-{args.format}")
            say(f"  ready in {server.ready_seconds:.1f} s (JVM {server.start_seconds} s, warm-up "
                f"{server.warm_up_seconds} s)")
        try:
            for i in range(args.repeat):
                tag = f"{scale_name(scale)}-{args.format}-{i + 1}"
                label = f"scale {scale_name(scale)} ({args.format}), run {i + 1}/{args.repeat}"
                refresh_and_incrementals(label, "spark refresh", lambda suffix, years: spark_run(
                    folder, scale, args.format, tag + suffix, years), spark_runs, inc_runs)
                if server is not None:
                    refresh_and_incrementals(label, "refresh on the Spark server", lambda suffix, years: spark_run(
                        folder, scale, args.format, tag + suffix, years, server), served_runs, served_inc)
                say(f"scale {scale_name(scale)} ({args.format}), run {i + 1}/{args.repeat}: duckdb baseline ...")
                duck_runs.append(duckdb_run(folder, scale, args.format, tag, args.duckdb_memory_limit))
                require_success("duckdb baseline", duck_runs[-1])
                say(f"  duckdb {duck_runs[-1]['seconds']:.1f} s, peak {duck_runs[-1]['peak_mb']:,.0f} MB; "
                    f"stages {duck_runs[-1]['stages']}")
        finally:  # a failed run must not leave the server's JVM behind
            if server is not None:
                server.stop()

        def best_of(runs: list[dict]) -> dict:
            best = dict(min(runs, key=lambda r: r["seconds"]))
            best["all_seconds"] = [round(r["seconds"], 2) for r in runs]
            best["peak_mb"] = max(r["peak_mb"] for r in runs)
            best.pop("tail", None)
            return best

        best_spark, best_duck = best_of(spark_runs), best_of(duck_runs)
        best_inc = {kind: best_of(runs) for kind, runs in inc_runs.items()}
        served = None
        if server is not None:
            best_served = best_of(served_runs)
            served = {"spark": best_served, "incremental": {kind: best_of(runs) for kind, runs in served_inc.items()},
                      "ratio": best_served["seconds"] / best_duck["seconds"],
                      "cpu_ratio": best_served["cpu_seconds"] / max(best_duck["cpu_seconds"], 1e-9),
                      "server": {"ready_seconds": server.ready_seconds, "start_seconds": server.start_seconds,
                                 "warm_up_seconds": server.warm_up_seconds}}
        results.append({"scale": scale, "format": args.format, "rows_in": sum(counts.values()),
                        "rows_by_table": counts, "repeat": args.repeat, "date": today,
                        "load_before": load_before, "spark": best_spark, "duckdb": best_duck,
                        "ratio": best_spark["seconds"] / best_duck["seconds"],
                        "incremental": best_inc, "served": served,
                        "cpu_ratio": best_spark["cpu_seconds"] / max(best_duck["cpu_seconds"], 1e-9),
                        "machine": info, "spark_settings": sp, "duckdb_settings": dd, "code": code})

    say("")
    say(f"format {args.format}; best of {args.repeat}; ratio = spark seconds / duckdb seconds")
    print_table(results)
    for r in results:
        if r["repeat"] > 1:
            say(f"scale {scale_name(r['scale'])}: ratio per run, median (each): "
                f"{paired(r['spark']['all_seconds'], r['duckdb']['all_seconds'])}")
    for r, kind, inc in ((r, kind, inc) for r in results for kind, inc in incrementals(r)):
        say(f"scale {scale_name(r['scale'])}: incremental refresh of FY{inc['fiscal_year']} ({kind}) "
            f"{inc['seconds']:.1f} s = {inc['seconds'] / r['spark']['seconds']:.0%} of the full refresh "
            f"({inc['rows_read']:,} of "
            f"{inc['rows_read_full']:,} rows in scope)")
    for r in results:
        if r.get("served"):
            sv = r["served"]
            say(f"scale {scale_name(r['scale'])}: on a warm Spark server {sv['spark']['seconds']:.1f} s, "
                f"{sv['ratio']:.1f}x the baseline (ratio per run, median (each): "
                f"{paired(sv['spark']['all_seconds'], r['duckdb']['all_seconds'])}); CPU {sv['cpu_ratio']:.1f}x")
            for kind, inc in incrementals(sv):
                say(f"scale {scale_name(r['scale'])}: on the server, incremental refresh of FY{inc['fiscal_year']} "
                    f"({kind}) {inc['seconds']:.1f} s = {inc['seconds'] / sv['spark']['seconds']:.0%} of its full "
                    f"refresh (per run, median (each): {paired(inc['all_seconds'], sv['spark']['all_seconds'])})")
    if not args.no_check:
        say("equality check: " + describe_check(store["checks"][args.format]))

    kept = [r for r in store["results"]
            if (r["scale"], r["format"]) not in {(n["scale"], n["format"]) for n in results}]
    store["results"] = kept + results
    store["updated"] = dt.datetime.now().isoformat(timespec="seconds")
    RESULTS.write_text(json.dumps(store, indent=2))
    say(f"results: {RESULTS.relative_to(REPO)}")
    if not args.no_doc:
        update_doc(store)
        say(f"section updated in {DOC.relative_to(REPO)}")
    check = store["checks"].get(args.format)
    return 0 if check is None or check["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
