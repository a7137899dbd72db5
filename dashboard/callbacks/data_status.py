"""Data: the latest refresh as KPI cards, the refresh history, rows per table
and the data-quality findings. Nothing here depends on the filters."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from dash import html

from dashboard import charts, components, formatting
from dashboard.callbacks import cards
from dashboard.callbacks.cards import ask, column, wrap_headers

PAGE = "data_status"
HISTORY_RUNS = 10
NO_FINDINGS = "No data-quality findings in the latest refresh: every row passed the checks"
# Most serious first; the bars' colours.
SEVERITY_COLORS = {"rejected": charts.BAD, "error": "#f28e2b", "warning": "#edc948"}
OTHER_SEVERITY = charts.LAST_YEAR


def latest_frame(page_state: dict) -> pd.DataFrame:
    return ask("refresh_history", page_state, n=1)


def _when(value) -> tuple[str, str]:
    """The day, and the time of day."""
    return (value.strftime("%d %b %Y"), value.strftime("%H:%M UTC")) if hasattr(value, "strftime") else ("–", "")


def _duration(seconds) -> str:
    if pd.isna(seconds):
        return "–"
    minutes, rest = divmod(float(seconds), 60)
    return f"{int(minutes)} min {rest:.0f} s" if minutes else f"{rest:.1f} s"


def _status(status: str):
    ok = status == "succeeded"
    icon = "bi-check-circle-fill" if ok else "bi-x-octagon-fill"
    return html.Span([html.I(className=f"bi {icon} me-2"), formatting.title(status or "unknown")],
                     className=f"kpi-delta {'good' if ok else 'bad'}", style={"fontSize": "inherit"})


def _rows(value) -> tuple[str, str]:
    return formatting.quantity(value), "–" if pd.isna(value) else f"{int(value):,} rows"


@cards.kpis(PAGE, "latest", latest_frame)
def latest_cards(frame: pd.DataFrame, page_state: dict):
    run = frame.iloc[0]
    read, rejected = run["rows_read"], run["rows_rejected"]
    share = rejected / read if not pd.isna(read) and read and not pd.isna(rejected) else None
    missing = (run["missing_tables"] or "").split()
    years = run["fiscal_years"] or "all"
    tiles = [
        ("Last refresh", *_when(run["finished_at"] if not pd.isna(run["finished_at"]) else run["started_at"]),
         f"· run {run['run_id']}"),
        ("Status", _status(run["status"]), run["message"] or f"from {run['source']}", ""),
        ("Rows read", *_rows(read), ""),
        ("Rows rejected", formatting.quantity(rejected), formatting.percent(share, 2), "of rows read"),
        ("Rows written", *_rows(run["rows_written"]), ""),
        ("Duration", _duration(run["seconds"]), "extract to load", ""),
        ("Layout", formatting.title(run["layout"] or "unknown"),
         "all fiscal years" if years == "all" else f"fiscal years {years}", ""),
        ("Missing optional tables", str(len(missing)) if missing else "None",
         ", ".join(missing) if missing else "every optional table present", ""),
    ]
    return [html.Div(components.kpi_card(label, value, delta, None, caption), className="kpi-col")
            for label, value, delta, caption in tiles]


HISTORY_COLUMNS = ["started_at", "status", "seconds", "rows_read", "rows_rejected", "rows_written", "layout",
                   "missing_tables", "message"]


def history_frame(page_state: dict) -> pd.DataFrame:
    return ask("refresh_history", page_state, n=HISTORY_RUNS)[HISTORY_COLUMNS]


def status_column(field: str, bad: str) -> dict:
    """A text column whose serious values are marked red (and the good one green)."""
    return column(field, cellClassRules={"delta-bad": f"{bad}.includes(params.value)",
                                         "delta-good": "params.value === 'succeeded'"})


@cards.table(PAGE, "history", history_frame)
def history_columns(frame: pd.DataFrame, page_state: dict) -> list[dict]:
    return wrap_headers([
        column("started_at", "Started (UTC)", minWidth=160,
               valueFormatter={"function": "params.value ? params.value.slice(0, 16).replace('T', ' ') : '–'"}),
        status_column("status", "['failed', 'running']"),
        column("seconds", "Duration", type="rightAligned", minWidth=115,
               valueFormatter={"function": "params.value == null ? '–' : params.value.toFixed(1) + ' s'"}),
        column("rows_read", "Rows read"), column("rows_rejected", "Rejected", minWidth=115),
        column("rows_written", "Written"), column("layout", minWidth=100),
        column("missing_tables", "Missing tables"),
        column("message", minWidth=360, tooltipField="message",
               cellClassRules={"delta-bad": "params.data.status !== 'succeeded' && !!params.value"}),
    ])


def tables_frame(page_state: dict) -> pd.DataFrame:
    return ask("table_rows", page_state)[["table_name", "rows_read", "rows_rejected", "rejected_pct", "rows_written"]]


@cards.table(PAGE, "tables", tables_frame)
def tables_columns(frame: pd.DataFrame, page_state: dict) -> list[dict]:
    return wrap_headers([column("table_name", "Table", minWidth=260), column("rows_read", "Read", minWidth=80),
                         column("rows_rejected", "Rejected", minWidth=80),
                         column("rejected_pct", "Rejected %", minWidth=80),
                         column("rows_written", "Written", minWidth=80)])


def findings_frame(page_state: dict) -> pd.DataFrame:
    return ask("data_quality_findings", page_state).drop(columns=["run_id"])


def findings_by_rule_frame(page_state: dict) -> pd.DataFrame:
    frame = findings_frame(page_state)
    by_rule = frame.groupby(["rule", "severity"], as_index=False, sort=False).agg(
        findings=("findings", "sum"), tables=("table_name", lambda t: ", ".join(sorted(set(t)))))
    total = by_rule.groupby("rule")["findings"].transform("sum")
    return by_rule.assign(total=total).sort_values(["total", "rule"], ascending=[False, True]).drop(columns="total")


@cards.chart(PAGE, "findings_by_rule", findings_by_rule_frame, empty=NO_FINDINGS)
def findings_figure(frame: pd.DataFrame, page_state: dict) -> go.Figure:
    rules = list(dict.fromkeys(frame["rule"]))
    severities = [s for s in SEVERITY_COLORS if s in set(frame["severity"])] + \
        sorted(set(frame["severity"]) - set(SEVERITY_COLORS))
    figure = go.Figure([
        go.Bar(y=[formatting.title(r) for r in part["rule"]], x=part["findings"], orientation="h",
               name=formatting.title(severity), marker_color=SEVERITY_COLORS.get(severity, OTHER_SEVERITY),
               text=[formatting.quantity(v) for v in part["findings"]], textposition="auto",
               customdata=part["tables"],
               hovertemplate="%{y} · " + severity + ": %{x:,} rows<br>in %{customdata}<extra></extra>")
        for severity in severities for part in [frame[frame["severity"] == severity]]
    ])
    figure.update_layout(barmode="stack", showlegend=True, bargap=0.35,
                         yaxis=dict(categoryorder="array", categoryarray=[formatting.title(r) for r in rules],
                                    autorange="reversed"),
                         legend=dict(traceorder="normal"), xaxis=_count_axis(frame))
    return figure


def _count_axis(frame: pd.DataFrame) -> dict:
    """Whole rows only: a step of 1 while the counts are small."""
    most = frame.groupby("rule")["findings"].sum().max()
    return dict(title="Rows flagged", tickformat="~s", rangemode="tozero", **({"dtick": 1} if most <= 10 else {}))


@cards.table(PAGE, "findings", findings_frame)
def findings_columns(frame: pd.DataFrame, page_state: dict) -> list[dict]:
    return [column("table_name", "Table", minWidth=170), column("rule", minWidth=160),
            status_column("severity", "['rejected', 'error']"), column("findings", "Rows", maxWidth=110),
            column("example_row_key", "Example row", minWidth=170, tooltipField="example_row_key"),
            column("example_value", "Example value"),
            column("message", minWidth=360, tooltipField="message")]
