"""Fixtures for tests that need the PostgreSQL 15 test server and the stock
redshift_connector (with the test-only shim): import them into a test module."""
from __future__ import annotations

import os

import pytest

from tests.warehouse import postgres


@pytest.fixture(scope="module")
def postgres_server():
    try:
        server = postgres.start_server()
    except postgres.PostgresMissing as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        postgres.remove(server)


def redshift_connect(server: postgres.PostgresServer, **options):
    """The released redshift_connector, connected to the test server."""
    from tests.warehouse.redshift_shim import install

    install()
    import redshift_connector

    options = {"host": server.host, "port": server.port, "ssl": False, **options}
    return redshift_connector.connect(database=postgres.DATABASE, user=postgres.USER,
                                      password=postgres.PASSWORD, **options)


@pytest.fixture
def postgres_execute(postgres_server):
    """Run statements on the test server, each in its own transaction; the
    tables they create are dropped afterwards."""
    connection = redshift_connect(postgres_server)
    connection.autocommit = True
    cursor = connection.cursor()
    cursor.execute("CREATE SCHEMA IF NOT EXISTS test_ddl")
    cursor.execute("SET search_path TO test_ddl")
    try:
        yield cursor.execute
    finally:
        cursor.execute("DROP SCHEMA test_ddl CASCADE")
        connection.close()
