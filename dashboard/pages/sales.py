"""Sales: the P&L against last year, net sales by month, by market (drillable),
by product group (drillable) and by channel and platform."""
import dash

from dashboard import components as c

PAGE = "sales"
dash.register_page(__name__, path="/sales", name="Sales", title="BIMS · Sales", order=1, icon="graph-up-arrow")


def layout(**query):
    return c.page(PAGE, "Sales", query, lambda state: c.grid(
        [(c.table_card(PAGE, "pnl", "P&L statement", "Gross sales to gross margin, against last year", None), 5),
         (c.chart_card(PAGE, "monthly", "Net sales by month", "This year's bars, last year's line", 440), 7)],
        [(c.chart_card(PAGE, "geography", "Net sales by geography", "Click a bar to drill down; the "
                       "breadcrumb above steps back", 420), 6),
         (c.chart_card(PAGE, "products", "Net sales by product group", "Division → segment → category → "
                       "product", 420), 6)],
        [(c.chart_card(PAGE, "channels", "Net sales by channel and platform", None, 320), 12)],
    ))
