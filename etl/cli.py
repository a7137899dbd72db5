"""`python -m etl generate | refresh | status | archive-classes`."""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import time
import traceback
from pathlib import Path

from etl.config import Settings
from etl.spark import LOG_DIR

EXIT_FAILED = 1
EXIT_USAGE = 2


def _say(line: str) -> None:
    print(line, flush=True)


def _log_traceback() -> Path:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    path = LOG_DIR / "etl.log"
    with open(path, "a") as f:
        f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')}\n{traceback.format_exc()}\n")
    return path


def cmd_generate(args) -> int:
    from etl.generate import generate

    started = time.monotonic()
    counts = generate(args.out, scale=args.scale, seed=args.seed, layout=args.layout, fmt=args.format,
                      inject_errors=args.inject_errors, progress=lambda line: _say(f"  {line}"))
    _say(f"wrote {len(counts)} tables, {sum(counts.values()):,} rows to {args.out} "
         f"in {time.monotonic() - started:.1f} s")
    return 0


def _print_summary(summary) -> None:
    from etl.validate import RULES

    _say("")
    _say(f"{'table':<28}{'read':>12}{'rejected':>10}")
    for table, read in summary.rows_read.items():
        _say(f"{table:<28}{read:>12,}{summary.rows_rejected.get(table, 0):>10,}")
    if summary.rejected_by_rule:
        _say("rejected by rule: " + ", ".join(
            f"{rule} (rule {RULES[rule][0]}) {n:,}" for rule, n in sorted(summary.rejected_by_rule.items())))
    if summary.rows_written:
        _say(f"\n{'written':<28}{'rows':>12}")
        for table, n in summary.rows_written.items():
            _say(f"{table:<28}{n:>12,}")


def cmd_refresh(args) -> int:
    from etl.pipeline import StagingNotShared, refresh
    from etl.spark import JavaMissing, SparkServerUnreachable
    from etl.extract import SourceError
    from etl.validate import RejectLimitExceeded
    from warehouse import WarehouseError

    settings = Settings.from_env(warehouse_url=args.warehouse, spark_master=args.master,
                                 spark_remote=args.remote, fiscal_years=tuple(args.fiscal_years or ()))
    if args.master:  # --master on the command line wins over SPARK_REMOTE in the environment
        settings = dataclasses.replace(settings, spark_remote=None)
    scope = "fiscal years " + " ".join(map(str, settings.fiscal_years)) if settings.fiscal_years else "all fiscal years"
    _say(f"BIMS refresh: {args.source} -> {settings.warehouse_url} ({scope})")
    try:
        summary = refresh(args.source, settings, show=lambda line: _say(f"  {line}"))
    except (JavaMissing, SparkServerUnreachable) as exc:
        _say(f"error: {exc}")
        return EXIT_FAILED
    except (SourceError, RejectLimitExceeded, StagingNotShared, WarehouseError) as exc:
        _say(f"error: refresh failed: {exc}")
        return EXIT_FAILED
    except Exception as exc:  # anything else: one line here, the traceback in the log
        log = _log_traceback()
        _say(f"error: refresh failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
             f"the warehouse was left as it was; details in {log}")
        return EXIT_FAILED
    _print_summary(summary)
    _say(f"\nrun {summary.run_id} {summary.status} in {summary.seconds:.1f} s")
    return 0


def cmd_status(args) -> int:
    from warehouse import WarehouseError, connect

    try:
        runs = connect(args.warehouse).read(
            "SELECT run_id, status, started_at, seconds, fiscal_years, rows_read, rows_rejected, rows_written, "
            "source, message FROM etl_runs ORDER BY started_at DESC LIMIT ?", [args.limit]).to_pylist()
    except WarehouseError as exc:
        _say(f"error: {exc}")
        return EXIT_FAILED
    if not runs:
        _say("no runs recorded yet")
        return 0
    _say(f"{'run':<24}{'status':<11}{'started (UTC)':<21}{'seconds':>8}  {'years':<10}{'read':>12}"
         f"{'rejected':>10}{'written':>11}  source")
    for r in runs:
        _say(f"{r['run_id']:<24}{r['status']:<11}{r['started_at']:%Y-%m-%d %H:%M:%S}  {r['seconds'] or 0:>7.1f}  "
             f"{r['fiscal_years'] or '':<10}{r['rows_read'] or 0:>12,}{r['rows_rejected'] or 0:>10,}"
             f"{r['rows_written'] or 0:>11,}  {r['source']}")
        if r["status"] != "succeeded" and r["message"]:
            _say(f"    {r['message']}")
    return 0


def cmd_spark_server(args) -> int:
    from etl.spark import JavaMissing
    from etl.spark_server import ServerFailed, serve

    settings = dataclasses.replace(Settings.from_env(spark_master=args.master), spark_remote=None)
    try:
        return serve(args.host, args.port, settings, warm=not args.no_warm_up, show=_say)
    except (JavaMissing, ServerFailed) as exc:
        _say(f"error: {exc}")
        return EXIT_FAILED
    except Exception as exc:  # the warm-up's refresh failed, say: one line here, the traceback in the log
        log = _log_traceback()
        _say(f"error: the Spark server stopped ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
             f"details in {log}")
        return EXIT_FAILED


def cmd_archive_classes(args) -> int:
    from etl.class_archive import build, prune
    from etl.spark import NO_JAVA, archive_usable, class_archive

    target = Path(args.out) if args.out else class_archive()
    if target is None:
        _say(f"error: {NO_JAVA}")
        return EXIT_FAILED
    # Only in the cache folder BIMS names archives in: a path given by hand is the user's.
    if not args.out and not os.environ.get("BIMS_CLASS_ARCHIVE"):
        removed, size = prune(target.parent, keep=target)
        if removed:
            _say(f"removed {removed} archive(s) of pyspark installs that are gone ({size / 2**20:,.0f} MB) "
                 f"from {target.parent}")
    usable = archive_usable(target)
    if args.if_missing and usable:
        return 0
    if target.is_file() and not usable:
        _say(f"BIMS: Java no longer maps the class archive {target} (its pyspark install was made again or "
             f"changed): building it again")
    started = time.monotonic()
    _say(f"BIMS: archiving the classes Spark loads, for faster starts -> {target}")
    try:
        build(target, show=lambda line: _say(f"  {line}"))
    except Exception as exc:  # the archive only saves time: say why, keep going without it
        log = _log_traceback()
        _say(f"error: no class archive ({type(exc).__name__}: {exc}); refreshes run without it; details in {log}")
        return EXIT_FAILED
    _say(f"wrote {target} ({target.stat().st_size / 2**20:,.0f} MB) in {time.monotonic() - started:.1f} s")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m etl", description="BIMS ETL: sample data, refresh, run history.")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write a sample AtliQ-shaped dataset")
    g.add_argument("--out", required=True, help="folder to write the tables into")
    g.add_argument("--scale", type=float, default=1.0, help="1 = the real dataset's size (default 1)")
    g.add_argument("--seed", type=int, default=7)
    g.add_argument("--layout", choices=("full", "adhoc"), default="full")
    g.add_argument("--format", choices=("csv", "parquet"), default="csv")
    g.add_argument("--inject-errors", action="store_true", help="add rows that break each business rule")
    g.set_defaults(run=cmd_generate)

    r = sub.add_parser("refresh", help="validate, transform and load a source into the warehouse")
    r.add_argument("--source", required=True, help="folder or s3://bucket/prefix holding the tables")
    r.add_argument("--warehouse", help="warehouse URL (default: $BIMS_WAREHOUSE or duckdb:///data/bims.duckdb)")
    r.add_argument("--fiscal-years", type=int, nargs="+", metavar="Y",
                   help="recompute and replace only these fiscal years")
    on = r.add_mutually_exclusive_group()
    on.add_argument("--master", help="Spark master (default: $SPARK_MASTER or local[*])")
    on.add_argument("--remote", metavar="sc://HOST:PORT",
                    help="run on this Spark Connect server instead, e.g. one `spark-server` started "
                         "(default: $SPARK_REMOTE)")
    r.set_defaults(run=cmd_refresh)

    v = sub.add_parser("spark-server", help="run a Spark Connect server that refreshes run on (--remote): "
                                            "its JVM stays warm, so each refresh takes less time")
    v.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    v.add_argument("--port", type=int, default=15002, help="port to listen on (default 15002)")
    v.add_argument("--master", help="Spark master it runs on (default: $SPARK_MASTER or local[*])")
    v.add_argument("--no-warm-up", action="store_true", help="skip the refresh of a tiny sample it starts with")
    v.set_defaults(run=cmd_spark_server)

    a = sub.add_parser("archive-classes", help="archive the classes Spark loads, so refreshes start faster")
    a.add_argument("--out", help="where to write it (default: $BIMS_CLASS_ARCHIVE or the user's cache folder)")
    a.add_argument("--if-missing", action="store_true",
                   help="do nothing when a usable archive is already there (one Java no longer maps is built again)")
    a.set_defaults(run=cmd_archive_classes)

    s = sub.add_parser("status", help="list recent refreshes")
    s.add_argument("--warehouse", help="warehouse URL")
    s.add_argument("--limit", type=int, default=10)
    s.set_defaults(run=cmd_status)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(message)s")
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        _say("interrupted; the warehouse was left as it was")
        return 130
    except ValueError as exc:
        _say(f"error: {exc}")
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
