"""Overview and Sales: each card's figure or table holds the named query's
answer for the same filters (the cards' functions called directly), and one
callback called over HTTP as the browser calls it."""
from __future__ import annotations

import base64
import json

import numpy as np

import pytest

from dashboard import formatting, ids
from queries.runner import run
from tests.dashboard.signin import signed_in_client


def page_state(**filters) -> dict:
    base = {name: None for name in ("fiscal_year", "region", "sub_zone", "market", "customer", "channel",
                                    "platform", "division", "segment", "category", "product")}
    return {"filters": {**base, **filters}}


@pytest.fixture(scope="module")
def cards(dashboard_app):
    from dashboard.callbacks import cards, overview, sales

    return cards, overview, sales


def test_kpis_are_the_kpis_query(cards, full_warehouse):
    cards_module, overview, _ = cards
    state = page_state(fiscal_year=2021, region="EU")
    frame = overview.kpi_frame(state)
    expected = run(full_warehouse, "kpis", fiscal_year=2021, region="EU").to_pylist()
    assert cards_module.rows(frame) == expected
    shown = overview.kpi_cards(frame, state)
    text = json.dumps([c.to_plotly_json() for c in shown], default=lambda o: o.to_plotly_json())
    by = {r["measure"]: r for r in expected}
    assert formatting.money(by["net_sales"]["this_year"]) in text
    assert formatting.percent(by["gm_pct"]["this_year"]) in text
    assert formatting.points(by["gm_pct"]["change"]) in text
    assert "vs FY2020" in text


def test_trend_is_sales_monthly_in_fiscal_order(cards, full_warehouse):
    _, overview, _ = cards
    state = page_state(fiscal_year=2021, channel="Retailer")
    figure = overview.trend_figure(overview.trend_frame(state), state)
    expected = run(full_warehouse, "sales_monthly", fiscal_year=2021, channel="Retailer").to_pylist()
    this_year = next(t for t in figure.data if t.name == "FY2021")
    last_year = next(t for t in figure.data if t.name == "FY2020")
    assert list(this_year.y) == [r["net_sales"] for r in expected]
    assert list(last_year.y) == [r["last_year_net_sales"] for r in expected]
    assert list(this_year.x)[:2] == ["Sep", "Oct"] and list(this_year.x)[-1] == "Aug"


def test_share_by_region_drills_into_markets(cards, full_warehouse):
    _, overview, _ = cards
    state = page_state(fiscal_year=2021)
    frame = overview.share_frame(state)
    regions = run(full_warehouse, "sales_by_dimension", fiscal_year=2021, dimension="region").to_pylist()
    figure = overview.share_figure(frame, state)
    assert list(figure.data[0].labels) == [r["member"] for r in regions]
    assert list(figure.data[0].values) == [r["net_sales"] for r in regions]
    assert [list(c) for c in figure.data[0].customdata][0] == ["drill", "region", regions[0]["member"]]

    in_apac = overview.share_frame(page_state(fiscal_year=2021, region="APAC"))
    markets = run(full_warehouse, "sales_by_dimension", fiscal_year=2021, region="APAC", dimension="market")
    assert set(in_apac["dimension"]) == {"market"}
    assert in_apac["member"].tolist() == markets.column("member").to_pylist()[:overview.SHARE_ROWS]


def test_top_customers_and_products(cards, full_warehouse):
    _, overview, _ = cards
    state = page_state(fiscal_year=2020, division="PC")
    customers = overview.top_customers_figure(overview.top_frame("top_customers")(state), state)
    expected = run(full_warehouse, "top_customers", fiscal_year=2020, division="PC", n=5, by="net_sales").to_pylist()
    assert list(customers.data[0].y) == [r["customer"] for r in expected]
    assert list(customers.data[0].x) == [r["value"] for r in expected]
    products = overview.top_products_figure(overview.top_frame("top_products")(state), state)
    expected = run(full_warehouse, "top_products", fiscal_year=2020, division="PC", n=5, by="net_sales").to_pylist()
    assert list(products.data[0].y) == [f"{r['product']} · {r['variant']}" for r in expected]


def test_pnl_table_is_the_pnl_query(cards, full_warehouse):
    cards_module, _, sales = cards
    state = page_state(fiscal_year=2021, market="India")
    frame = sales.pnl_frame(state)
    expected = run(full_warehouse, "pnl", fiscal_year=2021, market="India").to_pylist()
    rows = cards_module.rows(frame)
    assert [r["line"] for r in rows] == [e["line"] for e in expected]
    assert [r["this_year"] for r in rows] == [e["this_year"] for e in expected]
    headers = [c["headerName"] for c in sales.pnl_columns(frame, state)]
    assert headers == ["Line", "FY2021", "FY2020", "Change"]


def test_drill_charts_follow_the_filters(cards, full_warehouse):
    _, _, sales = cards
    state = page_state(fiscal_year=2021, region="NA", division="P & A")
    geography = sales.geography_figure(sales.drill_frame("region")(state), state)
    markets = run(full_warehouse, "sales_by_dimension", fiscal_year=2021, region="NA", division="P & A",
                  dimension="market").to_pylist()
    assert list(geography.data[0].y) == [m["member"] for m in markets]
    assert list(geography.data[0].x) == [m["net_sales"] for m in markets]
    assert {c[1] for c in geography.data[0].customdata} == {"market"}
    products = sales.products_figure(sales.drill_frame("product")(state), state)
    segments = run(full_warehouse, "sales_by_dimension", fiscal_year=2021, region="NA", division="P & A",
                   dimension="segment").to_pylist()
    assert list(products.data[0].y) == [s["member"] for s in segments]


def test_channels_stack_to_the_query(cards, full_warehouse):
    _, _, sales = cards
    state = page_state(fiscal_year=2021)
    figure = sales.channels_figure(sales.channels_frame(state), state)
    expected = run(full_warehouse, "sales_by_channel", fiscal_year=2021).to_pylist()
    shown = {(channel, trace.name): value for trace in figure.data for channel, value in zip(trace.x, trace.y)}
    assert shown == {(r["channel"], r["platform"]): r["net_sales"] for r in expected}


def test_a_card_callback_over_http_returns_the_query_answer(dashboard_app, full_warehouse):
    """The callback as the browser calls it: POST /_dash-update-component."""
    client = signed_in_client(dashboard_app.server)
    assert client.get("/").status_code == 200  # the first request sets up the routes
    state = page_state(fiscal_year=2021, region="LATAM")
    chart, note = ids.chart("sales", "monthly"), ids.note("sales", "monthly")
    body = {
        "output": f"..{json.dumps(chart, sort_keys=True, separators=(',', ':'))}.figure..."
                  f"{json.dumps(note, sort_keys=True, separators=(',', ':'))}.children..",
        "outputs": [{"id": chart, "property": "figure"}, {"id": note, "property": "children"}],
        "inputs": [{"id": ids.page_state("sales"), "property": "data", "value": state}],
        "state": [{"id": ids.THEME, "property": "data", "value": "light"}],
        "changedPropIds": [json.dumps(ids.page_state("sales"), sort_keys=True, separators=(",", ":")) + ".data"],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    figure = response.get_json()["response"][json.dumps(chart, sort_keys=True, separators=(",", ":"))]["figure"]
    expected = run(full_warehouse, "sales_monthly", fiscal_year=2021, region="LATAM").to_pylist()
    bars = next(t for t in figure["data"] if t["type"] == "bar")
    assert decoded(bars["y"]) == [r["net_sales"] for r in expected]


def decoded(values) -> list:
    """Plotly sends numeric arrays as base64 typed arrays."""
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)
