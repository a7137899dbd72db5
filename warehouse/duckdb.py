"""The embedded default: one DuckDB file.

DuckDB lets one process write a file or many read it, never both at once. So a
refresh never writes the live file: it copies it, applies the whole refresh to
the copy in one transaction, and renames the copy over the live file. Readers
hold the old file (or the new one) whole; a refresh that dies leaves only a
stray copy behind, and the live file as it was.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Sequence

import duckdb
import pyarrow as pa

from warehouse.base import (
    META_TABLES, RUN_COLUMNS, RUN_TABLE_COLUMNS, Publication, Warehouse, WarehouseError,
    WarehouseUnavailable, working_columns,
)


def path_from_url(url: str) -> Path:
    """duckdb:///relative/path or duckdb:////absolute/path (SQLAlchemy's form)."""
    prefix = "duckdb:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise WarehouseError(f"{url!r} is not a DuckDB URL: write duckdb:///relative/path or duckdb:////absolute/path")
    return Path(url[len(prefix):])


class DuckDBWarehouse(Warehouse):
    placeholder = "?"

    def __init__(self, path: Path, url: str | None = None):
        self.path = Path(path)
        self.url = url or f"duckdb:///{self.path}"
        self._reader: duckdb.DuckDBPyConnection | None = None
        self._reader_identity: tuple | None = None
        self._retired: list[duckdb.DuckDBPyConnection] = []
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str) -> "DuckDBWarehouse":
        return cls(path_from_url(url), url)

    # --- reading ---------------------------------------------------------------

    def _identity(self) -> tuple:
        stat = self.path.stat()
        return stat.st_ino, stat.st_mtime_ns

    def _connection(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection to the current file, reopened after a refresh
        has swapped a new file in."""
        try:
            identity = self._identity()
        except FileNotFoundError:
            raise WarehouseUnavailable(
                f"no warehouse at {self.path}: load one with `python -m etl refresh --source DIR` (or `make run`)"
            ) from None
        if self._reader is None or identity != self._reader_identity:
            # Closing a connection closes its cursors: the replaced file's reader
            # is retired, and closed at the next swap, when its queries are done.
            for retired in self._retired:
                retired.close()
            self._retired = [self._reader] if self._reader is not None else []
            try:
                # Not duckdb.connect(path): DuckDB caches one instance per path in a
                # process, so a second reader would be handed the replaced file.
                # Attaching to a private in-memory instance always opens the file
                # now at the path.
                reader = duckdb.connect(":memory:")
                reader.execute("ATTACH ? AS warehouse (READ_ONLY)", [str(self.path)])
                self._reader = reader
            except duckdb.Error as exc:
                raise WarehouseUnavailable(f"cannot open the warehouse {self.path}: {exc}") from exc
            self._reader_identity = identity
        return self._reader

    def read(self, sql: str, params: Sequence = ()) -> pa.Table:
        # The lock covers only finding the file and taking a cursor (a
        # connection of its own), so the dashboard's callbacks query in parallel.
        with self._lock:
            cursor = self._connection().cursor()
        try:
            cursor.execute("USE warehouse")
            return cursor.sql(sql, params=list(params)).to_arrow_table()
        except duckdb.CatalogException as exc:
            raise WarehouseUnavailable(f"the warehouse {self.path} lacks a table this query needs: {exc}") from exc
        finally:
            cursor.close()

    def close(self) -> None:
        for connection in [*self._retired, self._reader]:
            if connection is not None:
                connection.close()
        self._retired, self._reader = [], None

    # --- writing -----------------------------------------------------------------

    @contextmanager
    def _writer_lock(self):
        """One refresh publishes at a time (others wait for it)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def publish(self, publication: Publication) -> dict[str, int]:
        run_id = publication.run["run_id"]
        with self._writer_lock():
            # Copies left by refreshes that died are stale: we hold the lock.
            for stale in self.path.parent.glob(f".{self.path.name}.*.tmp*"):
                stale.unlink(missing_ok=True)
            staged = self.path.with_name(f".{self.path.name}.{run_id}.tmp")
            try:
                if self.path.exists() and publication.tables and not publication.replace_fiscal_years:
                    _carry_over(self.path, staged, replaced=set(publication.tables))
                elif self.path.exists():
                    shutil.copyfile(self.path, staged)
                written = self._apply(staged, publication)
                with open(staged, "rb+") as f:
                    os.fsync(f.fileno())
                os.replace(staged, self.path)
                _fsync_dir(self.path.parent)
                return written
            finally:
                staged.unlink(missing_ok=True)
                Path(str(staged) + ".wal").unlink(missing_ok=True)

    def _apply(self, file: Path, publication: Publication) -> dict[str, int]:
        con = duckdb.connect(str(file))
        try:
            con.execute("BEGIN TRANSACTION")
            for ddl in META_TABLES.values():
                con.execute(ddl)
            written = {name: self._replace(con, name, folder, publication.replace_fiscal_years)
                       for name, folder in publication.tables.items()}
            run_tables = [{**row, "rows_written": written.get(row["table_name"], row.get("rows_written"))}
                          for row in publication.run_tables]
            run = dict(publication.run, rows_written=sum(written.values()) if written else 0)
            _insert_rows(con, "etl_runs", RUN_COLUMNS, [run])
            _insert_rows(con, "etl_run_tables", RUN_TABLE_COLUMNS,
                         [dict(r, run_id=run["run_id"]) for r in run_tables])
            dq = publication.dq_issues
            if dq.num_rows:
                con.register("dq_new", dq)
                con.execute("INSERT INTO dq_issues BY NAME SELECT ? AS run_id, * FROM dq_new", [run["run_id"]])
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
            return written
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    @staticmethod
    def _replace(con, name: str, folder: str, fiscal_years: Sequence[int] | None) -> int:
        source = f"read_parquet('{_sql_literal(folder)}/*.parquet')"
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()[0]
        columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        if working := working_columns(columns):
            excluded = ", ".join(f'"{c}"' for c in working)
            source = f"(SELECT * EXCLUDE ({excluded}) FROM {source})"
        if fiscal_years and exists and "fiscal_year" in columns:
            marks = ", ".join("?" for _ in fiscal_years)
            con.execute(f'DELETE FROM "{name}" WHERE fiscal_year IN ({marks})', list(fiscal_years))
            con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM {source}')
        else:
            con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM {source}')
        return con.execute(f"SELECT count(*) FROM {source}").fetchone()[0]


def _sql_literal(path: str) -> str:
    """A path inside a SQL string literal (paths come from our own staging folder)."""
    return str(path).replace("'", "''")


def _insert_rows(con, table: str, columns: Sequence[str], rows: list[dict]) -> None:
    if not rows:
        return
    marks = ", ".join("?" for _ in columns)
    con.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                    [[row.get(c) for c in columns] for row in rows])


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _carry_over(live: Path, new: Path, replaced: set[str]) -> None:
    """Start `new` with the tables of `live` that a full refresh does not replace
    (the run history and findings).

    Cheaper than copying the file whole and rewriting most of it, and the file
    stays compact: DuckDB does not give back the space of a replaced table.
    """
    con = duckdb.connect(str(new))
    try:
        con.execute("ATTACH ? AS live (READ_ONLY)", [str(live)])
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'live' "
            "AND table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY table_name").fetchall()]
        con.execute("BEGIN TRANSACTION")
        for ddl in META_TABLES.values():
            con.execute(ddl)
        for table in tables:
            if table in replaced:
                continue
            if table in META_TABLES:
                con.execute(f'INSERT INTO main."{table}" BY NAME SELECT * FROM live.main."{table}"')
            else:
                con.execute(f'CREATE TABLE main."{table}" AS SELECT * FROM live.main."{table}"')
        con.execute("COMMIT")
        con.execute("DETACH live")
    finally:
        con.close()
