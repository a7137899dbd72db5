"""The pieces every page is built from: the navigation bar, the shared filter
bar and breadcrumbs, KPI cards, chart cards and table cards (each with a CSV
export and a loading indicator), and the page frame."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import charts, formatting, ids, state

GRAPH_CONFIG = {"displaylogo": False, "responsive": True,
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"]}


def user_menu(user) -> html.Div | None:
    """Who is signed in, their role, and sign-out (a POST form: a link could be
    followed by another site)."""
    if user is None:
        return None
    return html.Div([
        html.I(className="bi bi-person-circle me-1"),
        html.Span(user.username, id=ids.USER_NAME),
        html.Span(user.account.role, className="user-role ms-1 me-2"),
        html.Form(html.Button([html.I(className="bi bi-box-arrow-right me-1"), "Sign out"], type="submit",
                              id=ids.SIGN_OUT, className="btn btn-link sign-out"),
                  action="/logout", method="POST"),
    ], className="user-menu d-flex align-items-center ms-2")


def navbar(pages, user=None) -> dbc.Navbar:
    links = [dbc.NavItem(dbc.NavLink([html.I(className=f"bi bi-{p['icon']} me-1"), p["name"]],
                                     href=p["path"], id=ids.nav_link(p["module"].rsplit(".", 1)[-1]),
                                     active="exact"))
             for p in pages]
    return dbc.Navbar(dbc.Container([
        dbc.NavbarBrand([html.I(className="bi bi-bar-chart-line-fill me-2"), "BIMS",
                         html.Span("Business Insights", className="brand-sub ms-2")], href="/"),
        # Below the lg breakpoint the links collapse: the user menu then follows the
        # brand, the menu button sits at the right edge, and the links open below.
        dbc.NavbarToggler(id=ids.NAV_TOGGLER, className="order-3 order-lg-0 ms-2"),
        dbc.Collapse(dbc.Nav(links, navbar=True, className="me-auto"), id=ids.NAV_COLLAPSE, navbar=True,
                     className="order-4 order-lg-0"),
        html.Div([
            html.Span(id=ids.REFRESH_INFO, className="refresh-info me-3"),
            dbc.Button(html.I(className="bi bi-circle-half"), id=ids.THEME_TOGGLE, color="link",
                       className="theme-toggle", title="Light or dark theme", n_clicks=0),
            user_menu(user),
        ], className="d-flex align-items-center order-2 order-lg-0 ms-auto ms-lg-0"),
    ], fluid=True), id=ids.NAVBAR, className="bims-navbar mb-3", color="dark", dark=True,
                      expand="lg")


def _dropdown(name: str, width: int = 2) -> dbc.Col:
    return dbc.Col(html.Div([
        dbc.Label(state.LABELS[name], html_for=ids.filter_control(name), className="filter-label"),
        dcc.Dropdown(id=ids.filter_control(name), clearable=name != "fiscal_year", searchable=True,
                     placeholder="All", optionHeight=32, className="filter-dropdown"),
    ]), xs=6, md=4, lg=width, className="mb-2")


def filter_bar() -> dbc.Card:
    return dbc.Card(dbc.CardBody([
        dbc.Row([_dropdown("fiscal_year", 1), _dropdown("region", 1), _dropdown("sub_zone", 1),
                 _dropdown("market"), _dropdown("customer"), _dropdown("channel", 1), _dropdown("platform", 1),
                 dbc.Col(dbc.Button([html.I(className="bi bi-x-circle me-1"), "Clear"], id=ids.RESET,
                                    color="secondary", outline=True, size="sm", className="w-100 reset-button"),
                         xs=6, md=4, lg=1, className="mb-2 d-flex align-items-end")], className="g-2"),
        dbc.Row([_dropdown("division"), _dropdown("segment"), _dropdown("category"), _dropdown("product", 3),
                 dbc.Col(html.Div([html.Div(id=ids.breadcrumb("region"), className="crumbs"),
                                   html.Div(id=ids.breadcrumb("product"), className="crumbs")]),
                         xs=12, lg=3, className="mb-2 d-flex flex-column justify-content-end")],
                className="g-2"),
    ], className="py-2"), className="filter-bar mb-3 shadow-sm")


def breadcrumb(hierarchy: str, filters: dict) -> list:
    path = state.crumbs(filters, hierarchy)
    items = []
    for i, (label, level) in enumerate(path):
        last = i == len(path) - 1
        if i:
            items.append(html.I(className="bi bi-chevron-right crumb-sep"))
        items.append(html.Span(label, className="crumb-current") if last and i else
                     html.Button(label, id=ids.crumb(hierarchy, level or ""), n_clicks=0,
                                 className="crumb-link", disabled=last))
    return items


def kpi_card(label: str, value: str, delta: str, good: bool | None, caption: str) -> dbc.Card:
    tone = "neutral" if good is None else ("good" if good else "bad")
    arrow = "" if good is None else ("bi-arrow-up-right" if delta.startswith("+") else "bi-arrow-down-right")
    return dbc.Card(dbc.CardBody([
        html.Div(label, className="kpi-label"),
        html.Div(value, className="kpi-value"),
        html.Div([html.I(className=f"bi {arrow} me-1") if arrow else None, delta,
                  html.Span(caption, className="kpi-caption ms-1")], className=f"kpi-delta {tone}"),
    ]), className="kpi-card h-100 shadow-sm")


def _card_header(page: str, name: str, title: str, subtitle: str | None) -> dbc.CardHeader:
    return dbc.CardHeader(html.Div([
        html.Div([html.H2(title, className="card-title-text"),
                  html.Div(subtitle, className="card-subtitle") if subtitle else None]),
        html.Div([
            dbc.Button(html.I(className="bi bi-download"), id=ids.export(page, name), n_clicks=0, color="link",
                       size="sm", className="export-button", title="Export the data of this card to CSV"),
            dcc.Download(id=ids.download(page, name)),
        ]),
    ], className="d-flex justify-content-between align-items-start"))


def chart_card(page: str, name: str, title: str, subtitle: str | None = None, height: int = 340) -> dbc.Card:
    return dbc.Card([
        _card_header(page, name, title, subtitle),
        dbc.CardBody([
            dcc.Loading(dcc.Graph(id=ids.chart(page, name), config=GRAPH_CONFIG, style={"height": f"{height}px"},
                                  figure=charts.message("")),
                        type="dot", delay_show=150, color="#2f6fde"),
            html.Div(id=ids.note(page, name), className="card-note"),
        ], className="p-2"),
    ], className="chart-card h-100 shadow-sm")


def table_card(page: str, name: str, title: str, subtitle: str | None = None, height: int | None = 360,
               empty: str = charts.NO_DATA) -> dbc.Card:
    """A grid card; height None grows the grid to its rows (short tables like the P&L); empty: what an
    empty grid says (AG Grid reads it once, when it is made)."""
    options = {"localeText": {"noRowsToShow": empty}, "animateRows": False, "suppressCellFocus": True}
    if height is None:
        options["domLayout"] = "autoHeight"
    grid = dag.AgGrid(
        id=ids.table(page, name), rowData=[], columnDefs=[], className="ag-theme-quartz bims-grid",
        columnSize="responsiveSizeToFit", style={"height": f"{height}px"} if height else {},
        defaultColDef={"sortable": True, "resizable": True, "filter": True, "minWidth": 90},
        dashGridOptions=options)
    return dbc.Card([
        _card_header(page, name, title, subtitle),
        dbc.CardBody([dcc.Loading(grid, type="dot", delay_show=150, color="#2f6fde"),
                      html.Div(id=ids.note(page, name), className="card-note")], className="p-2"),
    ], className="table-card h-100 shadow-sm")


def kpi_row(page: str, name: str) -> html.Div:
    return dcc.Loading(html.Div(id=ids.kpis(page, name), className="kpi-row"), type="dot", delay_show=150,
                       color="#2f6fde")


def unavailable(reason: str) -> dbc.Alert:
    return dbc.Alert([html.I(className="bi bi-info-circle me-2"), reason], color="secondary",
                     className="unavailable")


def page(name: str, title: str, query: dict, body, with_params: bool = False) -> html.Div:
    """A page: its heading, the state it was rendered for, and its body (a
    callable of that state, so a page can change with the data it has)."""
    from dashboard import data  # noqa: PLC0415 - pages import components at registration time

    try:
        page_state = state.for_page(query, with_params)
    except data.DataUnavailable as exc:
        return html.Div([html.H1(title, className="page-title"), unavailable(str(exc))])
    filters = page_state["filters"]
    limit = data.scope_label()
    everything = f"All of your data ({limit})" if limit else "All markets and products"
    scope = " · ".join(str(filters[f]) for f in state.FILTERS[1:] if filters.get(f)) or everything
    return html.Div([
        dcc.Store(id=ids.page_state(name), data=page_state),
        html.Div([html.H1(title, className="page-title"),
                  html.Div([html.Span(formatting.fiscal_year(filters.get("fiscal_year")), className="fy-badge"),
                            html.Span(scope, className="page-scope")], className="page-context")],
                 className="page-header"),
        body(page_state),
    ])


def grid(*rows) -> html.Div:
    """Rows of cards: each row a list of (card, width on a large screen)."""
    return html.Div([dbc.Row([dbc.Col(card, xs=12, lg=width, className="mb-3") for card, width in row],
                             className="g-3") for row in rows])


def page_param_select(name: str, label: str, options: list[dict], value) -> html.Div:
    return html.Div([dbc.Label(label, html_for=str(ids.page_param(name)), className="filter-label"),
                     dcc.Dropdown(id=ids.page_param(name), options=options, value=value, clearable=False)],
                    className="page-param")

