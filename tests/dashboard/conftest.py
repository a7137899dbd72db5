"""The dashboard under test: one Dash app per process (Dash registers pages and
callbacks globally), pointed at a real warehouse the ETL built from the sample.
`on_warehouse` re-points it at another warehouse (a DuckDB path or any
warehouse URL, e.g. the PostgreSQL-backed redshift:// one) for one test."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

from dashboard.config import DashboardSettings


def settings_for(db: Path | str, cache_dir: Path) -> DashboardSettings:
    url = db if isinstance(db, str) and "://" in db else f"duckdb:///{db}"
    return DashboardSettings.from_env(warehouse_url=url, cache_dir=cache_dir)


@pytest.fixture(scope="session")
def dashboard_app(full_warehouse, tmp_path_factory):
    from dashboard.app import create_app

    app = create_app(settings_for(full_warehouse.path, tmp_path_factory.mktemp("dashboard-cache")))
    yield app


@pytest.fixture
def on_warehouse(dashboard_app, full_warehouse, tmp_path):
    """Use: `with on_warehouse(path_or_url): ...` — the dashboard reads that
    warehouse (a fresh cache) inside the block, and the sample's again afterwards."""
    from dashboard import data

    @contextmanager
    def use(db: Path | str):
        name = str(abs(hash(db))) if isinstance(db, str) else Path(db).parent.name
        data.init_app(dashboard_app.server, settings_for(db, tmp_path / f"cache-{name}"))
        try:
            yield
        finally:
            data.init_app(dashboard_app.server, settings_for(full_warehouse.path, tmp_path / "cache-full"))

    return use
