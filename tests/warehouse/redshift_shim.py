"""Test-only compatibility shim: stock redshift_connector 2.x against PostgreSQL 15.

Redshift cannot run here, so the Redshift backend's tests drive the released,
unpatched redshift_connector against a real PostgreSQL 15. Four things stop
the stock connector talking to PostgreSQL; this module works around each in
the test process only (`install()`, called once at the start of the test
session). Product code never imports it.

1. Startup parameters. `Connection.__init__` (redshift_connector/core.py,
   `init_params`) sends `client_protocol_version`, `driver_version`,
   `os_version` and `driver_discovery_version` in the startup packet;
   PostgreSQL answers "unrecognized configuration parameter". The shim wraps
   the connection's socket file (core.py: `self._usock.makefile("rwb")`) and
   drops those four from the startup packet, the first message the connector
   flushes. Everything after the startup packet passes through untouched.
2. SCRAM. With SCRAM auth the connector reads the SASL mechanism list with
   one trailing NUL too few (core.py, `auth_code == 10`), hands scramp an empty
   mechanism name and fails. Not patched: the test server uses md5 auth and
   md5-stored passwords (tests/warehouse/postgres.py).
3. Server version. On the `server_version` parameter status
   (core.py, `handle_PARAMETER_STATUS`) the connector calls
   `packaging.version.parse` on the whole string, and Debian's PostgreSQL says
   `15.18 (Debian 15.18-0+deb12u1)`: InvalidVersion. The shim gives core.py a
   `version` module whose `parse` reads the leading `15.18` only.
4. SSL. `ssl=True` is the default and the loopback server has no
   certificate. Not patched: the test URL says `?ssl=false`, which the
   backend passes to `redshift_connector.connect` like any other option.
"""
from __future__ import annotations

import socket as _socket
import struct
import types

from packaging import version as _version

REJECTED_STARTUP_PARAMETERS = {b"client_protocol_version", b"driver_version", b"os_version",
                               b"driver_discovery_version"}
PROTOCOL_3 = 196608


def strip_startup_parameters(message: bytes) -> bytes:
    """A startup packet (Int32 length, Int32 protocol, name\\0value\\0 ..., \\0)
    without the parameters PostgreSQL rejects; any other message unchanged."""
    if len(message) < 8 or struct.unpack("!i", message[4:8])[0] != PROTOCOL_3:
        return message
    fields = bytes(message[8:]).split(b"\0")
    pairs = list(zip(fields[0::2], fields[1::2]))
    kept = b"".join(k + b"\0" + v + b"\0" for k, v in pairs if k and k not in REJECTED_STARTUP_PARAMETERS)
    body = struct.pack("!i", PROTOCOL_3) + kept + b"\0"
    return struct.pack("!i", len(body) + 4) + body


class _StartupFilter:
    """The connection's socket file: holds what is written until the first
    flush (the startup packet), rewrites it, then passes everything through."""

    def __init__(self, file):
        self._file = file
        self._pending: bytearray | None = bytearray()

    def write(self, data):
        if self._pending is None:
            return self._file.write(data)
        self._pending.extend(data)
        return len(data)

    def flush(self):
        if self._pending is not None:
            pending, self._pending = bytes(self._pending), None
            self._file.write(strip_startup_parameters(pending))
        return self._file.flush()

    def __getattr__(self, name):
        return getattr(self._file, name)


class _Socket(_socket.socket):
    def makefile(self, *args, **kwargs):
        return _StartupFilter(super().makefile(*args, **kwargs))


def _parse_version(text: str):
    return _version.parse(text.split()[0] if text.strip() else text)


def install() -> None:
    """Patch the installed redshift_connector for PostgreSQL (idempotent)."""
    from redshift_connector import core

    if getattr(core, "_bims_postgres_shim", False):
        return
    socket_module = types.ModuleType("socket")
    socket_module.__dict__.update(_socket.__dict__)
    socket_module.socket = _Socket
    core.socket = socket_module                      # (1)
    version_module = types.ModuleType("version")
    version_module.__dict__.update(_version.__dict__)
    version_module.parse = _parse_version
    core.version = version_module                    # (3)
    core._bims_postgres_shim = True
