"""End to end in a real headless Chromium: every page loads without console
errors, filters drive the KPIs, drill-down and breadcrumbs, shared links, the
back button and CSV export. Screenshots of every page land in
tests/output/screenshots/."""
from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlparse

import dash
import pytest

from dashboard import charts, data, formatting, ids
from queries.runner import run
from tests.dashboard.signin import ADMIN, INDIA, sign_in_browser
from tests.dashboard.browser import (
    CHROMIUM_ARGS, Traffic, chromium_path, choose, css_id, serve, wait_until_settled,
)


@pytest.fixture(scope="module")
def live_url(dashboard_app):
    with serve(dashboard_app.server) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_url):
    """A fresh browser tab, signed in as an admin through the sign-in form; the
    test fails if the page logs any console error (a CSP violation is one)."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    Traffic(tab)
    errors: list[str] = []
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: errors.append(str(error)))
    sign_in_browser(tab, live_url)
    yield tab
    context.close()
    assert not errors, f"console errors: {errors}"


def query_of(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def kpi_value(page, label: str) -> str:
    card = page.locator(".kpi-card", has=page.locator(".kpi-label", has_text=label))
    return card.locator(".kpi-value").inner_text()


def chart_members(page, chart_id) -> list[str]:
    """The category labels of a horizontal bar chart, top to bottom. Plotly draws
    after the callback's answer has arrived, so on a busy machine the page can be
    settled a moment before the chart exists: wait for it."""
    return page.wait_for_function(
        """(selector) => { const g = document.querySelector(selector + ' .js-plotly-plot');
                           return g && g.data && g.data.length ? g.data[0].y : null; }""",
        arg=css_id(chart_id), timeout=30_000).json_value()


def click_bar(page, chart_id, member: str) -> None:
    members = chart_members(page, chart_id)
    index = members.index(member)
    # Plotly's drag layer lies over the bars: click where the bar is, as a user does.
    bar = page.locator(f"{css_id(chart_id)} .bars .point").nth(index)
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_every_page_loads_without_console_errors(page, live_url, output_dir):
    folder = output_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    pages = sorted(dash.page_registry.values(), key=lambda p: p["order"])
    assert len(pages) >= 2
    for registered in pages:
        page.goto(live_url + registered["path"])
        wait_until_settled(page)
        assert page.locator(".page-title").inner_text() == registered["name"]
        assert "Traceback" not in page.content()
        page.screenshot(path=str(folder / f"{registered['order']}-{registered['path'].strip('/') or 'overview'}.png"),
                        full_page=True)
    # The dark theme, remembered across pages.
    page.goto(live_url + "/")
    wait_until_settled(page)
    page.click(f"#{ids.THEME_TOGGLE}")
    wait_until_settled(page)
    assert page.evaluate("document.documentElement.getAttribute('data-bs-theme')") == "dark"
    # The charts already drawn were restyled in place (a patch of their template).
    font = page.evaluate("""(s) => document.querySelector(s + ' .js-plotly-plot').layout.template.layout.font.color""",
                         css_id(ids.chart("overview", "trend")))
    assert font == charts.THEMES["dark"]["text"]
    page.goto(live_url + "/sales")
    wait_until_settled(page)
    assert page.evaluate("document.documentElement.getAttribute('data-bs-theme')") == "dark"
    page.screenshot(path=str(folder / "dark-sales.png"), full_page=True)


def test_a_tablet_gets_the_whole_page_and_a_menu(browser, live_url, output_dir):
    context = browser.new_context(viewport={"width": 820, "height": 1180}, is_mobile=True, has_touch=True)
    tab = context.new_page()
    Traffic(tab)
    try:
        sign_in_browser(tab, live_url)
        wait_until_settled(tab)
        assert tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        tab.screenshot(path=str(output_dir / "screenshots" / "tablet-overview.png"), full_page=True)
        assert not tab.locator(css_id(ids.nav_link("sales"))).is_visible()
        # one row: brand at the left, then the user menu, the menu button at the right edge
        brand, user, toggler = (tab.locator(s).bounding_box() for s in (
            ".navbar-brand", ".user-menu", f"#{ids.NAV_TOGGLER}"))
        assert brand["x"] < user["x"] < toggler["x"]
        assert abs((user["y"] + user["height"] / 2) - (toggler["y"] + toggler["height"] / 2)) < 8
        assert 820 - (toggler["x"] + toggler["width"]) < 40
        tab.click(f"#{ids.NAV_TOGGLER}")
        tab.locator(css_id(ids.nav_link("sales"))).click()
        tab.wait_for_url("**/sales**")
        wait_until_settled(tab)
        assert tab.locator(".page-title").inner_text() == "Sales"
    finally:
        context.close()


def test_fiscal_year_and_market_drive_the_kpis(page, live_url, full_warehouse):
    page.goto(live_url + "/")
    wait_until_settled(page)
    latest = run(full_warehouse, "kpis").to_pylist()
    net_sales = {r["measure"]: r for r in latest}["net_sales"]["this_year"]
    assert kpi_value(page, "Net sales") == formatting.money(net_sales)

    choose(page, ids.filter_control("fiscal_year"), "FY2020")
    page.wait_for_url("**fiscal_year=2020**")
    wait_until_settled(page)
    choose(page, ids.filter_control("market"), "India")
    page.wait_for_url("**market=India**")
    wait_until_settled(page)

    expected = {r["measure"]: r for r in run(full_warehouse, "kpis", fiscal_year=2020, market="India").to_pylist()}
    assert kpi_value(page, "Net sales") == formatting.money(expected["net_sales"]["this_year"])
    assert kpi_value(page, "Gross margin %") == formatting.percent(expected["gm_pct"]["this_year"])
    assert kpi_value(page, "Forecast accuracy") == formatting.percent(expected["forecast_accuracy"]["this_year"])
    assert kpi_value(page, "Sold quantity") == formatting.quantity(expected["sold_quantity"]["this_year"])
    # The market implies its region and sub-zone; the URL holds the state.
    assert query_of(page.url) == {"fiscal_year": "2020", "region": "APAC", "sub_zone": "India", "market": "India"}
    assert page.locator(f"#{ids.filter_control('region')}").inner_text().strip() == "APAC"


def test_drill_region_market_customer_and_back_with_the_breadcrumb(page, live_url, full_warehouse):
    chart = ids.chart("sales", "geography")
    page.goto(live_url + "/sales?fiscal_year=2021")
    wait_until_settled(page)
    regions = run(full_warehouse, "sales_by_dimension", fiscal_year=2021, dimension="region").to_pylist()
    assert chart_members(page, chart) == [r["member"] for r in regions]

    click_bar(page, chart, "APAC")
    page.wait_for_url("**region=APAC**")
    wait_until_settled(page)
    markets = run(full_warehouse, "sales_by_dimension", fiscal_year=2021, region="APAC", dimension="market")
    assert chart_members(page, chart) == markets.column("member").to_pylist()[:25]

    click_bar(page, chart, "India")
    page.wait_for_url("**market=India**")
    wait_until_settled(page)
    customers = run(full_warehouse, "sales_by_dimension", fiscal_year=2021, market="India", dimension="customer")
    assert chart_members(page, chart) == customers.column("member").to_pylist()[:25]
    crumbs = page.locator(f"#{ids.breadcrumb('region')}").inner_text()
    assert "All regions" in crumbs and "APAC" in crumbs and "India" in crumbs

    # The drill set the global filters: another page follows.
    page.click(css_id(ids.nav_link("overview")))
    wait_until_settled(page)
    assert query_of(page.url)["market"] == "India"
    assert page.locator(".page-scope").inner_text().startswith("APAC")

    # Step back up: to APAC, then to all regions.
    page.click(css_id(ids.crumb("region", "region")))
    wait_until_settled(page)
    assert "market" not in query_of(page.url) and query_of(page.url)["region"] == "APAC"
    page.click(css_id(ids.crumb("region", "")))
    wait_until_settled(page)
    assert "region" not in query_of(page.url)


def test_a_shared_link_opens_the_same_filters_and_back_works(page, live_url):
    page.goto(live_url + "/sales?fiscal_year=2020&region=EU&channel=Retailer")
    wait_until_settled(page)
    assert page.locator(f"#{ids.filter_control('fiscal_year')}").inner_text().strip().startswith("FY2020")
    assert page.locator(f"#{ids.filter_control('region')}").inner_text().strip() == "EU"
    assert page.locator(f"#{ids.filter_control('channel')}").inner_text().strip() == "Retailer"
    assert "FY2020" in page.locator(".fy-badge").inner_text()

    choose(page, ids.filter_control("channel"), "Direct")
    page.wait_for_url("**channel=Direct**")
    wait_until_settled(page)
    page.go_back()
    page.wait_for_url("**channel=Retailer**")
    wait_until_settled(page)
    assert page.locator(f"#{ids.filter_control('channel')}").inner_text().strip() == "Retailer"


def test_unknown_values_in_a_link_are_ignored(page, live_url):
    page.goto(live_url + "/?market=Atlantis&fiscal_year=1999&region=%27%3B%20DROP%20TABLE%20dim_customer%3B--")
    wait_until_settled(page)
    assert page.locator(".page-scope").inner_text() == "All markets and products"
    assert page.locator(f"#{ids.filter_control('market')}").inner_text().strip() == "All"


def test_export_holds_exactly_the_rows_shown(page, live_url, full_warehouse):
    page.goto(live_url + "/?fiscal_year=2021&region=APAC")
    wait_until_settled(page)
    with page.expect_download() as download_info:
        page.click(css_id(ids.export("overview", "top_customers")))
    download = download_info.value
    assert download.suggested_filename == "bims_overview_top-customers_FY2021_region-APAC.csv"
    rows = list(csv.DictReader(io.StringIO(download.path().read_text())))
    expected = run(full_warehouse, "top_customers", fiscal_year=2021, region="APAC", n=5, by="net_sales").to_pylist()
    assert [r["customer"] for r in rows] == [e["customer"] for e in expected]
    assert [round(float(r["value"]), 6) for r in rows] == [round(e["value"], 6) for e in expected]
    shown = chart_members(page, ids.chart("overview", "top_customers"))
    assert shown == [e["customer"] for e in expected]


def test_a_missing_warehouse_shows_a_banner_not_a_traceback(page, live_url, on_warehouse, tmp_path):
    with on_warehouse(tmp_path / "nowhere" / "bims.duckdb"):
        page.goto(live_url + "/sales")
        wait_until_settled(page)
        banner = page.locator(f"#{ids.BANNER}")
        assert "warehouse" in banner.inner_text().lower()
        assert "make run" in page.locator(".unavailable").inner_text()
        assert "Traceback" not in page.content()
    assert data.status()[0]


def test_the_browser_checks_pass_on_the_redshift_warehouse(page, live_url, on_warehouse, redshift_warehouse,
                                                           tmp_path):
    """The same checks with the dashboard reading the Redshift backend (over
    PostgreSQL, tests/warehouse/README.md)."""
    with on_warehouse(redshift_warehouse.url):
        test_every_page_loads_without_console_errors(page, live_url, tmp_path)
        test_fiscal_year_and_market_drive_the_kpis(page, live_url, redshift_warehouse)
        test_drill_region_market_customer_and_back_with_the_breadcrumb(page, live_url, redshift_warehouse)
        test_a_shared_link_opens_the_same_filters_and_back_works(page, live_url)
        test_unknown_values_in_a_link_are_ignored(page, live_url)
        test_export_holds_exactly_the_rows_shown(page, live_url, redshift_warehouse)


def test_a_redshift_server_that_is_down_shows_the_banner(page, live_url, on_warehouse, postgres):
    from tests.warehouse.postgres import free_port

    with on_warehouse(f"redshift://bims@127.0.0.1:{free_port()}/bims?ssl=false"):
        page.goto(live_url + "/")
        wait_until_settled(page)
        assert "cannot be reached" in page.locator(f"#{ids.BANNER}").inner_text()
        assert "Traceback" not in page.content()


def new_tab(browser, **options):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, **options)
    tab = context.new_page()
    Traffic(tab)
    return context, tab


def test_sign_in_brings_the_user_to_the_page_asked_for_and_sign_out_ends_the_session(browser, live_url,
                                                                                       output_dir):
    context, tab = new_tab(browser)
    try:
        tab.goto(live_url + "/sales?fiscal_year=2021")
        assert "/login?next=" in tab.url
        tab.screenshot(path=str(output_dir / "screenshots" / "sign-in.png"))
        tab.fill("#username", ADMIN.name)
        tab.fill("#password", "not-the-password")
        tab.click("#signin-button")
        assert tab.locator("#signin-error").inner_text() == "The user name or password is wrong."
        tab.fill("#password", ADMIN.password)
        tab.click("#signin-button")
        tab.wait_for_url("**/sales?fiscal_year=2021")
        wait_until_settled(tab)
        assert tab.locator(".page-title").inner_text() == "Sales"
        assert tab.locator(f"#{ids.USER_NAME}").inner_text() == ADMIN.name
        # Signing out in a second tab ends the session for the first one too:
        # its next request is refused and it goes to the sign-in page.
        other = context.new_page()
        other.goto(live_url + "/")
        wait_until_settled(other)
        other.click(f"#{ids.SIGN_OUT}")
        other.wait_for_url("**/login?signed_out=1")
        assert "You have signed out." in other.content()
        choose(tab, ids.filter_control("region"), "EU")
        tab.wait_for_url("**/login?next=**")
        assert tab.locator("#signin-button").is_visible()
        tab.goto(live_url + "/sales")
        assert "/login" in tab.url
    finally:
        context.close()


def test_a_market_scoped_user_sees_only_their_market(browser, live_url, full_warehouse):
    context, tab = new_tab(browser)
    try:
        sign_in_browser(tab, live_url, INDIA, "/?market=USA")
        wait_until_settled(tab)
        # The link's other market is dropped; the figures are India's alone.
        assert tab.locator(".page-scope").inner_text() == "All of your data (India)"
        expected = {r["measure"]: r for r in run(full_warehouse, "kpis", market="India").to_pylist()}
        assert kpi_value(tab, "Net sales") == formatting.money(expected["net_sales"]["this_year"])
        tab.click(f"#{ids.filter_control('market')}")
        assert [o.inner_text() for o in tab.get_by_role("option").all()] == ["India"]
        tab.keyboard.press("Escape")
        assert not tab.locator(css_id(ids.nav_link("users"))).count()
        tab.goto(live_url + "/users")
        wait_until_settled(tab)
        assert "Only administrators manage users." in tab.locator(".unavailable").inner_text()
    finally:
        context.close()
