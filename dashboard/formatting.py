"""How figures read to an executive: money in K/M/B, percentages, fiscal-year
labels, months in fiscal order; and CSV exports that are safe to open."""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re

import pandas as pd

# Columns holding shares and rates, shown as percentages.
PERCENT_SUFFIXES = ("_pct", "_share", "forecast_accuracy", "last_year_forecast_accuracy")
QUANTITY_COLUMNS = ("sold_quantity", "forecast_quantity", "net_error", "abs_error", "rows_read",
                    "rows_rejected", "rows_written", "findings", "variants", "products", "markets")


def is_percent(column: str) -> bool:
    return column.endswith(PERCENT_SUFFIXES)


def is_quantity(column: str) -> bool:
    return column in QUANTITY_COLUMNS or column.endswith("_quantity")


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def money(value, currency: str = "$") -> str:
    """$1.23B, $45.6M, $789K, $12."""
    if _missing(value):
        return "–"
    sign = "-" if value < 0 else ""
    value = abs(float(value))
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if value >= size:
            return f"{sign}{currency}{value / size:.{2 if value / size < 10 else 1}f}{suffix}"
    return f"{sign}{currency}{value:,.0f}"


def quantity(value) -> str:
    """1.23M, 45.6K, 789 units."""
    if _missing(value):
        return "–"
    sign = "-" if value < 0 else ""
    value = abs(float(value))
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if value >= size:
            return f"{sign}{value / size:.{2 if value / size < 10 else 1}f}{suffix}"
    return f"{sign}{value:,.0f}"


def percent(value, digits: int = 1) -> str:
    if _missing(value):
        return "–"
    return f"{float(value):.{digits}%}"


def points(value) -> str:
    """A change of a percentage, in percentage points."""
    if _missing(value):
        return "–"
    return f"{float(value) * 100:+.1f} pts"


def signed_percent(value) -> str:
    if _missing(value):
        return "–"
    return f"{float(value):+.1%}"


def fiscal_year(year) -> str:
    return "–" if _missing(year) else f"FY{int(year)}"


def month(value) -> str:
    """Sep 2020."""
    if _missing(value):
        return "–"
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return value.strftime("%b %Y")


def fiscal_month_names(start_month: int = 9) -> list[str]:
    """Month names in fiscal order: Sep, Oct, ... Aug."""
    return [dt.date(2000, (start_month - 1 + i) % 12 + 1, 1).strftime("%b") for i in range(12)]


def title(column: str) -> str:
    """A column's heading: net_sales -> Net sales, gm_pct -> GM %."""
    special = {"gm_pct": "GM %", "yoy_growth_pct": "YoY growth", "abs_error_pct": "Abs error %",
               "net_sales_share": "Share of net sales", "cogs": "COGS", "fiscal_year": "Fiscal year",
               "sub_zone": "Sub-zone", "change_pct": "Change %", "rejected_pct": "Rejected %"}
    if column in special:
        return special[column]
    text = column.replace("_pct", " %").replace("_", " ")
    return text[:1].upper() + text[1:]


# --- CSV export -------------------------------------------------------------

# A spreadsheet runs a cell beginning with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A cell that cannot run as a formula in a spreadsheet (OWASP's advice:
    prefix a quote). Numbers stay numbers: only text is touched."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(frame: pd.DataFrame) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([neutralise(str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False):
        writer.writerow(["" if _missing(v) else neutralise(v.isoformat() if isinstance(v, (dt.date, dt.datetime))
                                                           else v) for v in row])
    return out.getvalue()


def export_filename(view: str, chart: str, filters: dict, params: dict | None = None) -> str:
    """bims_sales_net-sales-by-month_FY2021_region-APAC_market-India.csv"""
    parts = ["bims", view, chart]
    for name, value in {**filters, **(params or {})}.items():
        if value in (None, ""):
            continue
        parts.append(fiscal_year(value) if name == "fiscal_year" else f"{name}-{value}")
    name = "_".join(re.sub(r"[^A-Za-z0-9.-]+", "-", str(p)).strip("-") for p in parts)
    return name[:200] + ".csv"
