"""One way to give a card its data: a card is a data function (the page's state
-> the DataFrame it shows, exactly what its CSV export holds) and a draw
function (that frame -> a figure, grid rows or KPI cards). Registering a card
makes its callback; the export callback serves every card from the same data
function."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Callable

import pandas as pd
from dash import ALL, MATCH, Input, Output, State, callback, dcc, html, no_update

from dashboard import audit, auth, charts, data, formatting, ids
from queries.catalog import catalog
from queries.runner import QueryError

log = logging.getLogger(__name__)

DataFunction = Callable[[dict], pd.DataFrame]


@dataclass(frozen=True)
class Card:
    page: str
    name: str
    kind: str                  # "chart" | "table" | "kpis"
    data: DataFunction
    draw: Callable
    # The named queries the card reads: their missing sources become its caveat.
    queries: tuple[str, ...] = ()
    # What the card says when its data function returns no rows.
    empty: str = charts.NO_DATA


CARDS: dict[tuple[str, str], Card] = {}

SOMETHING_WRONG = "Something went wrong while preparing this view; the server log has the details."


def caveat(names) -> str:
    """What the reader must know: a source the answer counts as 0."""
    missing = data.latest_refresh().missing
    tables = sorted({t for n in names for t in catalog()[n].uses if t in missing})
    return f"The data has no {', '.join(tables)}: counted as 0 here." if tables else ""


def produce(card: Card, page_state: dict):
    """The card's frame, or the sentence to show instead of it."""
    try:
        frame = card.data(page_state)
    except QueryError as exc:
        # Only a forged or stale link gets here (the filter bar offers valid
        # values): say which value, not the whole list of valid ones.
        message = str(exc).split("; valid values")[0]
        return None, re.sub(r"^--([a-z-]+)", lambda m: m.group(1).replace("-", " "), message) + "."
    except data.DataUnavailable as exc:
        return None, str(exc)
    except Exception:  # noqa: BLE001 - nothing but a sentence reaches the browser
        log.exception("card %s/%s failed", card.page, card.name)
        return None, SOMETHING_WRONG
    if frame is None or frame.empty:
        return None, card.empty
    return frame, None


def _note(card: Card) -> str:
    try:
        return caveat(card.queries)
    except data.DataUnavailable:
        return ""


def chart(page: str, name: str, data_function: DataFunction, queries=(), empty: str = charts.NO_DATA):
    """Decorator: register a chart card drawn by the decorated function(frame, state)."""
    def register(draw):
        card = CARDS[(page, name)] = Card(page, name, "chart", data_function, draw, tuple(queries), empty)

        @callback(Output(ids.chart(page, name), "figure"), Output(ids.note(page, name), "children"),
                  Input(ids.page_state(page), "data"), State(ids.THEME, "data"))
        def update(page_state, theme):
            frame, problem = produce(card, page_state)
            if problem:
                return charts.message(problem, theme), ""
            return charts.themed(draw(frame, page_state), theme), _note(card)

        return draw
    return register


def table(page: str, name: str, data_function: DataFunction, queries=()):
    """Decorator: register a table card whose columns the decorated function(frame, state) returns."""
    def register(columns):
        card = CARDS[(page, name)] = Card(page, name, "table", data_function, columns, tuple(queries))

        @callback(Output(ids.table(page, name), "rowData"), Output(ids.table(page, name), "columnDefs"),
                  Output(ids.table(page, name), "dashGridOptions"), Output(ids.note(page, name), "children"),
                  Input(ids.page_state(page), "data"), State(ids.table(page, name), "dashGridOptions"))
        def update(page_state, options):
            frame, problem = produce(card, page_state)
            if problem:
                return [], [], {**(options or {}), "localeText": {"noRowsToShow": problem}}, ""
            return (rows(frame), columns(frame, page_state),
                    {**(options or {}), "localeText": {"noRowsToShow": charts.NO_DATA}}, _note(card))

        return columns
    return register


def kpis(page: str, name: str, data_function: DataFunction, queries=()):
    """Decorator: register a row of KPI cards made by the decorated function(frame, state)."""
    def register(draw):
        card = CARDS[(page, name)] = Card(page, name, "kpis", data_function, draw, tuple(queries))

        @callback(Output(ids.kpis(page, name), "children"), Input(ids.page_state(page), "data"))
        def update(page_state):
            frame, problem = produce(card, page_state)
            if problem:
                return html.Div(problem, className="kpi-problem")
            return draw(frame, page_state)

        return draw
    return register


def rows(frame: pd.DataFrame) -> list[dict]:
    """Grid rows as JSON values: dates as ISO text, missing values as empty."""
    return [{k: _json_value(v) for k, v in record.items()} for record in frame.to_dict("records")]


def _json_value(value):
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


def column(field: str, header: str | None = None, kind: str | None = None, **extra) -> dict:
    """A grid column formatted by kind: money, quantity, percent, points or text."""
    kind = kind or ("percent" if formatting.is_percent(field) else "quantity" if formatting.is_quantity(field)
                    else None)
    definition = {"field": field, "headerName": header or formatting.title(field), **extra}
    formats = {  # functions of assets/dashAgGridFunctions.js
        "money": f"Money(params.value, '{currency()}')",
        "price": f"Price(params.value, '{currency()}')",
        "quantity": "Quantity(params.value)",
        "percent": "Percent(params.value)",
        "signed_percent": "SignedPercent(params.value)",
        "points": "Points(params.value)",
    }
    if kind in formats:
        definition.update(valueFormatter={"function": formats[kind]}, type="rightAligned",
                          filter="agNumberColumnFilter")
    if kind in ("signed_percent", "points"):
        definition["cellClassRules"] = {"delta-good": "params.value > 0", "delta-bad": "params.value < 0"}
    return definition


@callback(Output(ids.download(MATCH, MATCH), "data"),
          Input(ids.export(MATCH, MATCH), "n_clicks"),
          State(ids.page_state(ALL), "data"),
          prevent_initial_call=True)
def export(n_clicks, page_states):
    """The CSV of exactly what a card shows, named after its view and filters."""
    from dash import ctx  # noqa: PLC0415

    if not n_clicks or not page_states:
        return no_update
    page, name = ctx.triggered_id["page"], ctx.triggered_id["name"]
    card = CARDS.get((page, name))
    if card is None:
        return no_update
    frame, problem = produce(card, page_states[0])
    if frame is None:
        frame = pd.DataFrame({"message": [problem]})
    filename = formatting.export_filename(page, name, page_states[0]["filters"], _shown_params(page_states[0]))
    audit.record("export", auth.current_username(), address=auth.client_address(), view=page, card=name,
                 filters={k: v for k, v in (page_states[0].get("filters") or {}).items() if v is not None},
                 params=_shown_params(page_states[0]), rows=0 if problem else len(frame), file=filename)
    return dcc.send_string(formatting.to_csv(frame), filename, type="text/csv")


def _shown_params(page_state: dict) -> dict:
    return page_state.get("params") or {}


def ask(name: str, page_state: dict, **extra) -> pd.DataFrame:
    """A named query for a page's filters (those the query takes), plus extra parameters."""
    return data.query(name, **{**page_state["filters"], **extra})


def currency() -> str:
    return data.settings().currency


def wrap_headers(columns: list[dict]) -> list[dict]:
    """Grid columns whose long headings wrap onto a second line instead of being cut."""
    return [{**c, "wrapHeaderText": True, "autoHeaderHeight": True} for c in columns]
