"""Top-N: products, customers or markets ranked by a chosen measure, N chosen,
with the growth on last year. The three settings live in the URL."""
import dash
from dash import html

from dashboard import components as c
from dashboard import formatting
from queries.runner import RANKABLE_MEASURES

PAGE = "top_n"
dash.register_page(__name__, path="/top-n", name="Top-N", title="BIMS · Top-N", order=5, icon="trophy")

N_CHOICES = (3, 5, 10, 15, 20, 25, 50)


def n_options(current: str) -> list[dict]:
    """The offered N, with the URL's own N among them when it is another one."""
    values = sorted({*N_CHOICES, int(current)})
    return [{"label": f"Top {n}", "value": str(n)} for n in values]


def settings(params: dict) -> html.Div:
    return html.Div([
        c.page_param_select("rank", "Rank", [{"label": formatting.title(r), "value": r}
                                             for r in ("products", "customers", "markets")], params["rank"]),
        c.page_param_select("by", "By", [{"label": formatting.title(m), "value": m} for m in RANKABLE_MEASURES],
                            params["by"]),
        c.page_param_select("n", "Show", n_options(params["n"]), params["n"]),
    ], className="page-params")


def body(page_state: dict):
    params, year = page_state["params"], page_state["filters"]["fiscal_year"]
    n, rank, measure = int(params["n"]), params["rank"], formatting.title(params["by"])
    measure = measure if measure.isupper() else measure.lower()  # "gross margin", but "COGS"
    what = rank if n > 1 else rank[:-1]
    hint = "Click a market to filter every view to it" if rank == "markets" else "Labels show the growth on last year"
    return html.Div([settings(params), c.grid(
        [(c.chart_card(PAGE, "ranking", f"Top {n} {what} by {measure}",
                       f"{formatting.fiscal_year(year)} against {formatting.fiscal_year(year and year - 1)} "
                       f"(grey marks) · {hint}", max(260, 90 + (34 if n <= 20 else 26) * n)), 12)],
        [(c.table_card(PAGE, "table", f"Top {n} {what}: the figures",
                       "Growth coloured good or bad; net sales, gross margin and quantity for context",
                       None if n <= 20 else 640), 12)],
    )])


def layout(**query):
    return c.page(PAGE, "Top-N", query, body, with_params=True)
