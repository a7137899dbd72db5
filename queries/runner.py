"""Run a named query with checked parameters.

Every filter value is checked against the values the warehouse actually holds
before it is bound; SQL text is never built from a value.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import pyarrow as pa

from queries.catalog import SCOPE_PARAM, NamedQuery, bind, catalog
from warehouse import Warehouse

# Measures a top-N query can rank by (the summed measures of the brief).
RANKABLE_MEASURES = (
    "sold_quantity", "gross_sales", "pre_invoice_deduction", "net_invoice_sales", "post_invoice_discount",
    "post_invoice_other", "net_sales", "freight_cost", "other_cost", "manufacturing_cost", "cogs",
    "gross_margin",
)
MAX_N = 1000


class QueryError(ValueError):
    """An unknown query, filter or value: the message lists what is valid."""


@dataclass(frozen=True)
class Filter:
    name: str
    # SQL listing the allowed values (a fixed statement, no parameters).
    allowed_sql: str | None = None
    parse: Callable = str


FILTERS: dict[str, Filter] = {f.name: f for f in (
    Filter("fiscal_year", "SELECT DISTINCT fiscal_year FROM agg_customer_product_yearly ORDER BY 1", int),
    Filter("region", "SELECT DISTINCT region FROM dim_customer ORDER BY 1"),
    Filter("sub_zone", "SELECT DISTINCT sub_zone FROM dim_customer ORDER BY 1"),
    Filter("market", "SELECT DISTINCT market FROM dim_customer ORDER BY 1"),
    Filter("channel", "SELECT DISTINCT channel FROM dim_customer ORDER BY 1"),
    Filter("platform", "SELECT DISTINCT platform FROM dim_customer ORDER BY 1"),
    Filter("division", "SELECT DISTINCT division FROM dim_product ORDER BY 1"),
    Filter("segment", "SELECT DISTINCT segment FROM dim_product ORDER BY 1"),
    Filter("category", "SELECT DISTINCT category FROM dim_product ORDER BY 1"),
    Filter("customer", "SELECT DISTINCT customer FROM dim_customer UNION SELECT customer_code FROM dim_customer ORDER BY 1"),
    Filter("product", "SELECT DISTINCT product FROM dim_product UNION SELECT product_code FROM dim_product ORDER BY 1"),
    Filter("by"),
    Filter("dimension"),
    Filter("n", parse=int),
)}

LATEST_COMPLETE_FISCAL_YEAR = """
SELECT MAX(fiscal_year) FROM (
    SELECT fiscal_year, COUNT(DISTINCT month) AS months
    FROM agg_customer_category_monthly WHERE has_actuals GROUP BY fiscal_year
) years WHERE months = 12
"""
LATEST_FISCAL_YEAR = "SELECT MAX(fiscal_year) FROM agg_customer_category_monthly WHERE has_actuals"


def get(name: str) -> NamedQuery:
    queries = catalog()
    if name not in queries:
        raise QueryError(f"unknown query {name!r}; the queries are: {', '.join(queries)}")
    return queries[name]


def allowed_values(warehouse: Warehouse, name: str) -> list:
    spec = FILTERS[name]
    if name == "by":
        return list(RANKABLE_MEASURES)
    return [v for v in warehouse.read(spec.allowed_sql).column(0).to_pylist() if v is not None]


def default_fiscal_year(warehouse: Warehouse) -> int | None:
    """The latest fiscal year with all twelve months of actuals (else the latest with any)."""
    year = warehouse.read(LATEST_COMPLETE_FISCAL_YEAR).column(0)[0].as_py()
    return year if year is not None else warehouse.read(LATEST_FISCAL_YEAR).column(0)[0].as_py()


AllowedValues = Callable[[str], list]


def check_params(warehouse: Warehouse, query: NamedQuery, given: dict, allowed: AllowedValues | None = None,
                 holder: str = "the warehouse") -> dict:
    """The values to bind: given values checked, defaults filled in.

    `allowed(name)` lists a filter's valid values; by default it asks the
    warehouse (the dashboard passes a cached one, limited to the user's scope,
    and names that scope as the `holder` of the values)."""
    allowed = allowed or (lambda name: allowed_values(warehouse, name))
    given = {k: v for k, v in given.items() if v is not None}
    not_taken = [k for k in given if k not in query.params]
    if not_taken:
        raise QueryError(
            f"{query.name} does not take {', '.join(_flag(k) for k in not_taken)}; "
            f"it takes: {', '.join(_flag(p) for p in query.params) or 'no filters'}")
    values: dict = {p: None for p in query.params}
    for name, raw in given.items():
        spec = FILTERS[name]
        try:
            value = spec.parse(raw)
        except (TypeError, ValueError):
            raise QueryError(f"{_flag(name)} takes a whole number, not {raw!r}") from None
        if name == "n":
            if not 1 <= value <= MAX_N:
                raise QueryError(f"--n must be between 1 and {MAX_N}, not {value}")
        elif name == "dimension":
            if value not in query.dimensions:
                raise QueryError(f"{query.name} cannot group by {raw!r}; --dimension takes: "
                                 + ", ".join(query.dimensions))
        else:
            valid = allowed(name)
            if value not in valid:
                raise QueryError(f"{_flag(name)} {raw!r} is not in {holder}; valid values: "
                                 + ", ".join(map(str, valid)))
        values[name] = value
    for name, default in query.defaults.items():
        if values.get(name) is None:
            values[name] = FILTERS[name].parse(default)
    if "fiscal_year" in values and values["fiscal_year"] is None and not query.fiscal_year_optional:
        values["fiscal_year"] = default_fiscal_year(warehouse)
    return values


LATEST_RUN_MISSING_TABLES = """
SELECT missing_tables FROM etl_runs WHERE status = 'succeeded' ORDER BY finished_at DESC LIMIT 1
"""


def missing_sources(warehouse: Warehouse) -> set[str]:
    """Optional source tables the latest successful refresh did not have."""
    rows = warehouse.read(LATEST_RUN_MISSING_TABLES).column(0).to_pylist()
    return set((rows[0] or "").split()) if rows else set()


def caveats(warehouse: Warehouse, name: str) -> list[str]:
    """What the reader of a query's answer must know about missing sources."""
    query = get(name)
    missing = missing_sources(warehouse)
    return [f"the source had no {table}: it counts as 0 in this answer" for table in query.uses if table in missing]


def unavailable_reason(query: NamedQuery, missing: set[str]) -> str | None:
    """Why a query cannot be answered from this warehouse, if it cannot."""
    lacking = [t for t in query.needs if t in missing]
    return f"the warehouse's source had no {', '.join(lacking)}" if lacking else None


PRODUCT_GRAIN_TABLE = "agg_customer_product_yearly"


def resolved(query: NamedQuery, values: dict) -> NamedQuery:
    """The query as it will run: on its rollup table when no product is asked
    for (neither a product filter nor products as the dimension)."""
    if query.rollup and values.get("product") is None and values.get("dimension") != "product":
        return dataclasses.replace(query, sql=query.sql.replace(PRODUCT_GRAIN_TABLE, query.rollup))
    return query


def scope_value(markets) -> str | None:
    """:markets_in_scope as bound: '|India|Japan|' (matched with POSITION, which
    every warehouse has, unlike array parameters), or None for every market."""
    if markets is None:
        return None
    if any("|" in m for m in markets):
        raise QueryError("a market name with '|' cannot be used in a scope")
    return "|" + "|".join(sorted(markets)) + "|"


NOT_IN_SCOPE = "it shows data of every market, and you may see only some"


def run(warehouse: Warehouse, name: str, *, allowed: AllowedValues | None = None,
        missing: set[str] | None = None, markets_in_scope=None, holder: str = "the warehouse",
        **params) -> pa.Table:
    """Run the named query against the warehouse, parameters checked.

    `allowed` and `missing` let a caller that caches them (the dashboard) skip
    the warehouse round trips that look them up. `markets_in_scope` (a set of
    markets, or None for all) limits the answer to those markets; a query that
    cannot be limited is refused."""
    query = get(name)
    if markets_in_scope is not None and not (query.scoped or query.scope_global):
        raise QueryError(f"{name} is not available to you: {NOT_IN_SCOPE}")
    reason = unavailable_reason(query, missing_sources(warehouse) if missing is None else missing)
    if reason:
        raise QueryError(f"{name} is not available: {reason}")
    values = check_params(warehouse, query, params, allowed, holder)
    values[SCOPE_PARAM] = scope_value(markets_in_scope)
    sql, args = bind(resolved(query, values), values, warehouse.placeholder)
    return warehouse.read(sql, args)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")
