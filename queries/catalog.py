"""The named queries: one .sql file per business question.

A query file starts with a comment line saying what it answers, may declare
defaults (`-- default n: 5`, `-- default by: net_sales`) or an optional fiscal
year (`-- fiscal_year: optional`), and may pull in a shared fragment from
`fragments/` with a line `-- include: NAME.sql` (fixed SQL text, never values).
Values are bound as parameters, written `:name` in the files and translated to
the warehouse's own placeholder here.

Row-level security: a query over market-level data includes the
customer_filters fragment, whose `:markets_in_scope` limits it to the markets
a user may see; a query over data that belongs to no market (product prices,
refresh metadata) says `-- scope: global`. Any other query is refused to a
user limited to some markets.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

QUERY_DIR = Path(__file__).parent
FRAGMENT_DIR = QUERY_DIR / "fragments"

_INCLUDE = re.compile(r"^\s*--\s*include:\s*(\S+)\s*$", re.MULTILINE)
_DEFAULT = re.compile(r"^--\s*default\s+(\w+):\s*(\S+)\s*$", re.MULTILINE)
_PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")
# Bound by the runner from the user's scope, never given as a filter.
SCOPE_PARAM = "markets_in_scope"


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    sql: str
    params: tuple[str, ...]
    defaults: dict[str, str] = field(default_factory=dict)
    fiscal_year_optional: bool = False
    # Source tables without which the answer would be wrong (`-- needs: ...`)
    # or partly zero (`-- uses: ...`).
    needs: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    # The values :dimension may take in this query (`-- dimensions: region market ...`).
    dimensions: tuple[str, ...] = ()
    # A smaller table with the same columns to read instead of the customer x
    # product one when no product is asked for (`-- rollup: TABLE`).
    rollup: str | None = None
    # Limited to the markets in :markets_in_scope; or holding no market-level data.
    scoped: bool = False
    scope_global: bool = False


def _resolve_includes(sql: str) -> str:
    def include(match: re.Match) -> str:
        fragment = FRAGMENT_DIR / match.group(1)
        return _resolve_includes(fragment.read_text().rstrip("\n"))  # fragments may include fragments

    return _INCLUDE.sub(include, sql)


def parse(name: str, text: str) -> NamedQuery:
    first = text.splitlines()[0] if text else ""
    if not first.startswith("--"):
        raise ValueError(f"queries/{name}.sql must start with a comment saying what it answers")
    sql = _resolve_includes(text)
    found = tuple(dict.fromkeys(_PARAM.findall(_strip_comments(sql))))
    params = tuple(p for p in found if p != SCOPE_PARAM)
    return NamedQuery(
        name=name,
        description=first.lstrip("- ").strip(),
        sql=sql,
        params=params,
        defaults=dict(_DEFAULT.findall(text)),
        fiscal_year_optional=bool(re.search(r"^--\s*fiscal_year:\s*optional", text, re.MULTILINE)),
        needs=_listed("needs", text),
        uses=_listed("uses", text),
        dimensions=_listed("dimensions", text),
        rollup=(_listed("rollup", text) or (None,))[0],
        scoped=SCOPE_PARAM in found,
        scope_global=_listed("scope", text) == ("global",),
    )


def _listed(word: str, text: str) -> tuple[str, ...]:
    return tuple(name for line in re.findall(rf"^--\s*{word}:\s*(.+)$", text, re.MULTILINE) for name in line.split())


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


@lru_cache(maxsize=1)
def catalog() -> dict[str, NamedQuery]:
    return {p.stem: parse(p.stem, p.read_text()) for p in sorted(QUERY_DIR.glob("*.sql"))}


def bind(query: NamedQuery, values: dict, placeholder: str = "?") -> tuple[str, list]:
    """The query's SQL with each `:name` replaced by the backend's placeholder,
    and the matching list of values (a name used twice is bound twice)."""
    args: list = []

    def substitute(match: re.Match) -> str:
        args.append(values.get(match.group(1)))
        return placeholder

    return _PARAM.sub(substitute, _strip_comments(query.sql)), args
