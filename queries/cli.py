"""`python -m queries list` and `python -m queries run NAME [filters] [--format table|csv|json]`."""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
import textwrap

import pyarrow as pa

from queries.catalog import catalog
from queries.runner import FILTERS, QueryError, caveats, run
from warehouse import WarehouseError, connect

PERCENT_COLUMNS = ("_pct", "forecast_accuracy", "net_sales_share")


def _is_percent(column: str) -> bool:
    return column.endswith(PERCENT_COLUMNS)


# A statement with one measure per row (the P&L's `line`, the KPIs' and the
# top-N's `measure`) prints these amounts as that row's measure: the gm_pct
# line's this_year is a percentage, the sold_quantity line's a quantity.
ROW_MEASURE_COLUMNS = ("line", "measure")
ROW_AMOUNT_COLUMNS = ("this_year", "last_year", "change", "value", "last_year_value")


def _measure_of(column: str, row: dict) -> str:
    """What the cell in `column` of `row` measures."""
    if column in ROW_AMOUNT_COLUMNS:
        for label in ROW_MEASURE_COLUMNS:
            if row.get(label):
                return str(row[label])
    return column


def _cell(column: str, value, row: dict) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        measure = _measure_of(column, row)
        if _is_percent(measure):
            return f"{value:.1%}"
        quantity = "quantity" in measure or measure.endswith("_error")  # forecast errors are in units
        return f"{value:,.0f}" if quantity and value.is_integer() else f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool) and column not in ("fiscal_year", "rank"):
        return f"{value:,}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def render_table(table: pa.Table) -> str:
    rows = table.to_pylist()
    columns = table.column_names
    cells = [[_cell(c, r[c], r) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    numeric = [pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t) for t in table.schema.types]

    def line(values):
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric)).rstrip()

    out = [line(columns), line(["-" * w for w in widths])] + [line(row) for row in cells]
    if not rows:
        out.append("(no data for these filters)")
    return "\n".join(out)


def write_csv(table: pa.Table, stream) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in table.to_pylist():
        writer.writerow(["" if v is None else v.isoformat() if isinstance(v, dt.date) else v for v in row.values()])


def write_json(table: pa.Table, stream) -> None:
    json.dump(table.to_pylist(), stream, default=lambda v: v.isoformat() if isinstance(v, dt.date) else str(v),
              indent=1)
    stream.write("\n")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m queries", description="Answer BIMS's business questions.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the named queries and the filters each takes")
    r = sub.add_parser("run", help="run a named query")
    r.add_argument("name")
    r.add_argument("--warehouse", help="warehouse URL (default: $BIMS_WAREHOUSE or duckdb:///data/bims.duckdb)")
    r.add_argument("--format", choices=("table", "csv", "json"), default="table")
    for name in FILTERS:
        flag = "--" + name.replace("_", "-")
        r.add_argument(flag, dest=name, metavar=name.upper().replace("_", "-"),
                       help="customer name or code" if name == "customer" else None)
    return p


def cmd_list() -> int:
    for query in catalog().values():
        print(query.name)
        print(textwrap.fill(query.description, 88, initial_indent="    ", subsequent_indent="    "))
        takes = ", ".join("--" + p.replace("_", "-") for p in query.params)
        print(textwrap.fill(f"takes: {takes}", 88, initial_indent="    ", subsequent_indent="        "))
        if query.dimensions:
            default = query.defaults.get("dimension")
            dimensions = ", ".join(query.dimensions) + (f" (default: {default})" if default else "")
            print(textwrap.fill(f"--dimension: {dimensions}", 88, initial_indent="    ",
                                subsequent_indent="        "))
    return 0


def cmd_run(args) -> int:
    filters = {name: getattr(args, name) for name in FILTERS}
    try:
        warehouse = connect(args.warehouse)
        table = run(warehouse, args.name, **filters)
        notes = caveats(warehouse, args.name)
    except QueryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except WarehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.format == "csv":
        write_csv(table, sys.stdout)
    elif args.format == "json":
        write_json(table, sys.stdout)
    else:
        print(render_table(table))
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return cmd_list() if args.command == "list" else cmd_run(args)
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
