"""`python -m dashboard [--host 127.0.0.1] [--port 8050]`: serve the dashboard.
`python -m dashboard users add|remove|list|set-password|demo ...`: manage who may sign in."""
from __future__ import annotations

import argparse
import logging
import sys


def serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description="Serve the BIMS dashboard.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8050)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from dashboard.config import ConfigError  # noqa: PLC0415

    try:
        from dashboard.app import app  # noqa: PLC0415
    except ConfigError as exc:
        print(f"The dashboard cannot start: {exc}", file=sys.stderr)
        return 2
    from dashboard import data  # noqa: PLC0415

    print(f"BIMS dashboard on http://{args.host}:{args.port}  (warehouse {data.settings().warehouse_url}; "
          "Ctrl+C stops it)", flush=True)
    app.run(host=args.host, port=args.port, debug=data.settings().debug)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["users"]:
        from dashboard.users_cli import main as users  # noqa: PLC0415

        return users(argv[1:])
    return serve(argv[1:] if argv[:1] == ["serve"] else argv)


if __name__ == "__main__":
    sys.exit(main())
