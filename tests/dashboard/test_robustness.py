"""Forged callback payloads and broken requests: a clear sentence or a bare
error status, never a traceback or a query built from the value."""
from __future__ import annotations

import json
import re

import pytest

from dashboard import ids
from tests.dashboard.signin import signed_in_client


def compact(component_id) -> str:
    return json.dumps(component_id, sort_keys=True, separators=(",", ":"))


def call_card(client, page: str, name: str, filters: dict):
    chart, note = ids.chart(page, name), ids.note(page, name)
    body = {
        "output": f"..{compact(chart)}.figure...{compact(note)}.children..",
        "outputs": [{"id": chart, "property": "figure"}, {"id": note, "property": "children"}],
        "inputs": [{"id": ids.page_state(page), "property": "data", "value": {"filters": filters}}],
        "state": [{"id": ids.THEME, "property": "data", "value": "light"}],
        "changedPropIds": [compact(ids.page_state(page)) + ".data"],
    }
    return client.post("/_dash-update-component", json=body)


@pytest.fixture(scope="module")
def client(dashboard_app):
    client = signed_in_client(dashboard_app.server)
    assert client.get("/").status_code == 200
    return client


@pytest.mark.parametrize("filters, said", [
    ({"fiscal_year": 2021, "market": "India' OR 1=1 --"}, "market \"India' OR 1=1 --\" is not in the warehouse."),
    ({"fiscal_year": 2021, "region": "Atlantis"}, "region 'Atlantis' is not in the warehouse."),
    ({"fiscal_year": "2021; DROP TABLE etl_runs"}, "fiscal year takes a whole number"),
    ({"fiscal_year": 1999}, "fiscal year 1999 is not in the warehouse."),
])
def test_forged_filters_get_a_sentence(client, filters, said):
    response = call_card(client, "sales", "monthly", filters)
    assert response.status_code == 200
    figure = response.get_json()["response"][compact(ids.chart("sales", "monthly"))]["figure"]
    assert said in figure["layout"]["annotations"][0]["text"]
    assert figure["data"] == []
    assert "Traceback" not in response.get_data(as_text=True)


def test_broken_requests_get_a_bare_error(client):
    for response in (client.post("/_dash-update-component", data="not json", content_type="application/json"),
                     client.post("/_dash-update-component", json={"output": "x.y", "outputs": {"id": "x"},
                                                                  "inputs": [], "changedPropIds": []})):
        assert response.status_code in (400, 500)
        text = response.get_data(as_text=True)
        assert "Traceback" not in text and "File \"" not in text


def test_debug_is_off_unless_asked(dashboard_app, monkeypatch):
    from dashboard.config import DashboardSettings

    assert DashboardSettings.from_env().debug is False
    monkeypatch.setenv("BIMS_DEBUG", "1")
    assert DashboardSettings.from_env().debug is True
    assert dashboard_app.server.debug is False


def test_no_page_loads_anything_from_another_host(client):
    html = client.get("/").get_data(as_text=True)
    loaded = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', html)
    assert loaded and all(url.startswith("/") for url in loaded), loaded
    for asset in ("/assets/01-bootstrap.min.css", "/assets/02-bootstrap-icons.min.css", "/assets/03-inter.css",
                  "/assets/10-bims.css"):
        css = client.get(asset).get_data(as_text=True)
        imported = re.findall(r"(?:url\(|@import)\s*['\"]?([^'\")\s]+)", css)
        assert not [u for u in imported if "://" in u and not u.startswith("http://www.w3.org")], asset
