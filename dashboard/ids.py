"""Every component id of the dashboard, in one place.

Ids shared by all pages are strings; a page's cards use pattern-matching ids
(dicts) so that one callback can serve every card of a kind.
"""
from __future__ import annotations

# The URL: Dash's own page location, whose query string holds the state.
URL = "_pages_location"

THEME = "theme"                  # dcc.Store (local storage): "light" | "dark"
THEME_TOGGLE = "theme-toggle"
BANNER = "warehouse-banner"
REFRESH_INFO = "refresh-info"
STATUS_POLL = "status-poll"      # dcc.Interval re-checking the warehouse
RESET = "reset-filters"
NAVBAR = "navbar"
NAV_TOGGLER = "navbar-toggler"   # the menu button on narrow screens
NAV_COLLAPSE = "navbar-collapse"
USER_NAME = "user-name"
SIGN_OUT = "sign-out"


def filter_control(name: str) -> str:
    return f"filter-{name.replace('_', '-')}"


def nav_link(page: str) -> dict:
    return {"type": "nav-link", "page": page}


def breadcrumb(hierarchy: str) -> str:
    return f"breadcrumb-{hierarchy}"


def crumb(hierarchy: str, level: str) -> dict:
    """A breadcrumb step; level "" is the top ("All regions")."""
    return {"type": "crumb", "hierarchy": hierarchy, "level": level}


def page_state(page: str) -> dict:
    """The state a page was rendered for (its filters and settings)."""
    return {"type": "page-state", "page": page}


def page_param(name: str) -> dict:
    """A page's own setting that lives in the URL (Top-N's measure and N)."""
    return {"type": "page-param", "name": name}


def chart(page: str, name: str) -> dict:
    return {"type": "chart", "page": page, "name": name}


def table(page: str, name: str) -> dict:
    return {"type": "table", "page": page, "name": name}


def kpis(page: str, name: str) -> dict:
    return {"type": "kpis", "page": page, "name": name}


def note(page: str, name: str) -> dict:
    """A card's caveat line (a source that counts as 0, an unavailable view)."""
    return {"type": "note", "page": page, "name": name}


def export(page: str, name: str) -> dict:
    return {"type": "export", "page": page, "name": name}


def download(page: str, name: str) -> dict:
    return {"type": "download", "page": page, "name": name}


# The Users page (admins only).
USERS_TABLE = "users-table"
USER_FORM = {name: f"user-form-{name}" for name in ("username", "role", "regions", "markets", "password")}
USER_SAVE = "user-save"
USER_REMOVE = "user-remove"
USER_FEEDBACK = "user-feedback"
