"""The BIMS executive dashboard (Plotly Dash): pages/ hold layout, callbacks/
hold behaviour, data.py runs every query and owns the cache."""
