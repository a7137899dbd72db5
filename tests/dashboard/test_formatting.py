"""How figures read (dashboard/formatting.py), and CSV exports that are safe to
open in a spreadsheet. Every expected value is written out by hand."""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re

import numpy as np
import pandas as pd
import pytest

from dashboard import formatting as fmt


@pytest.mark.parametrize("value, expected", [
    (1234, "$1.23K"), (12_345_678, "$12.3M"), (2.5e9, "$2.50B"), (-1500, "-$1.50K"),
    (0, "$0"), (12, "$12"), (999.4, "$999"), (123_456, "$123.5K"), (45_600_000, "$45.6M"),
    # The unit follows the rounding: never "1000.0K" or "10.00K".
    (999_999, "$1.00M"), (9_999, "$10.0K"), (999.6, "$1.00K"), (999_960_000, "$1.00B"),
    (-0.4, "$0"), (np.int64(-2_500_000), "-$2.50M"),
    (None, "–"), (math.nan, "–"), (np.float64("nan"), "–"), (pd.NA, "–"),
])
def test_money(value, expected):
    assert fmt.money(value) == expected


def test_money_in_another_currency_and_quantities():
    assert fmt.money(1234, "€") == "€1.23K"
    assert fmt.quantity(1_234_567) == "1.23M"
    assert fmt.quantity(-45_600) == "-45.6K"
    assert fmt.quantity(789) == "789"
    assert fmt.quantity(None) == "–"


@pytest.mark.parametrize("function, value, expected", [
    (fmt.percent, 0.1234, "12.3%"), (fmt.percent, 1, "100.0%"), (fmt.percent, -0.05, "-5.0%"),
    (fmt.percent, None, "–"), (fmt.percent, math.nan, "–"),
    (fmt.points, 0.012, "+1.2 pts"), (fmt.points, -0.034, "-3.4 pts"), (fmt.points, 0, "+0.0 pts"),
    (fmt.points, None, "–"),
    (fmt.signed_percent, 0.05, "+5.0%"), (fmt.signed_percent, -0.1234, "-12.3%"), (fmt.signed_percent, 0, "+0.0%"),
    (fmt.signed_percent, math.nan, "–"),
])
def test_percentages(function, value, expected):
    assert function(value) == expected


def test_percent_digits():
    assert fmt.percent(0.5, 0) == "50%"
    assert fmt.percent(0.12345, 2) == "12.35%"


def test_fiscal_labels_and_months():
    assert fmt.fiscal_year(2021) == "FY2021"
    assert fmt.fiscal_year(np.int32(2020)) == "FY2020"
    assert fmt.fiscal_year(None) == "–"
    assert fmt.month(dt.date(2020, 9, 1)) == "Sep 2020"
    assert fmt.month("2021-08-01") == "Aug 2021"
    names = fmt.fiscal_month_names(9)
    assert names == ["Sep", "Oct", "Nov", "Dec", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug"]
    assert fmt.fiscal_month_names(1)[0] == "Jan" and fmt.fiscal_month_names(1)[-1] == "Dec"


# --- CSV export -------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+1 555", "'+1 555"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("a=b", "a=b"), ("Croma", "Croma"), ("NA", "NA"), ("", ""),
    (-5, -5), (-1.5, -1.5), (0, 0),
])
def test_neutralise(value, expected):
    result = fmt.neutralise(value)
    assert result == expected
    assert type(result) is type(expected)


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_to_csv_neutralises_formulas_and_leaves_numbers_alone():
    frame = pd.DataFrame({
        "customer": ['=HYPERLINK("http://evil.example","Click")', "-2+3", "+1 555", "@SUM(A1:A2)", "\tTab", "\rCR",
                     "Croma"],
        "region": ["NA", "APAC", "EU", "LATAM", "NA", "APAC", None],
        "net_sales": [-1500.5, 1234.0, math.nan, 0.25, -7.0, 1e6, 2.0],
        "sold_quantity": [-3, 7, 0, 12, -1, 5, 4],
        "month": [dt.date(2020, 9, 1), dt.date(2021, 8, 1), None, dt.date(2021, 1, 1), dt.date(2021, 2, 1),
                  dt.date(2021, 3, 1), dt.date(2021, 4, 1)],
    })
    text = fmt.to_csv(frame)
    assert text.splitlines()[0] == "customer,region,net_sales,sold_quantity,month"
    assert _rows(text) == [
        ["customer", "region", "net_sales", "sold_quantity", "month"],
        ["'=HYPERLINK(\"http://evil.example\",\"Click\")", "NA", "-1500.5", "-3", "2020-09-01"],
        ["'-2+3", "APAC", "1234.0", "7", "2021-08-01"],
        ["'+1 555", "EU", "", "0", ""],
        ["'@SUM(A1:A2)", "LATAM", "0.25", "12", "2021-01-01"],
        ["'\tTab", "NA", "-7.0", "-1", "2021-02-01"],
        ["'\rCR", "APAC", "1000000.0", "5", "2021-03-01"],
        ["Croma", "", "2.0", "4", "2021-04-01"],
    ]
    # In the raw text too: the formula is quoted, the negative numbers are bare.
    assert "\r\n\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"Click\"\")\",NA,-1500.5,-3,2020-09-01\r\n" in text
    # A carriage return inside a cell is quoted, so it cannot split the row.
    assert "\r\n\"'\rCR\",APAC," in text


def test_to_csv_headers_timestamps_and_missing_values():
    frame = pd.DataFrame({
        "=cmd": ["x"],
        "finished_at": [pd.Timestamp("2021-09-01 06:30:00")],
        "started_at": [pd.NaT],
        "note": [pd.NA],
    }).astype({"note": "string"})
    assert fmt.to_csv(frame) == "'=cmd,finished_at,started_at,note\r\nx,2021-09-01T06:30:00,,\r\n"


def test_to_csv_of_an_empty_frame_is_its_header():
    assert fmt.to_csv(pd.DataFrame(columns=["market", "net_sales"])) == "market,net_sales\r\n"


def test_export_filename_names_view_chart_year_and_filters():
    name = fmt.export_filename("sales", "net sales by month",
                               {"fiscal_year": 2021, "region": "APAC", "market": "India", "customer": None},
                               {"n": "10"})
    assert name == "bims_sales_net-sales-by-month_FY2021_region-APAC_market-India_n-10.csv"


def test_export_filename_is_safe_for_any_member_name():
    name = fmt.export_filename("top-n", "top customers", {
        "fiscal_year": 2022, "market": "São Paulo/../x", "customer": 'a\\b:c*d?"e<f>g|h', "division": "P & A",
    })
    assert name == "bims_top-n_top-customers_FY2022_market-Sao-Paulo-x_customer-a-b-c-d-e-f-g-h_division-P-A.csv"
    assert re.fullmatch(r"[A-Za-z0-9._-]+", name)
    assert ".." not in name and "/" not in name and "\\" not in name


def test_export_filename_is_bounded():
    name = fmt.export_filename("sales", "pnl", {"customer": "x" * 500})
    assert len(name) == 204 and name.endswith(".csv")
