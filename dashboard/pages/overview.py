"""Overview: the year at a glance."""
import dash

from dashboard import components as c

PAGE = "overview"
dash.register_page(__name__, path="/", name="Overview", title="BIMS · Overview", order=0, icon="speedometer2")


def layout(**query):
    return c.page(PAGE, "Overview", query, lambda state: c.grid(
        [(c.kpi_row(PAGE, "kpis"), 12)],
        [(c.chart_card(PAGE, "trend", "Net sales by month", "Against the same month last year"), 8),
         (c.chart_card(PAGE, "regions", "Share of net sales", "Click a slice to drill down"), 4)],
        [(c.chart_card(PAGE, "top_customers", "Top 5 customers", "By net sales, with growth on last year"), 6),
         (c.chart_card(PAGE, "top_products", "Top 5 products", "By net sales, with growth on last year"), 6)],
    ))
