"""The filters' state in the URL (dashboard/state.py) and the shell's event
handling (next_state), on a small hand-made set of members: no warehouse."""
from __future__ import annotations

import pandas as pd
import pytest

from dashboard import state

CUSTOMER_COLUMNS = ["region", "sub_zone", "market", "customer", "customer_code", "channel", "platform"]
PRODUCT_COLUMNS = ["division", "segment", "category", "product", "product_code", "variant"]

M = state.Members(
    fiscal_years=pd.DataFrame({
        "fiscal_year": [2022, 2021],
        "months_with_actuals": [4, 12],
        "complete": [False, True],
        "has_forecasts": [True, True],
    }),
    customers=pd.DataFrame([
        ("APAC", "India", "India", "Atliq Exclusive", "C001", "Direct", "Brick & Mortar"),
        ("APAC", "India", "India", "Croma", "C002", "Retailer", "Brick & Mortar"),
        ("APAC", "ROA", "South Korea", "Vijay Sales", "C003", "Retailer", "E-Commerce"),
        # "NA" is North America, not a missing value; the same customer name in a second market.
        ("NA", "NA", "USA", "Atliq Exclusive", "C004", "Direct", "E-Commerce"),
        ("NA", "NA", "USA", "Amazon", "C005", "Retailer", "E-Commerce"),
    ], columns=CUSTOMER_COLUMNS),
    products=pd.DataFrame([
        ("P & A", "Peripherals", "Mouse", "AQ Master wired x1 Ms", "A0118150101", "Standard"),
        ("P & A", "Accessories", "Keyboard", "AQ Maxima Ms", "A0219150201", "Plus"),
        ("PC", "Notebook", "Personal Laptop", "AQ Aspiron", "A4218110201", "Standard"),
        ("PC", "Notebook", "Business Laptop", "AQ Velocity", "A4319110306", "Premium"),
    ], columns=PRODUCT_COLUMNS),
)

NONE = {name: None for name in state.FILTERS}


def filters(**chosen) -> dict:
    """A full filter dict: the given values, None elsewhere."""
    return {**NONE, **chosen}


def controls(**chosen) -> list:
    """The filter bar's values, in the order of state.FILTERS."""
    return [filters(**chosen)[name] for name in state.FILTERS]


# --- clean ------------------------------------------------------------------

def test_clean_keeps_valid_values_and_fills_a_markets_region_and_sub_zone():
    raw = {"fiscal_year": "2021", "market": "India", "customer": "Croma", "channel": "Retailer"}
    assert state.clean(M, raw) == filters(fiscal_year=2021, region="APAC", sub_zone="India", market="India",
                                          customer="Croma", channel="Retailer")


@pytest.mark.parametrize("name, value", [
    ("region", "India' OR 1=1 --"),
    ("market", "<script>alert(1)</script>"),
    ("customer", "Croma'; DROP TABLE dim_customer; --"),
    ("division", "Gadgets"),
    ("product", "AQ Unknown"),
    ("region", ["APAC"]),         # not a single value
    ("channel", {"x": 1}),
])
def test_clean_drops_unknown_and_sql_like_values(name, value):
    assert state.clean(M, {"fiscal_year": "2021", name: value}) == filters(fiscal_year=2021)


@pytest.mark.parametrize("year, expected", [
    ("2021", 2021), (2022, 2022), ("2019", None), ("abc", None), ("2021; DROP TABLE etl_runs", None),
    ("", None), (None, None), (["2021"], None),
])
def test_clean_fiscal_year(year, expected):
    assert state.clean(M, {"fiscal_year": year})["fiscal_year"] == expected


def test_clean_drops_a_market_outside_the_chosen_region():
    assert state.clean(M, {"region": "NA", "market": "India"}) == filters(region="NA")
    assert state.clean(M, {"region": "APAC", "sub_zone": "ROA", "market": "India"}) == filters(
        region="APAC", sub_zone="ROA")


def test_clean_keeps_region_na_as_a_value():
    assert state.clean(M, {"region": "NA"}) == filters(region="NA")
    assert state.clean(M, {"market": "USA"}) == filters(region="NA", sub_zone="NA", market="USA")


def test_clean_a_customer_in_two_markets_implies_no_market_until_the_region_is_chosen():
    assert state.clean(M, {"customer": "Atliq Exclusive"}) == filters(customer="Atliq Exclusive")
    assert state.clean(M, {"region": "NA", "customer": "Atliq Exclusive"}) == filters(
        region="NA", sub_zone="NA", market="USA", customer="Atliq Exclusive")
    # A customer found only in one market implies the whole path.
    assert state.clean(M, {"customer": "Vijay Sales"}) == filters(
        region="APAC", sub_zone="ROA", market="South Korea", customer="Vijay Sales")


def test_clean_product_levels_cascade_and_fill_parents():
    assert state.clean(M, {"category": "Personal Laptop"}) == filters(
        division="PC", segment="Notebook", category="Personal Laptop")
    assert state.clean(M, {"division": "P & A", "product": "AQ Aspiron"}) == filters(division="P & A")
    assert state.clean(M, {"product": "AQ Maxima Ms"}) == filters(
        division="P & A", segment="Accessories", category="Keyboard", product="AQ Maxima Ms")


# --- options ----------------------------------------------------------------

def test_options_without_filters_list_every_member():
    options = state.options(M, NONE)
    assert options == {
        "fiscal_year": [2022, 2021],
        "region": ["APAC", "NA"],
        "sub_zone": ["India", "NA", "ROA"],
        "market": ["India", "South Korea", "USA"],
        "customer": ["Amazon", "Atliq Exclusive", "Croma", "Vijay Sales"],
        "channel": ["Direct", "Retailer"],
        "platform": ["Brick & Mortar", "E-Commerce"],
        "division": ["P & A", "PC"],
        "segment": ["Accessories", "Notebook", "Peripherals"],
        "category": ["Business Laptop", "Keyboard", "Mouse", "Personal Laptop"],
        "product": ["AQ Aspiron", "AQ Master wired x1 Ms", "AQ Maxima Ms", "AQ Velocity"],
    }


def test_options_cascade_from_the_levels_above():
    apac = state.options(M, filters(region="APAC"))
    assert apac["region"] == ["APAC", "NA"]            # a level's own options stay open
    assert apac["sub_zone"] == ["India", "ROA"]
    assert apac["market"] == ["India", "South Korea"]
    assert apac["customer"] == ["Atliq Exclusive", "Croma", "Vijay Sales"]

    india = state.options(M, filters(region="APAC", sub_zone="India"))
    assert india["market"] == ["India"]
    assert india["customer"] == ["Atliq Exclusive", "Croma"]
    assert india["channel"] == ["Direct", "Retailer"]
    assert india["platform"] == ["Brick & Mortar"]

    na = state.options(M, filters(region="NA"))
    assert na["market"] == ["USA"]
    assert na["customer"] == ["Amazon", "Atliq Exclusive"]
    assert na["platform"] == ["E-Commerce"]

    pc = state.options(M, filters(division="PC"))
    assert pc["segment"] == ["Notebook"]
    assert pc["category"] == ["Business Laptop", "Personal Laptop"]
    assert pc["product"] == ["AQ Aspiron", "AQ Velocity"]
    assert state.options(M, filters(division="PC", category="Personal Laptop"))["product"] == ["AQ Aspiron"]


# --- default fiscal year ------------------------------------------------------

def test_default_fiscal_year_is_the_latest_complete_one():
    assert state.default_fiscal_year(M) == 2021
    assert state.with_fiscal_year(M, filters(region="NA")) == filters(fiscal_year=2021, region="NA")
    assert state.with_fiscal_year(M, filters(fiscal_year=2022)) == filters(fiscal_year=2022)


def test_default_fiscal_year_without_a_complete_year_is_the_latest():
    years = pd.DataFrame({"fiscal_year": [2023, 2024], "months_with_actuals": [7, 2],
                          "complete": [False, False], "has_forecasts": [True, True]})
    assert state.default_fiscal_year(state.Members(years, M.customers, M.products)) == 2024
    empty = years.iloc[0:0]
    assert state.default_fiscal_year(state.Members(empty, M.customers, M.products)) is None


# --- drill-down and breadcrumbs -----------------------------------------------

def test_drill_region_to_market_to_customer_and_back_up():
    start = filters(fiscal_year=2021, division="PC")
    assert state.drill_level(start, "region") == "region"
    assert state.crumbs(start, "region") == [("All regions", None)]

    at_region = state.clean(M, state.drill(start, "region", "APAC"))
    assert at_region == filters(fiscal_year=2021, region="APAC", division="PC")
    assert state.drill_level(at_region, "region") == "market"

    at_market = state.clean(M, state.drill(at_region, "market", "India"))
    assert at_market == filters(fiscal_year=2021, region="APAC", sub_zone="India", market="India", division="PC")
    assert state.drill_level(at_market, "region") == "customer"

    at_customer = state.clean(M, state.drill(at_market, "customer", "Croma"))
    assert at_customer == filters(fiscal_year=2021, region="APAC", sub_zone="India", market="India",
                                  customer="Croma", division="PC")
    assert state.drill_level(at_customer, "region") == "customer"   # the deepest level stays
    assert state.crumbs(at_customer, "region") == [
        ("All regions", None), ("APAC", "region"), ("India", "market"), ("Croma", "customer")]

    assert state.step_up(at_customer, "region", "market") == at_market
    assert state.step_up(at_customer, "region", "region") == at_region
    assert state.step_up(at_customer, "region", None) == start


def test_drill_into_another_region_clears_the_levels_below():
    deep = filters(region="APAC", sub_zone="India", market="India", customer="Croma", category="Mouse")
    assert state.drill(deep, "region", "NA") == filters(region="NA", category="Mouse")
    assert state.drill(deep, "market", "South Korea") == filters(region="APAC", sub_zone="India",
                                                                 market="South Korea", category="Mouse")


def test_drill_division_to_segment_to_category_to_product():
    start = filters(region="NA")
    path = [("division", "PC"), ("segment", "Notebook"), ("category", "Business Laptop"), ("product", "AQ Velocity")]
    expected_levels = ["segment", "category", "product", "product"]
    current = start
    assert state.drill_level(current, "product") == "division"
    for (level, member), shown in zip(path, expected_levels):
        current = state.clean(M, state.drill(current, level, member))
        assert current[level] == member
        assert state.drill_level(current, "product") == shown
    assert current == filters(region="NA", division="PC", segment="Notebook", category="Business Laptop",
                              product="AQ Velocity")
    assert state.crumbs(current, "product") == [
        ("All products", None), ("PC", "division"), ("Notebook", "segment"), ("Business Laptop", "category"),
        ("AQ Velocity", "product")]
    assert state.step_up(current, "product", "segment") == filters(region="NA", division="PC", segment="Notebook")
    # Stepping up the products leaves the geography alone.
    assert state.step_up(current, "product", None) == start


# --- the URL ----------------------------------------------------------------

def test_to_search_and_from_search_round_trip():
    chosen = filters(fiscal_year=2021, region="APAC", sub_zone="India", market="India", division="P & A")
    params = {"rank": "customers", "by": "net_sales", "n": "10"}
    search = state.to_search(chosen, params)
    # In the filter bar's order; the page settings at their defaults are left out.
    assert search == "?fiscal_year=2021&region=APAC&sub_zone=India&market=India&division=P+%26+A&rank=customers"
    raw = state.from_search(search)
    assert raw == {"fiscal_year": "2021", "region": "APAC", "sub_zone": "India", "market": "India",
                   "division": "P & A", "rank": "customers"}
    assert state.clean(M, raw) == chosen
    assert state.parse_params(raw) == params


def test_the_default_state_has_no_query_string():
    assert state.to_search(NONE, {"rank": "products", "by": "net_sales", "n": "10"}) == ""
    assert state.to_search(NONE) == ""
    assert state.from_search("") == {}
    assert state.from_search(None) == {}


@pytest.mark.parametrize("n, expected", [
    (0, "10"), (51, "10"), (10**9, "10"), ("abc", "10"), ("5; DROP", "10"), ("-3", "10"), (None, "10"),
    ("7", "7"), (7, "7"), ("1", "1"), ("50", "50"),
])
def test_parse_params_bounds_n(n, expected):
    assert state.parse_params({"n": n})["n"] == expected


@pytest.mark.parametrize("by, expected", [
    ("gross_margin", "gross_margin"), ("sold_quantity", "sold_quantity"), ("freight_cost", "freight_cost"),
    ("profit", "net_sales"), ("net_sales; DROP TABLE x", "net_sales"), ("gm_pct", "net_sales"), ("", "net_sales"),
])
def test_parse_params_by_takes_only_rankable_measures(by, expected):
    assert state.parse_params({"by": by})["by"] == expected


def test_parse_params_defaults_and_rank():
    assert state.parse_params({}) == {"rank": "products", "by": "net_sales", "n": "10"}
    assert state.parse_params({"rank": "markets"})["rank"] == "markets"
    assert state.parse_params({"rank": "regions"})["rank"] == "products"


# --- next_state: the shell's events ---------------------------------------------
# The callbacks package imports the pages, which Dash only allows once the app
# exists: so these tests take the one app of the session.

@pytest.fixture(scope="module")
def next_state(dashboard_app):
    from dashboard.callbacks.shell import next_state

    return next_state


DEFAULT_PARAMS = {"rank": "products", "by": "net_sales", "n": "10"}
DEEP = "?fiscal_year=2021&region=APAC&market=India&customer=Croma&division=PC&category=Personal+Laptop&n=7"
DEEP_FILTERS = filters(fiscal_year=2021, region="APAC", sub_zone="India", market="India", customer="Croma",
                       division="PC", segment="Notebook", category="Personal Laptop")


@pytest.mark.parametrize("trigger", [None, "url"])
def test_next_state_on_first_load_reads_the_url(next_state, trigger):
    result = next_state(trigger, None, DEEP, controls(), M)
    assert result == (DEEP_FILTERS, {**DEFAULT_PARAMS, "n": "7"})


def test_next_state_drops_what_the_url_should_not_hold(next_state):
    search = "?region=India%27+OR+1%3D1+--&market=USA&n=5%3B+DROP&by=%3Cscript%3E&rank=markets"
    assert next_state(None, None, search, controls(), M) == (
        filters(region="NA", sub_zone="NA", market="USA"), {**DEFAULT_PARAMS, "rank": "markets"})


def test_next_state_a_region_change_resets_the_geography_below_it(next_state):
    bar = controls(**{**DEEP_FILTERS, "region": "NA"})
    assert next_state("region", "NA", DEEP, bar, M) == (
        filters(fiscal_year=2021, region="NA", division="PC", segment="Notebook", category="Personal Laptop"),
        {**DEFAULT_PARAMS, "n": "7"})


def test_next_state_a_market_change_resets_only_the_customer(next_state):
    bar = controls(**{**DEEP_FILTERS, "market": "India", "channel": "Direct"})
    filters_after, _ = next_state("market", "India", DEEP, bar, M)
    assert filters_after == {**DEEP_FILTERS, "customer": None, "channel": "Direct"}


def test_next_state_a_division_change_resets_the_product_levels_below_it(next_state):
    bar = controls(**{**DEEP_FILTERS, "division": "P & A", "product": "AQ Aspiron"})
    filters_after, _ = next_state("division", "P & A", DEEP, bar, M)
    assert filters_after == filters(fiscal_year=2021, region="APAC", sub_zone="India", market="India",
                                    customer="Croma", division="P & A")


def test_next_state_reset_clears_every_filter_and_keeps_page_settings(next_state):
    assert next_state("reset", 1, DEEP, controls(**DEEP_FILTERS), M) == (NONE, {**DEFAULT_PARAMS, "n": "7"})


def test_next_state_drill(next_state):
    search = "?fiscal_year=2021&region=APAC"
    assert next_state(("drill", "market", "India"), None, search, controls(), M)[0] == filters(
        fiscal_year=2021, region="APAC", sub_zone="India", market="India")
    # Drilling into another region clears the market and customer below it.
    assert next_state(("drill", "region", "NA"), None, DEEP, controls(), M)[0] == filters(
        fiscal_year=2021, region="NA", division="PC", segment="Notebook", category="Personal Laptop")
    # A member the warehouse does not hold is dropped.
    assert next_state(("drill", "market", "Atlantis"), None, search, controls(), M)[0] == filters(
        fiscal_year=2021, region="APAC")
    assert next_state(("drill", "product", "AQ Aspiron"), None, DEEP, controls(), M)[0] == {
        **DEEP_FILTERS, "product": "AQ Aspiron"}


def test_next_state_crumb_steps_back_up(next_state):
    assert next_state(("crumb", "region", "region"), 1, DEEP, controls(), M)[0] == filters(
        fiscal_year=2021, region="APAC", division="PC", segment="Notebook", category="Personal Laptop")
    assert next_state(("crumb", "region", ""), 1, DEEP, controls(), M)[0] == filters(
        fiscal_year=2021, division="PC", segment="Notebook", category="Personal Laptop")
    assert next_state(("crumb", "product", "division"), 1, DEEP, controls(), M)[0] == filters(
        fiscal_year=2021, region="APAC", sub_zone="India", market="India", customer="Croma", division="PC")


@pytest.mark.parametrize("name, value, expected", [
    ("n", "25", "25"), ("n", 3, "3"), ("n", "500", "7"), ("n", None, "7"),
    ("by", "gross_margin", "gross_margin"), ("by", "1; DROP", "net_sales"),
    ("rank", "customers", "customers"),
])
def test_next_state_page_param(next_state, name, value, expected):
    filters_after, params = next_state(("param", name), value, DEEP, controls(), M)
    assert filters_after == DEEP_FILTERS
    assert params[name] == expected
