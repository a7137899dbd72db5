"""Overview: KPIs with YoY, the monthly trend, the share by region (drillable),
the top customers and products."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard import charts, components, formatting, state
from dashboard.callbacks import cards
from dashboard.callbacks.cards import ask, currency

PAGE = "overview"
TOP_N = 5
# Beyond this many members a share is drawn as bars, not a donut.
DONUT_MAX = 6
SHARE_ROWS = 12

KPIS = (  # measure, label, kind
    ("net_sales", "Net sales", "money"),
    ("gm_pct", "Gross margin %", "percent"),
    ("forecast_accuracy", "Forecast accuracy", "percent"),
    ("sold_quantity", "Sold quantity", "quantity"),
)


def kpi_frame(page_state: dict) -> pd.DataFrame:
    return ask("kpis", page_state)


@cards.kpis(PAGE, "kpis", kpi_frame, queries=("kpis",))
def kpi_cards(frame: pd.DataFrame, page_state: dict):
    by_measure = frame.set_index("measure")
    year = page_state["filters"]["fiscal_year"]
    caption = f"vs {formatting.fiscal_year(year - 1)}"
    out = []
    for measure, label, kind in KPIS:
        row = by_measure.loc[measure] if measure in by_measure.index else None
        out.append(components.kpi_card(label, *_kpi_text(row, kind), caption))
    return [_col(card) for card in out]


def _kpi_text(row, kind: str):
    if row is None or pd.isna(row["this_year"]):
        return "–", "no data", None
    value = {"money": lambda v: formatting.money(v, currency()), "percent": formatting.percent,
             "quantity": formatting.quantity}[kind](row["this_year"])
    if kind == "percent":
        change = row["change"]
        return value, formatting.points(change), None if pd.isna(change) else bool(change >= 0)
    change = row["change_pct"]
    return value, formatting.signed_percent(change), None if pd.isna(change) else bool(change >= 0)


def _col(card):
    from dash import html  # noqa: PLC0415

    return html.Div(card, className="kpi-col")


def trend_frame(page_state: dict) -> pd.DataFrame:
    return ask("sales_monthly", page_state)[["fiscal_year", "fiscal_month", "month", "net_sales",
                                              "last_year_net_sales", "net_sales_change_pct"]]


@cards.chart(PAGE, "trend", trend_frame, queries=("sales_monthly",))
def trend_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    return charts.month_trend(frame, "net_sales", "last_year_net_sales", page_state["filters"]["fiscal_year"],
                              currency=currency())


def share_frame(page_state: dict) -> pd.DataFrame:
    level = state.drill_level(page_state["filters"], "region")
    return ask("sales_by_dimension", page_state, dimension=level).head(SHARE_ROWS)


@cards.chart(PAGE, "regions", share_frame, queries=("sales_by_dimension",))
def share_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    level = frame["dimension"].iloc[0]
    if len(frame) <= DONUT_MAX:
        return charts.donut(frame["member"], frame["net_sales"], currency(), drill_level=level)
    return charts.bars(frame, "member", "net_sales", horizontal=True, drill_level=level, currency=currency())


def top_frame(query: str):
    def frame(page_state: dict) -> pd.DataFrame:
        return ask(query, page_state, n=TOP_N, by="net_sales")
    return frame


def _top_figure(frame: pd.DataFrame, label: str) -> go.Figure:
    names = frame[label]
    text = [f"{formatting.money(v, currency())}  {formatting.signed_percent(g)}"
            for v, g in zip(frame["value"], frame["yoy_growth_pct"])]
    return charts.bars(frame.assign(label=names), "label", "value", horizontal=True, currency=currency(),
                       text_format=None).update_traces(text=text, hovertemplate="%{y}: %{text}<extra></extra>")


@cards.chart(PAGE, "top_customers", top_frame("top_customers"), queries=("top_customers",))
def top_customers_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    return _top_figure(frame, "customer")


@cards.chart(PAGE, "top_products", top_frame("top_products"), queries=("top_products",))
def top_products_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    return _top_figure(frame.assign(name=frame["product"] + " · " + frame["variant"]), "name")
