"""How figures read to an executive: money in K/M/B, percentages, fiscal-year
labels, months in fiscal order; and CSV exports that are safe to open."""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import unicodedata

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
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT


def _compact(value, prefix: str = "") -> str:
    """A number in K/M/B with three significant digits or so: 1.23K, 45.6M, 789.
    The unit is chosen after rounding, so 999,999 reads 1.00M, not 1000.0K."""
    if _missing(value):
        return "–"
    size_of = abs(float(value))
    text = f"{size_of:,.0f}"
    if round(size_of) >= 1000:
        for size, suffix in ((1e3, "K"), (1e6, "M"), (1e9, "B")):
            scaled = size_of / size
            text = f"{scaled:.{2 if round(scaled, 2) < 10 else 1}f}{suffix}"
            if round(scaled, 1) < 1000:
                break
    zero = not any(c in "123456789" for c in text)
    return f"{'-' if value < 0 and not zero else ''}{prefix}{text}"


def money(value, currency: str = "$") -> str:
    """$1.23B, $45.6M, $789K, $12."""
    return _compact(value, currency)


def quantity(value) -> str:
    """1.23M, 45.6K, 789 units."""
    return _compact(value)


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
    # RFC 4180's line ends: the csv module quotes a cell holding any character of
    # the line terminator, so with "\r\n" a carriage return inside a cell is
    # quoted too (with "\n" alone it was written bare and split the row).
    writer = csv.writer(out, lineterminator="\r\n")
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
    name = "_".join(p for p in map(_file_safe, parts) if p)
    return name[:200] + ".csv"


def _file_safe(part) -> str:
    """Letters, digits, dots and dashes only: accents dropped (São -> Sao),
    anything else, and runs of dots (..), become one dash."""
    text = unicodedata.normalize("NFKD", str(part)).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9.]+|\.{2,}", "-", text)
    return re.sub(r"-{2,}", "-", text).strip("-.")
