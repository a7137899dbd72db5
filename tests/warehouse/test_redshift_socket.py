"""tcp_nodelay: set on a real redshift_connector connection to PostgreSQL 15,
never failing a connection it cannot set it on."""
from __future__ import annotations

import logging
import socket

from tests.warehouse.pg_fixtures import postgres_server, redshift_connect  # noqa: F401 (fixture)
from warehouse.redshift_socket import tcp_nodelay


def nodelay(connection) -> int:
    return connection._usock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def select_one(connection) -> list:
    cursor = connection.cursor()
    cursor.execute("SELECT 1")
    return [list(r) for r in cursor.fetchall()]


def test_sets_tcp_nodelay_on_the_connection_socket(postgres_server):
    connection = redshift_connect(postgres_server)
    try:
        assert nodelay(connection) == 0  # the connector as released leaves Nagle on
        assert tcp_nodelay(connection) is True
        assert nodelay(connection) == 1
        assert select_one(connection) == [[1]]
        assert tcp_nodelay(connection) is True  # again: harmless
    finally:
        connection.close()


def test_unix_socket_connection_is_left_as_it_is(postgres_server):
    path = str(postgres_server.folder / f".s.PGSQL.{postgres_server.port}")
    connection = redshift_connect(postgres_server, host=None, unix_sock=path)
    try:
        assert connection._usock.family == socket.AF_UNIX
        assert tcp_nodelay(connection) is False
        assert select_one(connection) == [[1]]
    finally:
        connection.close()


def test_without_a_socket_it_warns_and_returns_false(caplog):
    class Elsewhere:  # a connector version that keeps its socket under another name
        _sock = object()

    with caplog.at_level(logging.WARNING, logger="warehouse.redshift_socket"):
        assert tcp_nodelay(Elsewhere()) is False
        assert tcp_nodelay(None) is False
    assert "TCP_NODELAY not set" in caplog.text


def test_closed_connection_returns_false(postgres_server):
    connection = redshift_connect(postgres_server)
    connection.close()

    assert tcp_nodelay(connection) is False
