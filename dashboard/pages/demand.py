"""Demand: forecast against actual by month, forecast accuracy and its errors,
and the excess-inventory / out-of-stock risk by market, customer and product."""
import dash

from dashboard import components as c
from dashboard import data

PAGE = "demand"
dash.register_page(__name__, path="/demand", name="Demand", title="BIMS · Demand", order=2, icon="box-seam")


def layout(**query):
    return c.page(PAGE, "Demand", query, body)


def body(page_state: dict):
    reason = data.unavailable("forecast_monthly")
    if reason:
        return c.unavailable(f"Demand is not available for this data: {reason}.")
    monthly = "Sold quantity (bars) against forecast (line); months without actuals show the forecast only"
    if page_state["filters"].get("product"):
        monthly += " · monthly figures are kept per category: this shows the product's category"
    return c.grid(
        [(c.kpi_row(PAGE, "kpis"), 12)],
        [(c.chart_card(PAGE, "monthly", "Forecast vs actual by month", monthly, 400), 8),
         (c.chart_card(PAGE, "risk", "Inventory risk by market", "The 15 markets with the largest net error "
                       "(forecast − sold): right of zero is excess inventory, left is out of stock", 400), 4)],
        [(c.chart_card(PAGE, "markets", "Forecast error and accuracy by market", "Net and absolute error in "
                       "units (bars), forecast accuracy (line, right axis)", 380), 12)],
        [(c.table_card(PAGE, "customers", "Customers with the largest forecast errors", "Top 25 by absolute "
                       "error, with accuracy against last year and the risk", 420), 12)],
        [(c.table_card(PAGE, "products", "Products with the largest forecast errors", "Top 25 by absolute "
                       "error, with accuracy against last year and the risk", 420), 12)],
    )
