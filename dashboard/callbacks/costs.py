"""Freight & costs: freight and other costs by market, the COGS mix against
last year, and the highest and lowest unit manufacturing costs."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard import charts, formatting
from dashboard.callbacks import cards
from dashboard.callbacks.cards import ask, column, currency, wrap_headers
from dashboard.callbacks.sales import PNL_LABELS

PAGE = "costs"
COST_PRODUCTS = 10
COGS_PARTS = ("manufacturing_cost", "freight_cost", "other_cost")
NO_FREIGHT = "No freight or other costs recorded for these filters"


def freight_frame(page_state: dict) -> pd.DataFrame:
    frame = ask("freight_by_market", page_state)
    return frame.assign(total_cost_pct=frame["freight_pct"] + frame["other_cost_pct"])


@cards.chart(PAGE, "freight", freight_frame, queries=("freight_by_market",))
def freight_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    if not frame["total_cost"].fillna(0).any():
        return charts.message(NO_FREIGHT)
    frame = frame.sort_values("total_cost", ascending=False)
    figure = go.Figure([
        go.Bar(x=frame["market"], y=frame[amount], name=label, marker_color=color,
               customdata=frame[rate], hovertemplate="%{x} · " + label + ": " + currency()
               + "%{y:,.0f} (%{customdata:.1%} of net sales)<extra></extra>")
        for amount, rate, label, color in (("freight_cost", "freight_pct", "Freight", charts.THIS_YEAR),
                                           ("other_cost", "other_cost_pct", "Other costs", charts.COLORS[1]))
    ] + [go.Scatter(x=frame["market"], y=frame["total_cost_pct"], name="Cost rate", yaxis="y2",
                    mode="markers", marker=dict(color=charts.COLORS[2], size=9, symbol="diamond"),
                    hovertemplate="%{x}: %{y:.1%} of net sales<extra></extra>")])
    figure.update_layout(barmode="stack", hovermode="x unified", legend=dict(traceorder="normal"),
                         yaxis2=dict(overlaying="y", side="right", tickformat=".0%", rangemode="tozero",
                                     showgrid=False, title="Cost rate"))
    return charts.money_axis(figure, currency=currency())


@cards.table(PAGE, "freight_table", freight_frame, queries=("freight_by_market",))
def freight_columns(frame: pd.DataFrame, page_state: dict) -> list[dict]:
    return wrap_headers([
        column("market", "Market", pinned="left", minWidth=150),
        column("region", "Region"),
        column("sub_zone", "Sub-zone"),
        column("net_sales", "Net sales", "money"),
        column("freight_pct", "Freight rate"),
        column("freight_cost", "Freight", "money"),
        column("other_cost_pct", "Other cost rate"),
        column("other_cost", "Other costs", "money"),
        column("total_cost", "Total", "money"),
        column("total_cost_pct", "Total rate"),
    ])


def cogs_frame(page_state: dict) -> pd.DataFrame:
    pnl = ask("pnl", page_state).set_index("line").loc[list(COGS_PARTS), ["this_year", "last_year"]]
    frame = pnl.reset_index().rename(columns={"line": "component"})
    frame.insert(1, "label", [PNL_LABELS[c] for c in frame["component"]])
    for year in ("this_year", "last_year"):
        frame[f"{year}_share"] = frame[year] / frame[year].sum()
    return frame if frame["this_year"].fillna(0).any() else frame.iloc[0:0]


@cards.chart(PAGE, "cogs_mix", cogs_frame, queries=("pnl",))
def cogs_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    year = page_state["filters"]["fiscal_year"]
    figure = go.Figure([
        go.Bar(x=frame["label"], y=frame[column_], name=formatting.fiscal_year(fy), marker_color=color,
               text=[formatting.percent(s) for s in frame[f"{column_}_share"]], textposition="outside",
               cliponaxis=False, customdata=[formatting.money(v, currency()) for v in frame[column_]],
               hovertemplate="%{x} " + formatting.fiscal_year(fy) + ": %{customdata} (%{text} of COGS)<extra></extra>")
        for column_, fy, color in (("last_year", year - 1, charts.LAST_YEAR), ("this_year", year, charts.THIS_YEAR))
    ])
    figure.update_layout(barmode="group", xaxis=dict(tickangle=0))
    return charts.money_axis(figure, currency=currency())


def cost_frame(position: str):
    def frame(page_state: dict) -> pd.DataFrame:
        costs = ask("manufacturing_cost", page_state, n=COST_PRODUCTS)
        pick = costs.nlargest if position == "highest" else costs.nsmallest
        return pick(COST_PRODUCTS, "unit_manufacturing_cost").drop(columns="position")
    return frame


def _cost_figure(frame: pd.DataFrame, color: str) -> go.Figure:
    labels = frame["product"] + " · " + frame["variant"]
    figure = charts.bars(frame.assign(label=labels), "label", "unit_manufacturing_cost", horizontal=True,
                         color=color, text_format=lambda v: f"{currency()}{v:,.2f}")
    share = [formatting.percent(s) for s in frame["cost_to_price_pct"]]
    figure.update_traces(customdata=share, hovertemplate="%{y}: %{text} (%{customdata} of gross price)<extra></extra>")
    return figure.update_layout(xaxis=dict(tickformat=",.2f" if frame["unit_manufacturing_cost"].max() < 10
                                           else ",.0f"))


@cards.chart(PAGE, "cost_highest", cost_frame("highest"), queries=("manufacturing_cost",))
def highest_cost_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    return _cost_figure(frame, charts.COLORS[2])


@cards.chart(PAGE, "cost_lowest", cost_frame("lowest"), queries=("manufacturing_cost",))
def lowest_cost_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    return _cost_figure(frame, charts.COLORS[1])
