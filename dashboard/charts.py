"""Plotly figures in the product's style: one look for every chart, light and
dark, money on axes in K/M/B, fiscal months in order, and a plain sentence
instead of an empty axis."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from dashboard import formatting

FONT = "Inter Variable, Inter, system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
# One palette for both themes (readable on white and on near-black).
COLORS = ["#2f6fde", "#16a394", "#f28e2b", "#9c6ade", "#e15759", "#59a14f", "#edc948", "#76b7b2", "#ff9da7",
          "#9d7660"]
THIS_YEAR, LAST_YEAR = COLORS[0], "#9aa5b1"
GOOD, BAD = "#16a34a", "#dc2626"

THEMES = {
    "light": dict(paper="rgba(0,0,0,0)", plot="rgba(0,0,0,0)", text="#1f2933", grid="#e4e7eb", muted="#616e7c"),
    "dark": dict(paper="rgba(0,0,0,0)", plot="rgba(0,0,0,0)", text="#e4e7eb", grid="#323f4b", muted="#9aa5b1"),
}


def _template(theme: str) -> go.layout.Template:
    c = THEMES[theme]
    axis = dict(gridcolor=c["grid"], zerolinecolor=c["grid"], linecolor=c["grid"], tickfont=dict(color=c["muted"]),
                title=dict(font=dict(color=c["muted"])), automargin=True)
    return go.layout.Template(layout=go.Layout(
        font=dict(family=FONT, color=c["text"], size=13),
        paper_bgcolor=c["paper"], plot_bgcolor=c["plot"], colorway=COLORS,
        xaxis=axis, yaxis=axis,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0, bgcolor="rgba(0,0,0,0)"),
        margin=dict(l=8, r=8, t=36, b=8),
        hoverlabel=dict(font=dict(family=FONT)),
        separators=".,",
    ))


for _name in THEMES:
    pio.templates[f"bims_{_name}"] = _template(_name)


def template_name(theme: str | None) -> str:
    return f"bims_{theme if theme in THEMES else 'light'}"


def template_json(theme: str | None) -> dict:
    return pio.templates[template_name(theme)].to_plotly_json()


def themed(figure: go.Figure, theme: str | None) -> go.Figure:
    figure.update_layout(template=template_name(theme))
    return figure


def message(text: str, theme: str | None = None) -> go.Figure:
    """A figure that says something instead of showing an empty axis."""
    figure = go.Figure()
    figure.update_layout(
        template=template_name(theme), xaxis=dict(visible=False), yaxis=dict(visible=False),
        annotations=[dict(text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                          font=dict(size=15, color=THEMES["light"]["muted"]))],
        margin=dict(l=8, r=8, t=8, b=8))
    return figure


NO_DATA = "No data for these filters"


def money_axis(figure: go.Figure, axis: str = "yaxis", currency: str = "$") -> go.Figure:
    figure.update_layout({axis: dict(tickprefix=currency, tickformat="~s")})
    return figure


def _hover_money(currency: str) -> str:
    return f"{currency}%{{y:,.0f}}"


def drill_customdata(level: str, members) -> list:
    """What a drillable bar carries, so the click handler knows where to go."""
    return [["drill", level, str(m)] for m in members]


def bars(frame: pd.DataFrame, x: str, y: str, *, currency: str = "$", horizontal: bool = False,
         drill_level: str | None = None, color: str = THIS_YEAR, text_format=None,
         hover_label: str = "") -> go.Figure:
    """One bar per row; clickable for drill-down when a level is given."""
    values = frame[y]
    text = [text_format(v) for v in values] if text_format else [formatting.money(v, currency) for v in values]
    kwargs = dict(x=values, y=frame[x], orientation="h") if horizontal else dict(x=frame[x], y=values)
    bar = go.Bar(**kwargs, marker_color=color, text=text, textposition="auto", cliponaxis=False,
                 name=hover_label or formatting.title(y),
                 hovertemplate="%{" + ("y" if horizontal else "x") + "}: %{text}<extra></extra>")
    if drill_level:
        bar.customdata = drill_customdata(drill_level, frame[x])
    figure = go.Figure(bar)
    if horizontal:
        figure.update_layout(yaxis=dict(autorange="reversed"), xaxis=dict(tickprefix=currency, tickformat="~s"))
    else:
        money_axis(figure, currency=currency)
    return figure


def month_trend(frame: pd.DataFrame, this_year: str, last_year: str, fiscal_year: int, *,
                currency: str = "$", start_month: int = 9) -> go.Figure:
    """A measure by fiscal month against the same month a year before."""
    names = formatting.fiscal_month_names(start_month)
    x = [names[int(m) - 1] for m in frame["fiscal_month"]]
    figure = go.Figure([
        go.Scatter(x=x, y=frame[last_year], name=formatting.fiscal_year(fiscal_year - 1), mode="lines+markers",
                   line=dict(color=LAST_YEAR, dash="dot"), hovertemplate=_hover_money(currency)),
        go.Scatter(x=x, y=frame[this_year], name=formatting.fiscal_year(fiscal_year), mode="lines+markers",
                   line=dict(color=THIS_YEAR, width=3), hovertemplate=_hover_money(currency)),
    ])
    figure.update_layout(xaxis=dict(categoryorder="array", categoryarray=names), hovermode="x unified")
    return money_axis(figure, currency=currency)


def waterfall(steps: list[tuple[str, float, str]], currency: str = "$") -> go.Figure:
    """steps: (label, amount, "absolute" | "relative" | "total")."""
    figure = go.Figure(go.Waterfall(
        x=[s[0] for s in steps], y=[s[1] for s in steps], measure=[s[2] for s in steps],
        text=[formatting.money(s[1], currency) for s in steps], textposition="outside",
        connector=dict(line=dict(color="#9aa5b1", width=1)),
        increasing=dict(marker=dict(color=GOOD)), decreasing=dict(marker=dict(color=BAD)),
        totals=dict(marker=dict(color=THIS_YEAR)),
        hovertemplate="%{x}: %{text}<extra></extra>"))
    return money_axis(figure, currency=currency)


def donut(labels, values, currency: str = "$", drill_level: str | None = None) -> go.Figure:
    pie = go.Pie(labels=list(labels), values=list(values), hole=0.55, sort=False,
                 texttemplate="%{label}<br>%{percent:.1%}", textposition="outside",
                 hovertemplate="%{label}: " + currency + "%{value:,.0f} (%{percent:.1%})<extra></extra>")
    if drill_level:
        pie.customdata = drill_customdata(drill_level, labels)
    figure = go.Figure(pie)
    figure.update_layout(showlegend=False, margin=dict(l=40, r=40, t=40, b=40))
    return figure
