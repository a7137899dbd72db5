"""A throwaway PostgreSQL 15 server for the Redshift backend's tests.

`initdb` into a temporary folder with md5 password auth, `pg_ctl start` on a
free port bound to 127.0.0.1 (as the `postgres` user through `runuser` when the
tests run as root: PostgreSQL refuses to run as root), one database, stopped
at the end. Passwords are stored as md5 (`password_encryption=md5`): with a
SCRAM-stored password PostgreSQL would answer md5 auth with SCRAM, which stock
redshift_connector cannot do against PostgreSQL (see redshift_shim.py).
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

BIN_DIRS = [Path("/usr/lib/postgresql/15/bin")]
USER = "bims"
PASSWORD = "bims-test-password"
DATABASE = "bims"


class PostgresMissing(RuntimeError):
    pass


def bin_dir() -> Path:
    for folder in BIN_DIRS:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise PostgresMissing("PostgreSQL 15 is not installed (Debian package `postgresql`; `.ci/run` installs it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    folder: Path
    port: int
    bin: Path
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        """The BIMS_WAREHOUSE URL of this server (password in BIMS_REDSHIFT_PASSWORD)."""
        return self.url_of(DATABASE)

    def url_of(self, database: str) -> str:
        return f"redshift://{USER}@{self.host}:{self.port}/{database}?ssl=false"

    def new_database(self, name: str) -> str:
        """A new, empty database; its URL."""
        self.psql(f'CREATE DATABASE "{name}" OWNER {USER}')
        return self.url_of(name)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        command = [str(a) for a in args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)

    def start(self) -> None:
        self._run(self.bin / "pg_ctl", "start", "-w", "-t", "60", "-D", self.data, "-l", self.folder / "server.log",
                  "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                        "-c password_encryption=md5 -c fsync=off")

    def stop(self) -> None:
        self._run(self.bin / "pg_ctl", "stop", "-w", "-m", "fast", "-D", self.data)

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self._run(self.bin / "psql", "-h", self.folder, "-p", str(self.port), "-U", "postgres",
                         "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql,
                         env=dict(os.environ, PGPASSWORD=PASSWORD)).stdout


def start_server() -> PostgresServer:
    binaries = bin_dir()
    folder = Path(tempfile.mkdtemp(prefix="bims-pg-"))
    if os.geteuid() == 0:
        postgres = pwd.getpwnam("postgres")
        os.chown(folder, postgres.pw_uid, postgres.pw_gid)
    pwfile = folder / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        os.chown(pwfile, postgres.pw_uid, postgres.pw_gid)
    server = PostgresServer(folder, free_port(), binaries)
    server._run(binaries / "initdb", "-D", server.data, "-U", "postgres", "--auth=md5", f"--pwfile={pwfile}",
                "-E", "UTF8", "--locale=C")
    server.start()
    server.psql(f"CREATE ROLE {USER} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
    server.new_database(DATABASE)
    return server


def remove(server: PostgresServer) -> None:
    try:
        server.stop()
    finally:
        shutil.rmtree(server.folder, ignore_errors=True)
