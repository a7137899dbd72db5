"""Sales: P&L, monthly net sales, drillable geography and product charts,
channels and platforms."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard import charts, formatting, state
from dashboard.callbacks import cards
from dashboard.callbacks.cards import ask, currency

PAGE = "sales"
# Drill charts show at most this many members (the largest).
MEMBERS_SHOWN = 25

PNL_LABELS = {
    "gross_sales": "Gross sales", "pre_invoice_deduction": "Pre-invoice deductions",
    "net_invoice_sales": "Net invoice sales", "post_invoice_discount": "Post-invoice discounts",
    "post_invoice_other": "Other post-invoice deductions", "net_sales": "Net sales",
    "manufacturing_cost": "Manufacturing cost", "freight_cost": "Freight", "other_cost": "Other costs",
    "cogs": "COGS", "gross_margin": "Gross margin", "gm_pct": "Gross margin %", "sold_quantity": "Sold quantity",
}
# Lines where a rise is bad news (deductions and costs).
COST_LINES = {"pre_invoice_deduction", "post_invoice_discount", "post_invoice_other", "manufacturing_cost",
              "freight_cost", "other_cost", "cogs"}


def pnl_frame(page_state: dict) -> pd.DataFrame:
    return ask("pnl", page_state)


@cards.table(PAGE, "pnl", pnl_frame, queries=("pnl",))
def pnl_columns(frame: pd.DataFrame, page_state: dict) -> list[dict]:
    year = page_state["filters"]["fiscal_year"]
    amount = ("params.data.line === 'gm_pct' ? Percent(params.value) : params.data.line === 'sold_quantity' ? "
              f"Quantity(params.value) : Money(params.value, '{currency()}')")
    change = "params.data.line === 'gm_pct' ? Points(params.value) : SignedPercent(params.value)"
    cost_lines = "[" + ",".join(f"'{line}'" for line in sorted(COST_LINES)) + "]"
    good = f"({cost_lines}.includes(params.data.line) ? -1 : 1) * params.value"
    return [
        {"field": "line", "headerName": "Line", "minWidth": 210, "flex": 2,
         "valueFormatter": {"function": "(" + _labels_js() + ")[params.value] || params.value"},
         "cellClassRules": {"pnl-total": "['net_sales','gross_margin','net_invoice_sales'].includes(params.value)"}},
        {"field": "this_year", "headerName": formatting.fiscal_year(year), "type": "rightAligned",
         "valueFormatter": {"function": amount}},
        {"field": "last_year", "headerName": formatting.fiscal_year(year - 1), "type": "rightAligned",
         "valueFormatter": {"function": amount}},
        {"field": "change_pct", "headerName": "Change", "type": "rightAligned",
         "valueGetter": {"function": "params.data.line === 'gm_pct' ? params.data.change : params.data.change_pct"},
         "valueFormatter": {"function": change},
         "cellClassRules": {"delta-good": f"{good} > 0", "delta-bad": f"{good} < 0"}},
    ]


def _labels_js() -> str:
    return "{" + ",".join(f"'{k}': '{v}'" for k, v in PNL_LABELS.items()) + "}"


def monthly_frame(page_state: dict) -> pd.DataFrame:
    return ask("sales_monthly", page_state)


@cards.chart(PAGE, "monthly", monthly_frame, queries=("sales_monthly",))
def monthly_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    year = page_state["filters"]["fiscal_year"]
    names = formatting.fiscal_month_names()
    x = [names[int(m) - 1] for m in frame["fiscal_month"]]
    figure = go.Figure([
        go.Bar(x=x, y=frame["net_sales"], name=formatting.fiscal_year(year), marker_color=charts.THIS_YEAR,
               hovertemplate=currency() + "%{y:,.0f}<extra>" + formatting.fiscal_year(year) + "</extra>"),
        go.Scatter(x=x, y=frame["last_year_net_sales"], name=formatting.fiscal_year(year - 1), mode="lines+markers",
                   line=dict(color=charts.LAST_YEAR, dash="dot"),
                   hovertemplate=currency() + "%{y:,.0f}<extra>" + formatting.fiscal_year(year - 1) + "</extra>"),
    ])
    figure.update_layout(xaxis=dict(categoryorder="array", categoryarray=names), hovermode="x unified")
    return charts.money_axis(figure, currency=currency())


def drill_frame(hierarchy: str):
    def frame(page_state: dict) -> pd.DataFrame:
        level = state.drill_level(page_state["filters"], hierarchy)
        return ask("sales_by_dimension", page_state, dimension=level).head(MEMBERS_SHOWN)
    return frame


def _drill_figure(frame: pd.DataFrame) -> go.Figure:
    level = frame["dimension"].iloc[0]
    figure = charts.bars(frame, "member", "net_sales", horizontal=True, drill_level=level, currency=currency())
    growth = [formatting.signed_percent(g) for g in frame["yoy_growth_pct"]]
    share = [formatting.percent(s) for s in frame["net_sales_share"]]
    figure.update_traces(
        text=[f"{formatting.money(v, currency())}  ({s})" for v, s in zip(frame["net_sales"], share)],
        hovertext=growth,
        hovertemplate="%{y}<br>Net sales %{text}<br>YoY %{hovertext}<extra></extra>")
    figure.update_layout(yaxis_title=formatting.title(level))
    return figure


@cards.chart(PAGE, "geography", drill_frame("region"), queries=("sales_by_dimension",))
def geography_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    return _drill_figure(frame)


@cards.chart(PAGE, "products", drill_frame("product"), queries=("sales_by_dimension",))
def products_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    return _drill_figure(frame)


def channels_frame(page_state: dict) -> pd.DataFrame:
    return ask("sales_by_channel", page_state)


@cards.chart(PAGE, "channels", channels_frame, queries=("sales_by_channel",))
def channels_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    figure = go.Figure([
        go.Bar(x=part["channel"], y=part["net_sales"], name=platform,
               text=[formatting.percent(s) for s in part["net_sales_share"]], textposition="inside",
               hovertemplate="%{x} · " + platform + ": " + currency() + "%{y:,.0f} (%{text})<extra></extra>")
        for platform, part in frame.groupby("platform", sort=False)
    ])
    figure.update_layout(barmode="stack")
    return charts.money_axis(figure, currency=currency())
