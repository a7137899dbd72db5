"""The dashboard under test: one Dash app per process (Dash registers pages and
callbacks globally), pointed at a real warehouse the ETL built from the sample.
`on_warehouse` re-points it at another warehouse (a DuckDB path or any
warehouse URL, e.g. the PostgreSQL-backed redshift:// one) for one test."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

from dashboard.config import DashboardSettings


def settings_for(db: Path | str, cache_dir: Path, **extra) -> DashboardSettings:
    """Settings for a test: no background cache warming (tests count the
    warehouse's reads) unless a test turns it on."""
    url = db if isinstance(db, str) and "://" in db else f"duckdb:///{db}"
    return DashboardSettings.from_env(warehouse_url=url, cache_dir=cache_dir, **{"warm_cache": False, **extra})


@pytest.fixture(scope="session")
def dashboard_app(full_warehouse, tmp_path_factory):
    """The app as production runs it (a secret key, Secure cookies), with the
    test users of tests/dashboard/signin.py in its users file."""
    from dashboard.app import create_app
    from tests.dashboard.signin import add_test_users

    home = tmp_path_factory.mktemp("dashboard")
    settings = settings_for(full_warehouse.path, home / "cache", environment="production",
                            secret_key="test-only-secret-key-0123456789abcdef",
                            users_file=home / "users.json", audit_log=home / "audit.log")
    add_test_users(settings.users_file)
    app = create_app(settings)
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
