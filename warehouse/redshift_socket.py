"""TCP_NODELAY on a redshift_connector connection.

redshift_connector (2.x) writes each statement through a buffered file over a
plain TCP socket and never sets TCP_NODELAY. A statement longer than the
8 KiB write buffer leaves the socket in several writes; Nagle's algorithm
holds the last one until the server acknowledges the previous ones, and the
server delays that acknowledgement (about 40 ms on Linux) because it has no
answer to send yet. Every multi-row INSERT batch then takes 40 ms more than it
needs (docs/performance.md, "Redshift connector latency").

`tcp_nodelay(connection)` sets the option on the connection's socket after
connecting. The socket is a private attribute (`Connection._usock`), so it
is looked up defensively: a connector version that moves it, a Unix socket or
a closed connection leaves the option unset and logs why; the connection
itself is never failed.
"""
from __future__ import annotations

import logging
import socket

log = logging.getLogger(__name__)

# Where redshift_connector keeps the connected socket (core.py: Connection._usock,
# a socket.socket or, with ssl=True, an ssl.SSLSocket, which is one too).
SOCKET_ATTRIBUTES = ("_usock",)


def connection_socket(connection) -> socket.socket | None:
    for name in SOCKET_ATTRIBUTES:
        sock = getattr(connection, name, None)
        if isinstance(sock, socket.socket):
            return sock
    return None


def tcp_nodelay(connection) -> bool:
    """Set TCP_NODELAY on the connection's socket; whether it is now set.
    Never raises."""
    sock = connection_socket(connection)
    if sock is None:
        log.warning("TCP_NODELAY not set: %s has no socket in %s (another redshift_connector version?)",
                    type(connection).__name__, ", ".join(SOCKET_ATTRIBUTES))
        return False
    try:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return False  # a Unix socket: no Nagle to turn off
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    except (OSError, ValueError) as exc:
        log.warning("TCP_NODELAY not set on the warehouse connection: %s", exc)
        return False
