"""Pricing: the gross-to-net waterfall, gross price trends, deductions by
customer and the average gross price per product."""
from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from dashboard import charts, formatting
from dashboard.callbacks import cards
from dashboard.callbacks.cards import ask, column, currency, wrap_headers
from dashboard.callbacks.sales import PNL_LABELS

PAGE = "pricing"
TOP_CUSTOMERS = 15
# The gross-to-net steps: P&L line, waterfall measure, sign of the step.
STEPS = (("gross_sales", "absolute", 1), ("pre_invoice_deduction", "relative", -1),
         ("net_invoice_sales", "total", 1), ("post_invoice_discount", "relative", -1),
         ("post_invoice_other", "relative", -1), ("net_sales", "total", 1))
DEDUCTIONS = ("pre_invoice_deduction", "post_invoice_discount", "post_invoice_other")
# Price axis ticks (log scale): 1-2-5 steps.
PRICE_TICKS = [m * 10 ** e for e in range(-1, 5) for m in (1, 2, 5)]


def waterfall_frame(page_state: dict) -> pd.DataFrame:
    pnl = ask("pnl", page_state).set_index("line")
    if pd.isna(pnl.loc["gross_sales", "this_year"]):
        return pd.DataFrame()
    gross = pnl.loc["gross_sales", "this_year"]
    rows = [{"line": line, "step": PNL_LABELS[line], "measure": measure,
             "amount": sign * pnl.loc[line, "this_year"], "share_of_gross_sales": pnl.loc[line, "this_year"] / gross}
            for line, measure, sign in STEPS]
    return pd.DataFrame(rows)


@cards.chart(PAGE, "waterfall", waterfall_frame, queries=("pnl",))
def waterfall_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    figure = charts.waterfall(list(zip(map(_two_lines, frame["step"]), frame["amount"], frame["measure"])),
                              currency())
    share = [formatting.percent(s) for s in frame["share_of_gross_sales"]]
    figure.update_traces(customdata=share, hovertemplate="%{x}: %{text} (%{customdata} of gross sales)<extra></extra>")
    figure.update_layout(showlegend=False, xaxis=dict(tickangle=0))
    return figure


def _two_lines(label: str) -> str:
    words = label.split()
    half = math.ceil(len(words) / 2)
    return " ".join(words[:half]) + "<br>" + " ".join(words[half:])


def price_trend_frame(page_state: dict) -> pd.DataFrame:
    return ask("gross_price_trend", page_state)


@cards.chart(PAGE, "price_trend", price_trend_frame, queries=("gross_price_trend",))
def price_trend_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    year = page_state["filters"]["fiscal_year"]
    figure = go.Figure([
        go.Scatter(x=part["fiscal_year"], y=part["avg_gross_price"], name=member, mode="lines+markers",
                   hovertemplate=f"{member} · FY%{{x}}: {currency()}%{{y:,.2f}}<extra></extra>")
        for member, part in frame.groupby("member", sort=True)
    ])
    years = sorted(frame["fiscal_year"].unique())
    low, high = frame["avg_gross_price"].min(), frame["avg_gross_price"].max()
    ticks = [t for t in PRICE_TICKS if low / 2 <= t <= high * 2]
    figure.add_vrect(x0=year - 0.5, x1=year + 0.5, fillcolor=charts.THIS_YEAR, opacity=0.08, line_width=0)
    figure.update_layout(
        xaxis=dict(tickvals=years, ticktext=[formatting.fiscal_year(y) for y in years]),
        yaxis=dict(type="log", tickvals=ticks, ticktext=[f"{currency()}{t:,g}" for t in ticks],
                   title="Average gross price (log scale)"),
        legend=dict(orientation="v", yanchor="top", y=1, x=1.02, xanchor="left", font=dict(size=11)))
    return figure


def deductions_frame(page_state: dict) -> pd.DataFrame:
    frame = ask("customer_deductions", page_state)
    return frame.assign(total_deduction_pct=frame["total_deductions"] / frame["gross_sales"])


def top_deductions_frame(page_state: dict) -> pd.DataFrame:
    return deductions_frame(page_state).head(TOP_CUSTOMERS)[
        ["customer_code", "customer", "market", *DEDUCTIONS, "total_deductions", "gross_sales"]]


@cards.chart(PAGE, "deductions", top_deductions_frame, queries=("customer_deductions",))
def deductions_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    names = frame["customer"].str.strip() + " · " + frame["market"]
    last = DEDUCTIONS[-1]
    figure = go.Figure([
        go.Bar(y=names, x=frame[line], name=PNL_LABELS[line], orientation="h", marker_color=color,
               text=[formatting.money(t, currency()) for t in frame["total_deductions"]] if line == last else None,
               textposition="outside" if line == last else None, cliponaxis=False,
               hovertemplate="%{y}<br>" + PNL_LABELS[line] + ": " + currency() + "%{x:,.0f}<extra></extra>")
        for line, color in zip(DEDUCTIONS, (charts.THIS_YEAR, charts.COLORS[2], charts.COLORS[3]))
    ])
    figure.update_layout(barmode="stack", yaxis=dict(autorange="reversed"), legend=dict(traceorder="normal"),
                         xaxis=dict(range=[0, frame["total_deductions"].max() * 1.15]))
    return charts.money_axis(figure, "xaxis", currency())


@cards.table(PAGE, "deductions_table", deductions_frame, queries=("customer_deductions",))
def deductions_columns(frame: pd.DataFrame, page_state: dict) -> list[dict]:
    return wrap_headers([
        column("customer", "Customer", pinned="left", minWidth=150),
        column("market", "Market"),
        column("channel", "Channel"),
        column("gross_sales", "Gross sales", "money"),
        column("pre_invoice_discount_pct", "Pre-invoice %"),
        column("pre_invoice_deduction", "Pre-invoice", "money"),
        column("post_invoice_discount", "Post-invoice discounts", "money"),
        column("post_invoice_other", "Other post-invoice", "money"),
        column("total_deductions", "Total deductions", "money"),
        column("total_deduction_pct", "% of gross sales"),
        column("net_sales", "Net sales", "money"),
    ])


def avg_price_frame(page_state: dict) -> pd.DataFrame:
    return ask("avg_gross_price", page_state)


@cards.table(PAGE, "avg_price", avg_price_frame, queries=("avg_gross_price",))
def avg_price_columns(frame: pd.DataFrame, page_state: dict) -> list[dict]:
    year = page_state["filters"]["fiscal_year"]
    return [
        column("product", "Product", pinned="left", minWidth=220),
        column("category", "Category", minWidth=140),
        column("avg_gross_price", formatting.fiscal_year(year), "price"),
        column("last_year_avg_gross_price", formatting.fiscal_year(year - 1), "price"),
        column("change_pct", "Change", "signed_percent"),
    ]
