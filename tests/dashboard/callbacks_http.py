"""Dash callbacks called over HTTP exactly as the browser calls them
(POST /_dash-update-component), so that a test can forge any payload."""
from __future__ import annotations

import json

from dashboard import ids


def compact(component_id) -> str:
    return json.dumps(component_id, sort_keys=True, separators=(",", ":")) if isinstance(component_id, dict) \
        else component_id


def post(client, outputs: list[tuple], inputs: list[tuple], state: list = (), output_key: str | None = None):
    """outputs: (id, property); inputs: (id, property, value); state: (id, property, value) or a list of
    them (an ALL pattern). output_key: the callback's key when it is a pattern (MATCH) callback."""
    key = output_key or (f"{compact(outputs[0][0])}.{outputs[0][1]}" if len(outputs) == 1 else
                         ".." + "...".join(f"{compact(i)}.{p}" for i, p in outputs) + "..")
    as_state = [[{"id": i, "property": p, "value": v} for i, p, v in s] if isinstance(s, list)
                else {"id": s[0], "property": s[1], "value": s[2]} for s in state]
    body = {
        "output": key,
        "outputs": ({"id": outputs[0][0], "property": outputs[0][1]} if len(outputs) == 1 else
                    [{"id": i, "property": p} for i, p in outputs]),
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "state": as_state,
        "changedPropIds": [f"{compact(inputs[0][0])}.{inputs[0][1]}"],
    }
    return client.post("/_dash-update-component", json=body)


def table_rows(client, page: str, name: str, page_state: dict):
    """A table card's rows and the sentence it shows instead when it has none."""
    table = ids.table(page, name)
    response = post(client, [(table, "rowData"), (table, "columnDefs"), (table, "dashGridOptions"),
                             (ids.note(page, name), "children")],
                    [(ids.page_state(page), "data", page_state)], [(table, "dashGridOptions", {})])
    assert response.status_code == 200, response.status_code
    out = response.get_json()["response"][compact(table)]
    return out["rowData"], out["dashGridOptions"]["localeText"]["noRowsToShow"]


def export_csv(client, page: str, name: str, page_state: dict) -> str:
    """The CSV a card's export button downloads."""
    response = post(client, [(ids.download(page, name), "data")], [(ids.export(page, name), "n_clicks", 1)],
                    [[(ids.page_state(page), "data", page_state)]],
                    output_key='{"name":["MATCH"],"page":["MATCH"],"type":"download"}.data')
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()["response"][compact(ids.download(page, name))]["data"]["content"]
