"""Demand: forecast against actual by month, KPIs, errors and accuracy by market,
the inventory risk, and the customers and products with the largest errors."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from dash import html

from dashboard import charts, components, formatting
from dashboard.callbacks import cards
from dashboard.callbacks.cards import ask, column, wrap_headers

PAGE = "demand"
TOP_ROWS = 25
# The risk chart shows the markets with the largest net error either way.
RISK_MARKETS = 15
ACCURACY = "forecast_accuracy_by_dimension"
RISK_COLORS = {"excess inventory": charts.COLORS[2], "out of stock": charts.BAD, "balanced": charts.GOOD}
SOLD, FORECAST = charts.THIS_YEAR, charts.COLORS[2]


def _units_axis(figure: go.Figure, axis: str = "yaxis") -> go.Figure:
    return figure.update_layout({axis: dict(tickformat="~s", title="Units")})


# --- KPIs --------------------------------------------------------------------

def kpi_frame(page_state: dict) -> pd.DataFrame:
    """Accuracy and forecast quantity against last year (kpis), and this year's
    net and absolute error, summed over regions, with their share of the forecast."""
    headline = ask("kpis", page_state)
    headline = headline[headline["measure"].isin(["forecast_accuracy", "forecast_quantity"])]
    regions = ask(ACCURACY, page_state, dimension="region")
    forecast = regions["forecast_quantity"].sum()
    errors = pd.DataFrame({
        "measure": ["net_error", "abs_error"],
        "this_year": [regions["net_error"].sum(), regions["abs_error"].sum()],
    })
    errors["share_of_forecast"] = errors["this_year"] / forecast if forecast else None
    frame = pd.concat([headline.drop(columns="fiscal_year"), errors], ignore_index=True)
    return frame if regions.size else frame.iloc[0:0]


@cards.kpis(PAGE, "kpis", kpi_frame, queries=("kpis", ACCURACY))
def kpi_cards(frame: pd.DataFrame, page_state: dict):
    rows = frame.set_index("measure")
    versus = f"vs {formatting.fiscal_year(page_state['filters']['fiscal_year'] - 1)}"
    accuracy, quantity = rows.loc["forecast_accuracy"], rows.loc["forecast_quantity"]
    net, absolute = rows.loc["net_error"], rows.loc["abs_error"]
    risk = "excess-inventory risk" if net["this_year"] > 0 else "out-of-stock risk" if net["this_year"] < 0 else ""
    cards_ = [
        components.kpi_card("Forecast accuracy", formatting.percent(accuracy["this_year"]),
                            formatting.points(accuracy["change"]), _good(accuracy["change"]), versus),
        components.kpi_card("Net error", _signed_units(net["this_year"]),
                            f"{formatting.signed_percent(net['share_of_forecast'])} of forecast", None, risk),
        components.kpi_card("Absolute error", formatting.quantity(absolute["this_year"]) + " units",
                            f"{formatting.percent(absolute['share_of_forecast'])} of forecast", None,
                            "summed per month, customer and product"),
        components.kpi_card("Forecast quantity", formatting.quantity(quantity["this_year"]) + " units",
                            formatting.signed_percent(quantity["change_pct"]), _good(quantity["change_pct"]),
                            versus + " · months with actuals"),
    ]
    return [html.Div(card, className="kpi-col") for card in cards_]


def _good(change) -> bool | None:
    return None if pd.isna(change) else bool(change >= 0)


def _signed_units(value) -> str:
    return ("+" if value > 0 else "") + formatting.quantity(value) + " units"


# --- Forecast against actual by month -------------------------------------------

def monthly_frame(page_state: dict) -> pd.DataFrame:
    return ask("forecast_monthly", page_state)


@cards.chart(PAGE, "monthly", monthly_frame, queries=("forecast_monthly",))
def monthly_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    names = formatting.fiscal_month_names()
    x = [names[int(m) - 1] for m in frame["fiscal_month"]]
    accuracy = [formatting.percent(a) if actual else "forecast only"
                for a, actual in zip(frame["forecast_accuracy"], frame["has_actuals"])]
    figure = go.Figure([
        go.Bar(x=x, y=frame["sold_quantity"], name="Sold", marker_color=SOLD, customdata=accuracy,
               hovertemplate="Sold %{y:,.0f} · accuracy %{customdata}<extra></extra>"),
        go.Scatter(x=x, y=frame["forecast_quantity"], name="Forecast", mode="lines+markers",
                   line=dict(color=FORECAST, width=3), marker=dict(size=8),
                   hovertemplate="Forecast %{y:,.0f}<extra></extra>"),
    ])
    figure.update_layout(xaxis=dict(categoryorder="array", categoryarray=names), hovermode="x unified")
    return _units_axis(figure)


# --- By market: errors, accuracy, risk -------------------------------------------

def market_frame(page_state: dict) -> pd.DataFrame:
    return ask(ACCURACY, page_state, dimension="market")


@cards.chart(PAGE, "markets", market_frame, queries=(ACCURACY,))
def markets_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    year = page_state["filters"]["fiscal_year"]
    figure = go.Figure([
        go.Bar(x=frame["member"], y=frame["abs_error"], name="Absolute error", marker_color=charts.LAST_YEAR,
               hovertemplate="%{x}: abs error %{y:,.0f}<extra></extra>"),
        go.Bar(x=frame["member"], y=frame["net_error"], name="Net error",
               marker_color=[RISK_COLORS[r] for r in frame["risk"]],
               hovertemplate="%{x}: net error %{y:+,.0f}<extra></extra>"),
        go.Scatter(x=frame["member"], y=frame["forecast_accuracy"], name=f"Accuracy {formatting.fiscal_year(year)}",
                   yaxis="y2", mode="lines+markers", line=dict(color=charts.THIS_YEAR, width=3),
                   hovertemplate="%{x}: accuracy %{y:.1%}<extra></extra>"),
        go.Scatter(x=frame["member"], y=frame["last_year_forecast_accuracy"], yaxis="y2", mode="markers",
                   name=f"Accuracy {formatting.fiscal_year(year - 1)}", marker=dict(color=charts.LAST_YEAR, size=8),
                   hovertemplate="%{x}: accuracy %{y:.1%}<extra></extra>"),
    ])
    figure.update_layout(barmode="group", yaxis2=dict(overlaying="y", side="right", tickformat=".0%", dtick=0.25,
                                                       range=[0, 1.05], showgrid=False, title="Accuracy"))
    return _units_axis(figure)


def risk_frame(page_state: dict) -> pd.DataFrame:
    frame = market_frame(page_state)
    largest = frame.loc[frame["net_error"].abs().sort_values(ascending=False, kind="stable").index[:RISK_MARKETS]]
    return largest.sort_values("net_error", ascending=False, kind="stable")


@cards.chart(PAGE, "risk", risk_frame, queries=(ACCURACY,))
def risk_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    share = frame["net_error"] / frame["forecast_quantity"]
    figure = go.Figure(go.Bar(
        x=frame["net_error"], y=frame["member"], orientation="h",
        marker_color=[RISK_COLORS[r] for r in frame["risk"]], customdata=frame["risk"],
        text=[f"{formatting.quantity(v)} ({formatting.signed_percent(s)})" for v, s in zip(frame["net_error"], share)],
        textposition="auto", cliponaxis=False,
        hovertemplate="%{y}: %{x:+,.0f} units, %{text} · %{customdata}<extra></extra>"))
    figure.update_layout(yaxis=dict(autorange="reversed"), showlegend=False)
    return _units_axis(figure, "xaxis")


# --- Customers and products with the largest errors -------------------------------

def top_errors(dimension: str):
    def frame(page_state: dict) -> pd.DataFrame:
        rows = ask(ACCURACY, page_state, dimension=dimension)
        rows = rows.sort_values("abs_error", ascending=False, kind="stable").head(TOP_ROWS)
        return rows.assign(accuracy_change=rows["forecast_accuracy"] - rows["last_year_forecast_accuracy"])
    return frame


def error_columns(frame: pd.DataFrame, page_state: dict) -> list[dict]:
    year = page_state["filters"]["fiscal_year"]
    risk_style = {"styleConditions": [{"condition": f"params.value === '{risk}'",
                                       "style": {"color": color, "fontWeight": 600}}
                                      for risk, color in RISK_COLORS.items()]}
    return wrap_headers([
        column("member", formatting.title(str(frame["dimension"].iloc[0])), pinned="left", minWidth=260),
        column("forecast_quantity", "Forecast"),
        column("sold_quantity", "Sold"),
        column("net_error", "Net error"),
        column("abs_error", "Abs error"),
        column("abs_error_pct", "Abs error %"),
        column("forecast_accuracy", "Accuracy"),
        column("accuracy_change", f"Accuracy vs {formatting.fiscal_year(year - 1)}", "points"),
        column("risk", "Risk", cellStyle=risk_style, minWidth=140),
    ])


cards.table(PAGE, "customers", top_errors("customer"), queries=(ACCURACY,))(error_columns)
cards.table(PAGE, "products", top_errors("product"), queries=(ACCURACY,))(error_columns)
