"""Users (admins only): who may sign in, their role and the regions or markets
they are limited to. Changes take effect on the user's next request; a new
password ends their other sessions."""
import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import auth, data, ids
from dashboard import components as c
from dashboard.users import MIN_PASSWORD_LENGTH, ROLES

dash.register_page(__name__, path="/users", name="Users", title="BIMS · Users", order=7, icon="people",
                   admin_only=True)

COLUMNS = [{"field": "username", "headerName": "User"}, {"field": "role", "headerName": "Role"},
           {"field": "scope", "headerName": "May see", "flex": 2},
           {"field": "created_at", "headerName": "Created"},
           {"field": "password_changed_at", "headerName": "Password set"}]


def _field(label: str, control, help_text: str | None = None) -> html.Div:
    return html.Div([dbc.Label(label, html_for=control.id, className="filter-label"), control,
                     dbc.FormText(help_text) if help_text else None], className="mb-3")


def _options(name: str) -> list:
    try:
        return data.options(name)
    except data.DataUnavailable:
        return []


def form() -> dbc.Card:
    f = ids.USER_FORM
    return dbc.Card([
        dbc.CardHeader(html.H2("Add or change a user", className="card-title-text")),
        dbc.CardBody([
            _field("User name", dbc.Input(id=f["username"], maxLength=64, autocomplete="off"),
                   "Lower-case letters, digits, '.', '_' or '-'. Pick a row to change that user."),
            _field("Role", dcc.Dropdown(id=f["role"], options=list(ROLES), value="viewer", clearable=False),
                   "Admins manage users; viewers see figures."),
            _field("Regions", dcc.Dropdown(id=f["regions"], options=_options("region"), multi=True,
                                           placeholder="Every region")),
            _field("Markets", dcc.Dropdown(id=f["markets"], options=_options("market"), multi=True,
                                           placeholder="Every market"),
                   "No region and no market: the user sees every market."),
            _field("Password", dbc.Input(id=f["password"], type="password", autocomplete="new-password",
                                         maxLength=1024),
                   f"At least {MIN_PASSWORD_LENGTH} characters. Needed for a new user; "
                   "for an existing one, leave it empty to keep theirs."),
            html.Div([dbc.Button([html.I(className="bi bi-check-lg me-1"), "Save"], id=ids.USER_SAVE,
                                 color="primary", n_clicks=0),
                      dbc.Button([html.I(className="bi bi-trash me-1"), "Remove"], id=ids.USER_REMOVE,
                                 color="danger", outline=True, n_clicks=0, className="ms-2")]),
            dbc.Alert(id=ids.USER_FEEDBACK, is_open=False, className="mt-3 mb-0"),
        ]),
    ], className="shadow-sm")


def layout(**query):
    title = html.Div(html.H1("Users", className="page-title"), className="page-header")
    if not auth.is_admin():
        return html.Div([title, c.unavailable("Only administrators manage users.")])
    table = dbc.Card([
        dbc.CardHeader(html.H2("Who may sign in", className="card-title-text")),
        dbc.CardBody(dag.AgGrid(id=ids.USERS_TABLE, rowData=[u.public() for u in auth.store().all().values()],
                                columnDefs=COLUMNS, className="ag-theme-quartz bims-grid",
                                columnSize="responsiveSizeToFit", style={"height": "420px"},
                                dashGridOptions={"rowSelection": {"mode": "singleRow"}, "animateRows": False}),
                     className="p-2"),
    ], className="table-card shadow-sm")
    return html.Div([title, dbc.Row([dbc.Col(table, xs=12, lg=7, className="mb-3"),
                                     dbc.Col(form(), xs=12, lg=5, className="mb-3")], className="g-3")])
