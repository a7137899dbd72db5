"""Demand, Pricing and Freight & costs: each card's data and drawing, called as
plain functions on the sample warehouse, against the named query's answer for
the same filters."""
from __future__ import annotations

import json

import dash
import pandas as pd
import plotly.utils
import pytest

from dashboard import data, formatting, state

pytestmark = pytest.mark.usefixtures("dashboard_app")


@pytest.fixture(scope="module")
def callbacks(dashboard_app):
    from dashboard.callbacks import costs, demand, pricing

    return demand, pricing, costs


@pytest.fixture
def page_state(dashboard_app) -> dict:
    """The default state: every filter empty, the latest complete fiscal year."""
    return state.for_page({})


def with_filters(page_state: dict, **filters) -> dict:
    return {**page_state, "filters": {**page_state["filters"], **filters}}


def query(name: str, page_state: dict, **extra) -> pd.DataFrame:
    return data.query(name, **{**page_state["filters"], **extra})


def largest_market(page_state: dict) -> str:
    return str(query("forecast_accuracy_by_dimension", page_state, dimension="market")["member"].iloc[0])


def text_of(component) -> str:
    return json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder)


def page_layout(path: str):
    page = next(p for p in dash.page_registry.values() if p["path"] == path)
    return page["layout"]()


# --- Demand ----------------------------------------------------------------

def test_the_monthly_chart_is_the_forecast_monthly_query(callbacks, page_state):
    demand = callbacks[0]
    expected = query("forecast_monthly", page_state)
    frame = demand.monthly_frame(page_state)
    figure = demand.monthly_figure(frame, page_state)
    sold, forecast = figure.data
    assert list(sold.y) == list(expected["sold_quantity"])
    assert list(forecast.y) == list(expected["forecast_quantity"])
    names = formatting.fiscal_month_names()
    assert list(sold.x) == [names[m - 1] for m in expected["fiscal_month"]]
    assert list(figure.layout.xaxis.categoryarray)[0] == "Sep"


def test_a_market_narrows_the_monthly_chart(callbacks, page_state):
    demand = callbacks[0]
    market = largest_market(page_state)
    everything = demand.monthly_frame(page_state)["forecast_quantity"].sum()
    narrowed = demand.monthly_frame(with_filters(page_state, market=market))
    assert narrowed["forecast_quantity"].sum() < everything
    assert list(narrowed["forecast_quantity"]) == list(
        query("forecast_monthly", with_filters(page_state, market=market))["forecast_quantity"])


def test_months_without_actuals_show_the_forecast_only(callbacks, page_state):
    demand = callbacks[0]
    years = data.query("fiscal_years")
    incomplete = years[~years["complete"].astype(bool)]
    if incomplete.empty:
        pytest.skip("the sample has no fiscal year with months still to come")
    current = with_filters(page_state, fiscal_year=int(incomplete["fiscal_year"].max()))
    frame = demand.monthly_frame(current)
    sold, forecast = demand.monthly_figure(frame, current).data
    future = ~frame["has_actuals"].astype(bool)
    assert future.any()
    assert all(pd.isna(y) for y, f in zip(sold.y, future) if f)
    assert all(not pd.isna(y) for y, f in zip(forecast.y, future) if f)
    assert [c for c, f in zip(sold.customdata, future) if f] == ["forecast only"] * int(future.sum())


def test_the_kpis_are_the_named_queries_values(callbacks, page_state):
    demand = callbacks[0]
    shown_frame = demand.kpi_frame(page_state)
    frame = shown_frame.set_index("measure")
    kpis = query("kpis", page_state).set_index("measure")
    markets = query("forecast_accuracy_by_dimension", page_state, dimension="market")
    assert frame.loc["forecast_accuracy", "this_year"] == pytest.approx(kpis.loc["forecast_accuracy", "this_year"])
    assert frame.loc["forecast_quantity", "this_year"] == pytest.approx(kpis.loc["forecast_quantity", "this_year"])
    # summed over regions here, over markets in the query: the same totals
    assert frame.loc["net_error", "this_year"] == pytest.approx(markets["net_error"].sum())
    assert frame.loc["abs_error", "this_year"] == pytest.approx(markets["abs_error"].sum())
    assert frame.loc["abs_error", "share_of_forecast"] == pytest.approx(
        markets["abs_error"].sum() / markets["forecast_quantity"].sum())
    shown = text_of(demand.kpi_cards(shown_frame, page_state))
    assert formatting.percent(kpis.loc["forecast_accuracy", "this_year"]) in shown
    assert formatting.quantity(markets["abs_error"].sum()) + " units" in shown


def test_the_market_chart_shows_errors_and_accuracy_per_market(callbacks, page_state):
    demand = callbacks[0]
    expected = query("forecast_accuracy_by_dimension", page_state, dimension="market")
    figure = demand.markets_figure(demand.market_frame(page_state), page_state)
    absolute, net, accuracy, last_year = figure.data
    assert list(absolute.x) == list(expected["member"])
    assert list(absolute.y) == list(expected["abs_error"])
    assert list(net.y) == list(expected["net_error"])
    assert list(accuracy.y) == pytest.approx(list(expected["forecast_accuracy"]))
    market = largest_market(page_state)
    narrowed = demand.market_frame(with_filters(page_state, market=market))
    assert list(narrowed["member"]) == [market]


def test_the_risk_chart_diverges_by_net_error_coloured_by_risk(callbacks, page_state):
    demand = callbacks[0]
    markets = query("forecast_accuracy_by_dimension", page_state, dimension="market")
    frame = demand.risk_frame(page_state)
    assert len(frame) == min(demand.RISK_MARKETS, len(markets))
    assert list(frame["net_error"]) == sorted(frame["net_error"], reverse=True)
    # the markets shown are those with the largest net error either way
    assert frame["net_error"].abs().min() >= markets["net_error"].abs().nlargest(len(frame)).min()
    bar = demand.risk_figure(frame, page_state).data[0]
    assert list(bar.x) == list(frame["net_error"])
    assert list(bar.marker.color) == [demand.RISK_COLORS[r] for r in frame["risk"]]
    for net, risk in zip(frame["net_error"], frame["risk"]):
        assert risk == ("excess inventory" if net > 0 else "out of stock" if net < 0 else "balanced")


@pytest.mark.parametrize("dimension, card", [("customer", "customers"), ("product", "products")])
def test_the_error_tables_are_the_top_25_by_abs_error(callbacks, page_state, dimension, card):
    from dashboard.callbacks.cards import CARDS

    expected = query("forecast_accuracy_by_dimension", page_state, dimension=dimension)
    expected = expected.sort_values("abs_error", ascending=False, kind="stable").head(25)
    table = CARDS[("demand", card)]
    frame = table.data(page_state)
    assert list(frame["member"]) == list(expected["member"])
    assert list(frame["abs_error"]) == list(expected["abs_error"])
    assert list(frame["risk"]) == list(expected["risk"])
    fields = [c["field"] for c in table.draw(frame, page_state)]
    assert set(fields) <= set(frame.columns)
    assert "risk" in fields


def test_demand_is_unavailable_without_forecasts(on_warehouse, adhoc_warehouse):
    with on_warehouse(adhoc_warehouse.path):
        shown = text_of(page_layout("/demand"))
    assert "Demand is not available for this data" in shown
    assert "fact_forecast_monthly" in shown
    assert '"type": "chart"' not in shown


def test_demand_shows_its_cards_with_forecasts(dashboard_app):
    shown = text_of(page_layout("/demand"))
    assert "not available" not in shown
    assert '"name": "monthly"' in shown


# --- Pricing ---------------------------------------------------------------

def test_the_waterfall_steps_add_up_to_the_pnl_net_sales(callbacks, page_state):
    pricing = callbacks[1]
    pnl = query("pnl", page_state).set_index("line")["this_year"]
    frame = pricing.waterfall_frame(page_state)
    assert list(frame["line"]) == ["gross_sales", "pre_invoice_deduction", "net_invoice_sales",
                                   "post_invoice_discount", "post_invoice_other", "net_sales"]
    steps = frame[frame["measure"] != "total"]["amount"].sum()
    assert steps == pytest.approx(pnl["net_sales"])
    first_total = frame[frame["measure"] != "total"]["amount"].iloc[:2].sum()
    assert first_total == pytest.approx(pnl["net_invoice_sales"])
    trace = pricing.waterfall_figure(frame, page_state).data[0]
    assert list(trace.measure) == list(frame["measure"])
    assert list(trace.y) == pytest.approx(list(frame["amount"]))


def test_the_price_trend_draws_one_line_per_category_then_per_product(callbacks, page_state):
    pricing = callbacks[1]
    expected = query("gross_price_trend", page_state)
    figure = pricing.price_trend_figure(pricing.price_trend_frame(page_state), page_state)
    assert sorted(t.name for t in figure.data) == sorted(expected["member"].unique())
    for trace in figure.data:
        rows = expected[expected["member"] == trace.name]
        assert list(trace.x) == list(rows["fiscal_year"])
        assert list(trace.y) == pytest.approx(list(rows["avg_gross_price"]))
    category = str(expected["category"].iloc[0])
    in_category = with_filters(page_state, category=category)
    products = pricing.price_trend_frame(in_category)
    assert set(products["category"]) == {category}
    assert set(products["member"]) == set(query("gross_price_trend", in_category)["member"])
    assert category not in set(products["member"])


def test_the_deductions_chart_stacks_the_top_15_customers(callbacks, page_state):
    pricing = callbacks[1]
    expected = query("customer_deductions", page_state).head(15)
    frame = pricing.top_deductions_frame(page_state)
    assert list(frame["customer_code"]) == list(expected["customer_code"])
    figure = pricing.deductions_figure(frame, page_state)
    assert [t.name for t in figure.data] == ["Pre-invoice deductions", "Post-invoice discounts",
                                             "Other post-invoice deductions"]
    for trace, line in zip(figure.data, pricing.DEDUCTIONS):
        assert list(trace.x) == pytest.approx(list(expected[line]))
    stacked = sum(pd.Series(list(t.x)) for t in figure.data)
    assert list(stacked) == pytest.approx(list(expected["total_deductions"]))


def test_the_deductions_table_holds_every_customer_and_narrows_by_market(callbacks, page_state):
    pricing = callbacks[1]
    expected = query("customer_deductions", page_state)
    frame = pricing.deductions_frame(page_state)
    assert list(frame["customer_code"]) == list(expected["customer_code"])
    assert frame["total_deduction_pct"].tolist() == pytest.approx(
        (expected["total_deductions"] / expected["gross_sales"]).tolist())
    assert {c["field"] for c in pricing.deductions_columns(frame, page_state)} <= set(frame.columns)
    market = largest_market(page_state)
    narrowed = pricing.deductions_frame(with_filters(page_state, market=market))
    assert 0 < len(narrowed) < len(frame)
    assert set(narrowed["market"]) == {market}


def test_the_average_price_table_is_the_named_query(callbacks, page_state):
    pricing = callbacks[1]
    expected = query("avg_gross_price", page_state)
    frame = pricing.avg_price_frame(page_state)
    pd.testing.assert_frame_equal(frame, expected)
    year = page_state["filters"]["fiscal_year"]
    headers = [c["headerName"] for c in pricing.avg_price_columns(frame, page_state)]
    assert formatting.fiscal_year(year) in headers and formatting.fiscal_year(year - 1) in headers


# --- Freight & costs -------------------------------------------------------

def test_the_freight_chart_and_table_are_freight_by_market(callbacks, page_state):
    costs = callbacks[2]
    expected = query("freight_by_market", page_state).sort_values("total_cost", ascending=False)
    frame = costs.freight_frame(page_state)
    assert len(frame) == len(expected)
    freight, other, rate = costs.freight_figure(frame, page_state).data
    assert list(freight.x) == list(expected["market"])
    assert list(freight.y) == pytest.approx(list(expected["freight_cost"]))
    assert list(other.y) == pytest.approx(list(expected["other_cost"]))
    assert list(rate.y) == pytest.approx(list(expected["freight_pct"] + expected["other_cost_pct"]))
    assert {c["field"] for c in costs.freight_columns(frame, page_state)} <= set(frame.columns)
    market = largest_market(page_state)
    assert list(costs.freight_frame(with_filters(page_state, market=market))["market"]) == [market]


def test_the_cogs_mix_is_the_pnl_cost_lines(callbacks, page_state):
    costs = callbacks[2]
    pnl = query("pnl", page_state).set_index("line")
    frame = costs.cogs_frame(page_state)
    assert frame["this_year"].sum() == pytest.approx(pnl.loc["cogs", "this_year"])
    assert frame["last_year"].sum() == pytest.approx(pnl.loc["cogs", "last_year"])
    assert frame["this_year_share"].sum() == pytest.approx(1)
    last_year, this_year = costs.cogs_figure(frame, page_state).data
    assert list(this_year.y) == pytest.approx([pnl.loc[line, "this_year"] for line in costs.COGS_PARTS])
    assert this_year.name == formatting.fiscal_year(page_state["filters"]["fiscal_year"])


@pytest.mark.parametrize("position", ["highest", "lowest"])
def test_manufacturing_cost_shows_the_10_highest_and_lowest(callbacks, page_state, position):
    costs = callbacks[2]
    expected = query("manufacturing_cost", page_state, n=10)["unit_manufacturing_cost"]
    frame = costs.cost_frame(position)(page_state)
    want = expected.nlargest(10) if position == "highest" else expected.nsmallest(10)
    assert list(frame["unit_manufacturing_cost"]) == list(want)
    figure = (costs.highest_cost_figure if position == "highest" else costs.lowest_cost_figure)(frame, page_state)
    assert list(figure.data[0].x) == list(frame["unit_manufacturing_cost"])
    assert list(figure.data[0].y) == list(frame["product"] + " · " + frame["variant"])


def test_without_freight_the_chart_says_so(callbacks, page_state):
    costs = callbacks[2]
    frame = costs.freight_frame(page_state).assign(freight_cost=0.0, other_cost=0.0, total_cost=0.0)
    figure = costs.freight_figure(frame, page_state)
    assert not figure.data
    assert figure.layout.annotations[0].text == costs.NO_FREIGHT
