"""`python -m dashboard [--host 127.0.0.1] [--port 8050]`: serve the dashboard."""
from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description="Serve the BIMS dashboard.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8050)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from dashboard.app import app  # noqa: PLC0415
    from dashboard import data  # noqa: PLC0415

    print(f"BIMS dashboard on http://{args.host}:{args.port}  (warehouse {data.settings().warehouse_url}; "
          "Ctrl+C stops it)", flush=True)
    app.run(host=args.host, port=args.port, debug=data.settings().debug)
    return 0


if __name__ == "__main__":
    sys.exit(main())
