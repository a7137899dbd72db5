"""Data: the last refresh and its status, the refresh history, rows per table and
the data-quality findings. It describes the warehouse as a whole, so the
filters do not apply (the filter bar stays: it is global)."""
import dash
from dash import dcc, html

from dashboard import components as c
from dashboard import ids

PAGE = "data_status"
NO_FINDINGS = "No findings: every row of the latest refresh passed the checks"
dash.register_page(__name__, path="/data", name="Data", title="BIMS · Data", order=6, icon="database-check")


def layout(**query):
    return html.Div([
        # No filters: the exports are named after the view only.
        dcc.Store(id=ids.page_state(PAGE), data={"filters": {}}),
        html.Div([html.H1("Data", className="page-title"),
                  html.Div([html.Span("Not filtered", className="fy-badge"),
                            html.Span("The warehouse as a whole: the filters above do not apply to this view",
                                      className="page-scope")], className="page-context")],
                 className="page-header"),
        c.grid(
            [(c.kpi_row(PAGE, "latest"), 12)],
            [(c.table_card(PAGE, "history", "Refresh history", "The last 10 refreshes, newest first; a failed "
                           "one shows why", None), 12)],
            [(c.table_card(PAGE, "tables", "Rows per table", "Read, rejected and written by the latest "
                           "successful refresh", None), 6),
             (c.chart_card(PAGE, "findings_by_rule", "Data-quality findings per rule",
                           "Rows flagged by the latest refresh, coloured by severity", 600), 6)],
            [(c.table_card(PAGE, "findings", "Data-quality findings", "Per table, rule and severity, with an "
                           "example row", None, empty=NO_FINDINGS), 12)],
        ),
    ])
