"""Freight & costs: freight and other costs by market, the COGS mix, and the
products with the highest and lowest unit manufacturing cost."""
import dash

from dashboard import components as c

PAGE = "costs"
dash.register_page(__name__, path="/costs", name="Freight & costs", title="BIMS · Freight & costs", order=4,
                   icon="truck")


def layout(**query):
    return c.page(PAGE, "Freight & costs", query, lambda state: c.grid(
        [(c.chart_card(PAGE, "freight", "Freight and other costs by market", "Amounts on net sales (bars) and "
                       "the market's cost rate (diamonds, right axis)", 400), 8),
         (c.chart_card(PAGE, "cogs_mix", "COGS mix", "Manufacturing, freight and other costs against last year; "
                       "labels give each one's share of COGS", 400), 4)],
        [(c.table_card(PAGE, "freight_table", "Freight and other cost rates per market", "Rates are a share of "
                       "net sales", 380), 12)],
        [(c.chart_card(PAGE, "cost_highest", "Highest unit manufacturing cost", "The 10 costliest products "
                       "(variants) to make, with cost as a share of gross price", 420), 6),
         (c.chart_card(PAGE, "cost_lowest", "Lowest unit manufacturing cost", "The 10 cheapest products "
                       "(variants) to make, with cost as a share of gross price", 420), 6)],
    ))
