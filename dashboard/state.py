"""The dashboard's state: the shared filters and a page's own settings, as they
live in the URL's query string.

Every value read from a URL is checked against the values the warehouse holds
(or a fixed list); anything else is dropped, never passed on.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

import pandas as pd

from dashboard import data
from queries.runner import RANKABLE_MEASURES

GEOGRAPHY = ("region", "sub_zone", "market", "customer")
PRODUCT_LEVELS = ("division", "segment", "category", "product")
# The order of the filter bar and of the URL.
FILTERS = ("fiscal_year", *GEOGRAPHY, "channel", "platform", *PRODUCT_LEVELS)
LABELS = {
    "fiscal_year": "Fiscal year", "region": "Region", "sub_zone": "Sub-zone", "market": "Market",
    "customer": "Customer", "channel": "Channel", "platform": "Platform", "division": "Division",
    "segment": "Segment", "category": "Category", "product": "Product",
}
# What a bar of each level drills into: the region -> market -> customer
# (sub-zones are a filter, not a drill step) and division -> ... -> product.
DRILL = {
    "region": ("region", "market", "customer"),
    "product": PRODUCT_LEVELS,
}

# A page's own settings, with their allowed values and defaults.
RANKED = ("products", "customers", "markets")
PAGE_PARAMS = {
    "rank": (RANKED, "products"),
    "by": (RANKABLE_MEASURES, "net_sales"),
    "n": (tuple(str(n) for n in range(1, 51)), "10"),
}


@dataclass(frozen=True)
class Members:
    """The filters' options, from the warehouse."""
    fiscal_years: pd.DataFrame   # fiscal_year, months_with_actuals, complete, has_forecasts
    customers: pd.DataFrame      # region, sub_zone, market, customer, customer_code, channel, platform
    products: pd.DataFrame       # division, segment, category, product, product_code, variant


def members() -> Members:
    return Members(data.query("fiscal_years"), data.query("customer_hierarchy"), data.query("product_hierarchy"))


def default_fiscal_year(m: Members) -> int | None:
    years = m.fiscal_years
    if years.empty:
        return None
    complete = years[years["complete"].astype(bool)]
    return int((complete if not complete.empty else years)["fiscal_year"].max())


def _matching(frame: pd.DataFrame, chosen: dict, columns) -> pd.DataFrame:
    for column in columns:
        if chosen.get(column):
            frame = frame[frame[column] == chosen[column]]
    return frame


def options(m: Members, chosen: dict) -> dict[str, list]:
    """Every filter's options, each cascading from the filters above it."""
    customers, products = m.customers, m.products
    result = {"fiscal_year": [int(y) for y in m.fiscal_years["fiscal_year"]]}
    for i, level in enumerate(("region", "sub_zone", "market", "customer")):
        result[level] = sorted(_matching(customers, chosen, GEOGRAPHY[:i])[level].dropna().unique())
    geography = _matching(customers, chosen, GEOGRAPHY)
    for column in ("channel", "platform"):
        result[column] = sorted(geography[column].dropna().unique())
    for i, level in enumerate(PRODUCT_LEVELS):
        result[level] = sorted(_matching(products, chosen, PRODUCT_LEVELS[:i])[level].dropna().unique())
    return result


def clean(m: Members, raw: dict) -> dict:
    """The filters a URL (or the filter bar) asks for, keeping only values the
    warehouse holds, each consistent with the filters above it."""
    chosen: dict = {}
    year = raw.get("fiscal_year")
    years = {int(y) for y in m.fiscal_years["fiscal_year"]}
    try:
        chosen["fiscal_year"] = int(year) if year not in (None, "") and int(year) in years else None
    except (TypeError, ValueError):
        chosen["fiscal_year"] = None
    for name in FILTERS[1:]:
        value = raw.get(name)
        chosen[name] = None
        if value in (None, "") or not isinstance(value, (str, int)):
            continue
        if str(value) in options(m, chosen)[name]:
            chosen[name] = str(value)
    # A chosen member implies its parents (a market its region), when they are one.
    for hierarchy, frame in ((GEOGRAPHY, m.customers), (PRODUCT_LEVELS, m.products)):
        for i, level in enumerate(hierarchy):
            if chosen[level]:
                rows = _matching(frame, chosen, hierarchy[:i + 1])
                for parent in hierarchy[:i]:
                    if not chosen[parent] and rows[parent].nunique() == 1:
                        chosen[parent] = str(rows[parent].iloc[0])
    return chosen


def parse_params(raw: dict) -> dict:
    """A page's own settings from a URL, each one of its allowed values."""
    return {name: (str(raw[name]) if str(raw.get(name)) in allowed else default)
            for name, (allowed, default) in PAGE_PARAMS.items()}


def to_search(filters: dict, params: dict | None = None) -> str:
    """The query string of a state: only what differs from the defaults."""
    pairs = [(name, filters[name]) for name in FILTERS if filters.get(name) not in (None, "")]
    for name, value in (params or {}).items():
        allowed, default = PAGE_PARAMS[name]
        if value is not None and str(value) != default:
            pairs.append((name, value))
    return "?" + urlencode(pairs) if pairs else ""


def from_search(search: str | None) -> dict:
    return dict(parse_qsl((search or "").lstrip("?"), keep_blank_values=False))


def with_fiscal_year(m: Members, filters: dict) -> dict:
    """The filters with the default fiscal year filled in when none is chosen."""
    return filters if filters.get("fiscal_year") else {**filters, "fiscal_year": default_fiscal_year(m)}


def drill_level(filters: dict, hierarchy: str) -> str:
    """The level a hierarchy's chart shows: the one below the deepest chosen."""
    levels = DRILL[hierarchy]
    for level in reversed(levels):
        if filters.get(level):
            return levels[min(levels.index(level) + 1, len(levels) - 1)]
    return levels[0]


def drill(filters: dict, level: str, member: str) -> dict:
    """The filters after clicking a member's bar at a level: that member chosen,
    the levels below it cleared (so the chart shows the member's children)."""
    hierarchy = GEOGRAPHY if level in GEOGRAPHY else PRODUCT_LEVELS
    result = dict(filters)
    for below in hierarchy[hierarchy.index(level) + 1:]:
        result[below] = None
    result[level] = member
    return result


def crumbs(filters: dict, hierarchy: str) -> list[tuple[str, str | None]]:
    """The breadcrumb of a hierarchy: (label, level to step back to) pairs,
    from the top ("All regions") to the deepest chosen member."""
    levels = GEOGRAPHY if hierarchy == "region" else PRODUCT_LEVELS
    top = "All regions" if hierarchy == "region" else "All products"
    path = [(top, None)]
    for level in levels:
        # A chosen market names its sub-zone already (APAC > India, not APAC > India > India).
        if filters.get(level) and not (level == "sub_zone" and filters.get("market")):
            path.append((str(filters[level]), level))
    return path


def step_up(filters: dict, hierarchy: str, level: str | None) -> dict:
    """The filters after clicking a breadcrumb: the levels below it cleared."""
    levels = GEOGRAPHY if hierarchy == "region" else PRODUCT_LEVELS
    keep = levels.index(level) + 1 if level else 0
    result = dict(filters)
    for below in levels[keep:]:
        result[below] = None
    return result


def for_page(query: dict, with_params: bool = False) -> dict:
    """The state a page renders: its URL's filters, checked, with the default
    fiscal year filled in, and (for a page that has them) its own settings."""
    m = members()
    page_state = {"filters": with_fiscal_year(m, clean(m, query))}
    if with_params:
        page_state["params"] = parse_params(query)
    return page_state
