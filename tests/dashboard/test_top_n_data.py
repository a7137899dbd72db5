"""Top-N and Data: each card's data and drawing, called as plain functions on a
real warehouse, against the named query's answer (run on the warehouse itself)
for the same filters and settings; and a URL's out-of-range settings."""
from __future__ import annotations

import json

import dash
import pandas as pd
import plotly.utils
import pytest

from dashboard import formatting, state
from queries.runner import run

pytestmark = pytest.mark.usefixtures("dashboard_app")


@pytest.fixture(scope="module")
def top_n(dashboard_app):
    from dashboard.callbacks import top_n

    return top_n


@pytest.fixture(scope="module")
def data_status(dashboard_app):
    from dashboard.callbacks import data_status

    return data_status


def answer(warehouse, name: str, **params) -> pd.DataFrame:
    """The named query's answer, straight from the warehouse (no dashboard cache)."""
    params = {k: v for k, v in params.items() if v not in (None, "")}
    return run(warehouse, name, **params).to_pandas()


def text_of(component) -> str:
    return json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder)


def page_layout(path: str, **query):
    page = next(p for p in dash.page_registry.values() if p["path"] == path)
    return page["layout"](**query)


def find(component, predicate):
    """Every component of a layout tree that matches."""
    found = [component] if predicate(component) else []
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if hasattr(child, "to_plotly_json"):
            found += find(child, predicate)
    return found


# --- Top-N ------------------------------------------------------------------

RANK_QUERY = {"products": "top_products", "customers": "top_customers", "markets": "top_markets"}
CASES = [("customers", "gross_margin", 3), ("products", "sold_quantity", 5), ("markets", "net_sales", 10),
         ("products", "freight_cost", 50), ("customers", "cogs", 1)]


@pytest.mark.parametrize(("rank", "by", "n"), CASES)
def test_the_ranking_chart_is_the_top_query(top_n, full_warehouse, rank, by, n):
    page_state = state.for_page({"rank": rank, "by": by, "n": str(n)}, with_params=True)
    year = page_state["filters"]["fiscal_year"]
    expected = answer(full_warehouse, RANK_QUERY[rank], fiscal_year=year, n=n, by=by)
    assert 0 < len(expected) <= n

    frame = top_n.chart_frame(page_state)
    assert list(frame["rank"]) == list(expected["rank"])
    assert list(frame["value"]) == pytest.approx(list(expected["value"]))
    names = (expected["product"] + " · " + expected["variant"]) if rank == "products" else expected[rank[:-1]]
    assert list(frame["name"]) == list(names)

    figure = top_n.ranking_figure(frame, page_state)
    bars, last_year = figure.data
    assert list(bars.y) == list(names)
    assert list(bars.x) == pytest.approx(list(expected["value"]))
    assert list(last_year.x) == pytest.approx(list(expected["last_year_value"]), nan_ok=True)
    # The growth is in the labels and the hover text.
    for text, growth in zip(bars.text, expected["yoy_growth_pct"]):
        assert formatting.signed_percent(growth) in text
    assert figure.layout.xaxis.tickprefix == ("" if by == "sold_quantity" else "$")
    assert figure.layout.xaxis.title.text == formatting.title(by)
    # Market bars drill: a click sets the market filter.
    if rank == "markets":
        assert [list(c) for c in bars.customdata] == [["drill", "market", m] for m in expected["market"]]
    else:
        assert bars.customdata is None


@pytest.mark.parametrize(("rank", "by", "n"), CASES)
def test_the_ranking_table_is_the_top_query(top_n, full_warehouse, rank, by, n):
    page_state = state.for_page({"rank": rank, "by": by, "n": str(n)}, with_params=True)
    expected = answer(full_warehouse, RANK_QUERY[rank], fiscal_year=page_state["filters"]["fiscal_year"], n=n, by=by)

    table = top_n.table_frame(page_state)
    assert list(table["rank"]) == list(expected["rank"])
    assert list(table[rank[:-1]]) == list(expected[rank[:-1]])
    assert list(table[by]) == pytest.approx(list(expected["value"]))
    assert list(table[f"last_year_{by}"]) == pytest.approx(list(expected["last_year_value"]), nan_ok=True)
    assert list(table["yoy_growth_pct"]) == pytest.approx(list(expected["yoy_growth_pct"]), nan_ok=True)
    for measure in ("net_sales", "gross_margin", "sold_quantity"):
        assert list(table[measure]) == pytest.approx(list(expected[measure]))
    assert table.columns.is_unique

    columns = top_n.table_columns(table, page_state)
    assert [c["field"] for c in columns] == list(table.columns)  # the grid shows exactly the export's columns
    growth = next(c for c in columns if c["field"] == "yoy_growth_pct")
    rising_is = "delta-bad" if by in ("freight_cost", "cogs") else "delta-good"
    assert growth["cellClassRules"][rising_is] == "params.value > 0"


def test_the_ranking_follows_the_filters(top_n, full_warehouse):
    page_state = state.for_page({"rank": "customers", "by": "gross_margin", "n": "5"}, with_params=True)
    region = state.members().customers["region"].iloc[0]
    filtered = {**page_state, "filters": {**page_state["filters"], "region": region}}
    expected = answer(full_warehouse, "top_customers", fiscal_year=page_state["filters"]["fiscal_year"],
                      region=region, n=5, by="gross_margin")
    assert list(top_n.chart_frame(filtered)["value"]) == pytest.approx(list(expected["value"]))


@pytest.mark.parametrize("n", ["0", "1000000000", "abc", "-3", "51", "", "2.5"])
def test_an_out_of_range_n_falls_back_to_the_default(n):
    params = state.parse_params({"rank": "markets", "by": "cogs", "n": n})
    assert params == {"rank": "markets", "by": "cogs", "n": "10"}


def test_unknown_settings_fall_back_to_the_defaults():
    assert state.parse_params({"rank": "suppliers", "by": "profit; DROP TABLE x", "n": "7"}) == \
        {"rank": "products", "by": "net_sales", "n": "7"}
    assert state.parse_params({}) == {"rank": "products", "by": "net_sales", "n": "10"}


@pytest.mark.parametrize(("n", "shown"), [("1000000000", "10"), ("abc", "10"), ("0", "10"), ("7", "7"), ("50", "50")])
def test_the_page_renders_the_n_it_uses(n, shown):
    layout = page_layout("/top-n", rank="customers", n=n)
    dropdown = find(layout, lambda c: getattr(c, "id", None) == {"type": "page-param", "name": "n"})[0]
    assert dropdown.value == shown
    values = [o["value"] for o in dropdown.options]
    assert shown in values and {"3", "5", "10", "15", "20", "25", "50"} <= set(values)
    assert values == sorted(values, key=int)
    assert f"Top {shown} customers" in text_of(layout)


def test_a_dropdown_cannot_put_an_out_of_range_n_in_the_url():
    from dashboard.callbacks.shell import next_state

    m = state.members()
    _, params = next_state(("param", "n"), "1000", "?n=5", [None] * len(state.FILTERS), m)
    assert params["n"] == "5"
    _, params = next_state(("param", "by"), "gross_margin", "?n=5", [None] * len(state.FILTERS), m)
    assert (params["n"], params["by"]) == ("5", "gross_margin")
    assert state.to_search({}, params) == "?by=gross_margin&n=5"


# --- Data -------------------------------------------------------------------

@pytest.fixture(scope="module")
def dirty_warehouse(spark, tmp_path_factory):
    """A sample with an injected error of every kind, refreshed, failed to refresh
    (a missing source) and refreshed again: findings to show, a failure in the history."""
    from etl.generate import generate
    from tests.conftest import refresh_into

    folder = tmp_path_factory.mktemp("wh-dirty")
    generate(folder / "source", scale=0.01, seed=13, layout="full", fmt="csv", inject_errors=True)
    refresh_into(spark, folder / "source", folder / "bims.duckdb")
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the ETL raises, the run is recorded
        refresh_into(spark, folder / "missing", folder / "bims.duckdb")
    refresh_into(spark, folder / "source", folder / "bims.duckdb")
    return folder / "bims.duckdb"


def warehouse_at(db):
    from warehouse.duckdb import DuckDBWarehouse

    return DuckDBWarehouse(db)


DATA_STATE = {"filters": {}}


def kpi_texts(cards) -> dict[str, str]:
    """Each KPI card's label and the rest of its text."""
    out = {}
    for card in cards:
        body = json.loads(text_of(card))
        words = []

        def walk(node):
            if isinstance(node, str):
                words.extend([node] if node else [])
            elif isinstance(node, list):
                for item in node:
                    walk(item)
            elif isinstance(node, dict):
                walk(node.get("props", {}).get("children"))
        walk(body)
        out[words[0]] = " ".join(words[1:])
    return out


def latest_run(warehouse) -> dict:
    return warehouse.read("SELECT * FROM etl_runs ORDER BY started_at DESC LIMIT 1").to_pylist()[0]


def test_the_refresh_cards_show_the_latest_run(data_status, full_warehouse):
    run_row = latest_run(full_warehouse)
    frame = data_status.latest_frame(DATA_STATE)
    assert len(frame) == 1 and frame["run_id"].iloc[0] == run_row["run_id"]
    texts = kpi_texts(data_status.latest_cards(frame, DATA_STATE))
    assert run_row["status"] == "succeeded"
    assert texts["Status"].startswith("Succeeded")
    assert texts["Rows read"] == f"{formatting.quantity(run_row['rows_read'])} {run_row['rows_read']:,} rows"
    assert texts["Rows written"] == f"{formatting.quantity(run_row['rows_written'])} {run_row['rows_written']:,} rows"
    assert texts["Rows rejected"].startswith(formatting.quantity(run_row["rows_rejected"]))
    assert run_row["run_id"] in texts["Last refresh"]
    assert texts["Last refresh"].startswith(run_row["finished_at"].strftime("%d %b %Y"))
    assert texts["Layout"].startswith(formatting.title(run_row["layout"]))
    assert set(texts) == {"Last refresh", "Status", "Rows read", "Rows rejected", "Rows written", "Duration",
                          "Layout", "Missing optional tables"}


def test_the_rows_per_table_are_the_table_rows_query(data_status, full_warehouse):
    expected = answer(full_warehouse, "table_rows")
    frame = data_status.tables_frame(DATA_STATE)
    assert list(frame["table_name"]) == list(expected["table_name"])
    for column in ("rows_read", "rows_rejected", "rows_written"):
        assert frame[column].fillna(-1).tolist() == expected[column].fillna(-1).tolist()
    assert [c["field"] for c in data_status.tables_columns(frame, DATA_STATE)] == list(frame.columns)


def test_a_clean_refresh_says_it_has_no_findings(data_status, full_warehouse):
    from dashboard.callbacks import cards

    if not answer(full_warehouse, "data_quality_findings").empty:
        pytest.skip("the sample has findings")
    frame, problem = cards.produce(cards.CARDS[("data_status", "findings_by_rule")], DATA_STATE)
    assert frame is None and problem == data_status.NO_FINDINGS


def test_the_data_view_on_a_warehouse_with_findings_and_a_failed_run(data_status, dirty_warehouse, on_warehouse):
    warehouse = warehouse_at(dirty_warehouse)
    try:
        expected_findings = answer(warehouse, "data_quality_findings")
        runs = warehouse.read("SELECT * FROM etl_runs ORDER BY started_at DESC").to_pylist()
    finally:
        warehouse.close()
    assert not expected_findings.empty
    with on_warehouse(dirty_warehouse):
        # The findings table is the query's answer (its run id aside: one run).
        findings = data_status.findings_frame(DATA_STATE)
        pd.testing.assert_frame_equal(findings.reset_index(drop=True),
                                      expected_findings.drop(columns=["run_id"]).reset_index(drop=True))
        columns = data_status.findings_columns(findings, DATA_STATE)
        assert [c["field"] for c in columns] == list(findings.columns)

        # The chart: findings per rule, one bar trace per severity, most serious first.
        by_rule = data_status.findings_by_rule_frame(DATA_STATE)
        assert by_rule["findings"].sum() == expected_findings["findings"].sum()
        figure = data_status.findings_figure(by_rule, DATA_STATE)
        shown = {(formatting.title(s), rule): x for trace in figure.data for s in [trace.name]
                 for rule, x in zip(trace.y, trace.x)}
        totals = expected_findings.groupby(["severity", "rule"])["findings"].sum()
        assert shown == {(formatting.title(s), formatting.title(r)): v for (s, r), v in totals.items()}
        assert figure.data[0].name == "Rejected"
        assert figure.data[0].marker.color == data_status.SEVERITY_COLORS["rejected"]

        # The history holds the failed run, with its message; the cards show the latest run.
        history = data_status.history_frame(DATA_STATE)
        assert len(history) == len(runs) == 3
        assert list(history["status"]) == [r["status"] for r in runs] == ["succeeded", "failed", "succeeded"]
        assert history["message"].iloc[1] == runs[1]["message"] and runs[1]["message"]
        texts = kpi_texts(data_status.latest_cards(data_status.latest_frame(DATA_STATE), DATA_STATE))
        assert texts["Rows rejected"].startswith(formatting.quantity(runs[0]["rows_rejected"]))
        assert runs[0]["rows_rejected"] > 0
        assert texts["Rows read"].endswith(f"{runs[0]['rows_read']:,} rows")


def test_a_failed_latest_run_is_shown_as_failed(data_status):
    frame = pd.DataFrame([{
        "run_id": "r1", "started_at": pd.Timestamp("2021-09-01 10:00"), "finished_at": pd.Timestamp("2021-09-01 10:01"),
        "status": "failed", "source": "s3://x", "layout": None, "fiscal_years": None, "missing_tables": None,
        "rows_read": None, "rows_rejected": None, "rows_written": None, "seconds": 60.0,
        "message": "SourceError: no such folder"}])
    texts = kpi_texts(data_status.latest_cards(frame, DATA_STATE))
    assert texts["Status"] == "Failed SourceError: no such folder"
    assert texts["Rows read"].startswith("–")
    assert texts["Duration"].startswith("1 min 0 s")


def test_the_data_view_is_not_filtered():
    layout = page_layout("/data", region="APAC", fiscal_year="2021")
    store = find(layout, lambda c: getattr(c, "id", None) == {"type": "page-state", "page": "data_status"})[0]
    assert store.data == {"filters": {}}
    assert "Not filtered" in text_of(layout)
