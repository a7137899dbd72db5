"""Top-N: the ranking chart (drillable for markets) and its table, from the
top_products / top_customers / top_markets queries with the page's rank, by and n."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard import charts, formatting
from dashboard.callbacks import cards
from dashboard.callbacks.cards import ask, column, currency, wrap_headers
from dashboard.callbacks.sales import COST_LINES

PAGE = "top_n"
# What is ranked: its query, the column naming a row, the columns giving context.
RANKED = {
    "products": ("top_products", "product", ("variant", "category")),
    "customers": ("top_customers", "customer", ("markets",)),
    "markets": ("top_markets", "market", ("sub_zone", "region")),
}
CONTEXT_MEASURES = ("net_sales", "gross_margin", "sold_quantity")
QUERIES = tuple(q for q, _, _ in RANKED.values())


def ranked(page_state: dict) -> pd.DataFrame:
    """The named query's answer for the page's filters and settings."""
    params = page_state["params"]
    query = RANKED[params["rank"]][0]
    # n and by as given: the query runner checks them (a forged page state included)
    return ask(query, page_state, n=params["n"], by=params["by"])


def _label(frame: pd.DataFrame, rank: str) -> pd.Series:
    if rank == "products":
        return frame["product"] + " · " + frame["variant"]
    return frame[RANKED[rank][1]]


def chart_frame(page_state: dict) -> pd.DataFrame:
    frame = ranked(page_state)
    return frame.assign(name=_label(frame, page_state["params"]["rank"]))[
        ["rank", "name", "measure", "value", "last_year_value", "yoy_growth_pct"]]


def table_frame(page_state: dict) -> pd.DataFrame:
    params = page_state["params"]
    _, name, context = RANKED[params["rank"]]
    by = params["by"]
    # The ranked value is named after its measure (which then is no extra column).
    frame = ranked(page_state).drop(columns=[by], errors="ignore").rename(
        columns={"value": by, "last_year_value": f"last_year_{by}"})
    extra = [m for m in CONTEXT_MEASURES if m != by]
    return frame[["rank", name, *context, by, f"last_year_{by}", "yoy_growth_pct", *extra]]


def _kind(measure: str) -> str:
    return "quantity" if formatting.is_quantity(measure) else "money"


def _good(measure: str, growth) -> bool | None:
    """Whether a change is good news: a rise is bad for a deduction or a cost."""
    if pd.isna(growth) or growth == 0:
        return None
    return (growth > 0) != (measure in COST_LINES)


def _amount(measure: str):
    return formatting.quantity if _kind(measure) == "quantity" else (lambda v: formatting.money(v, currency()))


def _growth_text(measure: str, growth) -> str:
    good = _good(measure, growth)
    colour = {True: charts.GOOD, False: charts.BAD, None: charts.LAST_YEAR}[good]
    return f"<span style='color:{colour}'>{formatting.signed_percent(growth)}</span>"


@cards.chart(PAGE, "ranking", chart_frame, queries=QUERIES)
def ranking_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    params, year = page_state["params"], page_state["filters"]["fiscal_year"]
    measure = params["by"]
    amount = _amount(measure)
    drill = "market" if params["rank"] == "markets" else None
    figure = charts.bars(frame, "name", "value", horizontal=True, drill_level=drill, currency=currency(),
                         text_format=amount, hover_label=formatting.fiscal_year(year))
    last_year = formatting.fiscal_year(year - 1)
    figure.update_traces(
        text=[f"{amount(v)}  {_growth_text(measure, g)}" for v, g in zip(frame["value"], frame["yoy_growth_pct"])],
        textposition="outside",
        hovertext=[f"{last_year}: {amount(v)}<br>YoY {formatting.signed_percent(g)}"
                   for v, g in zip(frame["last_year_value"], frame["yoy_growth_pct"])],
        hovertemplate="<b>%{y}</b><br>" + formatting.fiscal_year(year) + ": %{x:,.0f}<br>%{hovertext}<extra></extra>")
    figure.add_trace(go.Scatter(
        x=frame["last_year_value"], y=frame["name"], mode="markers", name=last_year, hoverinfo="skip",
        marker=dict(symbol="line-ns", size=22, line=dict(width=3, color=charts.LAST_YEAR)),
        customdata=charts.drill_customdata(drill, frame["name"]) if drill else None))
    figure.update_layout(showlegend=True, bargap=0.3, xaxis=_value_axis(frame, measure),
                         yaxis=dict(autorange="reversed", title=None, ticksuffix="  "))
    return figure


def _value_axis(frame: pd.DataFrame, measure: str) -> dict:
    """Money or quantity ticks, with room on the right for the labels."""
    axis = dict(tickprefix=currency() if _kind(measure) == "money" else "", tickformat="~s",
                title=formatting.title(measure))
    values = pd.concat([frame["value"], frame["last_year_value"]]).dropna()
    if not values.empty and values.min() >= 0:
        axis["range"] = [0, values.max() * 1.22]
    return axis


@cards.table(PAGE, "table", table_frame, queries=QUERIES)
def table_columns(frame: pd.DataFrame, page_state: dict) -> list[dict]:
    params, year = page_state["params"], page_state["filters"]["fiscal_year"]
    by = params["by"]
    _, name, context = RANKED[params["rank"]]
    growth = column("yoy_growth_pct", "YoY growth", "signed_percent")
    if by in COST_LINES:  # a cost that rises is bad news
        growth["cellClassRules"] = {"delta-good": "params.value < 0", "delta-bad": "params.value > 0"}
    return wrap_headers([
        column("rank", "#", maxWidth=70, minWidth=60, type="rightAligned"),
        column(name, formatting.title(name), minWidth=180 if name != "market" else 120),
        *[column(c) for c in context],
        column(by, f"{formatting.title(by)} {formatting.fiscal_year(year)}", _kind(by)),
        column(f"last_year_{by}", formatting.fiscal_year(year - 1), _kind(by)),
        growth,
        *[column(m, formatting.title(m), _kind(m)) for m in CONTEXT_MEASURES if m != by],
    ])
