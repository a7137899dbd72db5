"""The frame around every page: the URL's query string is the one source of the
filters' state. The filter bar, drill clicks, breadcrumbs and a page's own
settings write it; the back button and a shared link read it. The page itself
is re-rendered by Dash's router from the new query string."""
from __future__ import annotations

import logging

from dash import ALL, Input, Output, Patch, State, callback, clientside_callback, ctx, html, no_update

from dashboard import charts, components, data, formatting, ids, state

log = logging.getLogger(__name__)

CONTROLS = [ids.filter_control(name) for name in state.FILTERS]


def _triggered_value():
    return ctx.triggered[0]["value"] if ctx.triggered else None


def _from_controls(values: list) -> dict:
    return dict(zip(state.FILTERS, values))


def next_state(trigger, trigger_value, search: str | None, control_values: list,
               m: state.Members) -> tuple[dict, dict]:
    """The filters and page settings after an event (pure: tested on its own).

    trigger: None (first load), "url", "reset", a filter name, ("param", name),
    ("drill", level, member) or ("crumb", hierarchy, level)."""
    url = state.from_search(search)
    current = state.clean(m, url)
    # A page's settings checked like the filters (the defaults are left out of the URL).
    params = state.parse_params(url)
    if trigger in (None, "url"):
        return current, params
    if trigger == "reset":
        return {name: None for name in state.FILTERS}, params
    if isinstance(trigger, tuple) and trigger[0] == "param":
        allowed, _ = state.PAGE_PARAMS[trigger[1]]
        if trigger_value is not None and str(trigger_value) in allowed:
            params[trigger[1]] = str(trigger_value)
        return current, params
    if isinstance(trigger, tuple) and trigger[0] == "drill":
        return state.clean(m, state.drill(current, trigger[1], trigger[2])), params
    if isinstance(trigger, tuple) and trigger[0] == "crumb":
        return state.step_up(current, trigger[1], trigger[2] or None), params
    # A filter of the bar changed: in its hierarchy, the levels below it reset.
    chosen = _from_controls(control_values)
    for hierarchy in (state.GEOGRAPHY, state.PRODUCT_LEVELS):
        if trigger in hierarchy:
            for below in hierarchy[hierarchy.index(trigger) + 1:]:
                chosen[below] = None
    return state.clean(m, chosen), params


def _event(trigger_id, value):
    """The event a triggered component stands for (None when it is no event:
    a component that has just appeared)."""
    if trigger_id is None:
        return None
    if trigger_id == ids.URL:
        return "url"
    if trigger_id == ids.RESET:
        return "reset" if value else False
    if isinstance(trigger_id, dict):
        kind = trigger_id.get("type")
        if kind == "page-param":
            return ("param", trigger_id["name"]) if value is not None else False
        if kind == "crumb":
            return ("crumb", trigger_id["hierarchy"], trigger_id["level"]) if value else False
        if kind == "chart":
            point = ((value or {}).get("points") or [{}])[0]
            custom = point.get("customdata")
            if isinstance(custom, list) and len(custom) == 3 and custom[0] == "drill":
                return ("drill", str(custom[1]), str(custom[2]))
            return False
    for name in state.FILTERS:
        if trigger_id == ids.filter_control(name):
            return name
    return False


@callback(
    Output(ids.URL, "search"),
    *[Output(c, "value") for c in CONTROLS],
    *[Output(c, "options") for c in CONTROLS],
    Output(ids.breadcrumb("region"), "children"),
    Output(ids.breadcrumb("product"), "children"),
    Output(ids.nav_link(ALL), "href"),
    Output(ids.BANNER, "children"),
    Output(ids.BANNER, "is_open"),
    Output(ids.REFRESH_INFO, "children"),
    Input(ids.URL, "search"),
    *[Input(c, "value") for c in CONTROLS],
    Input(ids.chart(ALL, ALL), "clickData"),
    Input(ids.crumb(ALL, ALL), "n_clicks"),
    Input(ids.page_param(ALL), "value"),
    Input(ids.RESET, "n_clicks"),
    Input(ids.STATUS_POLL, "n_intervals"),
    State(ids.nav_link(ALL), "id"),
)
def sync(search, *args):
    control_values = list(args[:len(CONTROLS)])
    param_values, nav_ids = args[len(CONTROLS) + 2], args[-1]
    event = _event(ctx.triggered_id, _triggered_value())
    if event is False:
        return no_update
    hrefs = [_page_path(n["page"]) for n in nav_ids]
    unchanged = [no_update] * (1 + 2 * len(CONTROLS) + 2)
    ok, problem = data.status()
    if not ok:
        return (*unchanged, hrefs, [html.I(className="bi bi-exclamation-triangle-fill me-2"), problem], True, "")
    try:
        m = state.members()
        param_ids = [i["id"]["name"] for i in ctx.inputs_list[1 + len(CONTROLS) + 2]]
        given = dict(zip(param_ids, param_values))
        value = given.get(event[1]) if isinstance(event, tuple) and event[0] == "param" else None
        filters, params = next_state(event, value, search, control_values, m)
    except data.DataUnavailable as exc:
        return (*unchanged, hrefs, str(exc), True, "")
    new_search = state.to_search(filters, params)
    shown = state.with_fiscal_year(m, filters)
    options = state.options(m, filters)
    return (
        new_search if new_search != (search or "") else no_update,
        *[shown.get(name) for name in state.FILTERS],
        *[_options(name, options[name], m) for name in state.FILTERS],
        components.breadcrumb("region", filters),
        components.breadcrumb("product", filters),
        [path + new_search for path in hrefs],
        "", False, _refresh_info(),
    )


def _refresh_info() -> str:
    finished = data.latest_refresh().finished_at
    return f"Data refreshed {finished:%d %b %Y, %H:%M} UTC" if hasattr(finished, "strftime") else ""


def _page_path(module: str) -> str:
    import dash  # noqa: PLC0415

    for page in dash.page_registry.values():
        if page["module"].rsplit(".", 1)[-1] == module:
            return page["path"]
    return "/"


def _options(name: str, values: list, m: state.Members) -> list[dict]:
    if name == "fiscal_year":
        complete = dict(zip(m.fiscal_years["fiscal_year"].astype(int), m.fiscal_years["complete"].astype(bool)))
        return [{"label": formatting.fiscal_year(y) + ("" if complete.get(y) else " (to date)"), "value": y}
                for y in values]
    return [{"label": str(v), "value": v} for v in values]


# The theme: Bootstrap's colour mode on <html>, remembered in the browser.
clientside_callback(
    """
    function(n, theme) {
        const ctx = window.dash_clientside.callback_context;
        let next = theme || 'light';
        if (ctx.triggered.length && ctx.triggered[0].prop_id === 'theme-toggle.n_clicks' && n) {
            next = next === 'dark' ? 'light' : 'dark';
        }
        document.documentElement.setAttribute('data-bs-theme', next);
        document.documentElement.setAttribute('data-ag-theme-mode', next);
        return next;
    }
    """,
    Output(ids.THEME, "data"),
    Input(ids.THEME_TOGGLE, "n_clicks"),
    State(ids.THEME, "data"),
)


@callback(Output(ids.chart(ALL, ALL), "figure", allow_duplicate=True),
          Input(ids.THEME, "data"), State(ids.chart(ALL, ALL), "id"), prevent_initial_call=True)
def retheme(theme, chart_ids):
    """A new theme restyles the charts on the page in place: a partial update
    that sends only the template, not the figures' data again."""
    template = charts.template_json(theme)
    patches = []
    for _ in chart_ids:
        patch = Patch()
        patch["layout"]["template"] = template
        patches.append(patch)
    return patches


# The menu button of narrow screens (a tablet held upright) opens the page links.
clientside_callback(
    "function(n, open) { return n ? !open : open; }",
    Output(ids.NAV_COLLAPSE, "is_open"),
    Input(ids.NAV_TOGGLER, "n_clicks"),
    State(ids.NAV_COLLAPSE, "is_open"),
    prevent_initial_call=True,
)
