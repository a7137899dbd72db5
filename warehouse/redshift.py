"""Amazon Redshift, through the released redshift_connector.

`BIMS_WAREHOUSE=redshift://USER@HOST:PORT/DB` with the password in
`BIMS_REDSHIFT_PASSWORD`. Query parameters of the URL are passed to
`redshift_connector.connect` as they are (`true`/`false` and whole numbers
converted), so its own options work: IAM temporary credentials with
`?iam=true&cluster_identifier=my-cluster&region=eu-west-1&db_user=bims`
(plus `profile=...` or the usual AWS environment), `ssl=false`,
`timeout=30` ...

Reading: one connection per thread, reused, in autocommit; a dropped
connection is reopened once and the query retried; a server that cannot be
reached is WarehouseUnavailable (the dashboard's banner).

Publishing: one transaction. Each output table's new rows go into a staging
table `<name>__staging` (multi-row INSERT batches; above
BIMS_REDSHIFT_COPY_ROWS rows, COPY from Parquet on S3 when BIMS_S3_STAGING
and BIMS_REDSHIFT_IAM_ROLE are set), then the staging table replaces the live
one (DROP + RENAME) or, for `replace_fiscal_years`, its years are deleted and
re-inserted from staging. The run's record and findings are inserted in the
same transaction; any failure rolls it all back. Readers see the old tables or
the new ones, never a mix. Every Redshift-only statement comes from
warehouse.redshift_dialect; everything sent from here PostgreSQL accepts too.
"""
from __future__ import annotations

import datetime as dt
import decimal
import logging
import os
import threading
from typing import Sequence
from urllib.parse import parse_qsl, unquote, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

from warehouse.base import (
    META_TABLES, RUN_COLUMNS, RUN_TABLE_COLUMNS, Publication, Warehouse, WarehouseError, WarehouseUnavailable,
    working_columns,
)
from warehouse.redshift_socket import tcp_nodelay

log = logging.getLogger(__name__)

DEFAULT_PORT = 5439
# Rows per INSERT statement (fewer for wide tables: a statement binds at most
# 32767 parameters). Measured against the loopback PostgreSQL 15, 5,000 rows x
# 13 columns: 500-row INSERTs 0.07 s, executemany 0.14 s (0.49 s and 0.24 s
# without TCP_NODELAY); over a network to Redshift the gap is the round trips.
INSERT_BATCH_ROWS = 500
MAX_PARAMETERS = 30000
# Tables larger than this go through S3 + COPY when staging is configured.
DEFAULT_COPY_ROWS = 100_000
STAGING_SUFFIX = "__staging"
# SQLSTATEs of a connection the server ended (admin shutdown, crash).
_DROPPED = ("57P01", "57P02", "57P03", "08000", "08003", "08006")
_UNDEFINED_TABLE = "42P01"


def connect_options(url: str) -> dict:
    """redshift_connector.connect's keyword arguments for a redshift:// URL."""
    parts = urlsplit(url)
    if parts.scheme != "redshift" or not parts.hostname or not parts.path.strip("/"):
        raise WarehouseError(f"{url!r} is not a Redshift URL: write redshift://USER@HOST:PORT/DB")
    options: dict = {"host": parts.hostname, "port": parts.port or DEFAULT_PORT,
                     "database": unquote(parts.path.strip("/"))}
    if parts.username:
        options["user"] = unquote(parts.username)
    password = os.environ.get("BIMS_REDSHIFT_PASSWORD")
    if password:
        options["password"] = password
    for key, value in parse_qsl(parts.query):
        options[key] = _option_value(value)
    return options


def _option_value(text: str):
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text.isdigit():
        return int(text)
    return text


def _sqlstate(exc: Exception) -> str | None:
    detail = exc.args[0] if exc.args else None
    return detail.get("C") if isinstance(detail, dict) else None


def _is_dropped(exc: Exception) -> bool:
    import redshift_connector

    return isinstance(exc, (redshift_connector.InterfaceError, OSError)) or _sqlstate(exc) in _DROPPED


class RedshiftWarehouse(Warehouse):
    placeholder = "%s"  # redshift_connector's default paramstyle, "format"

    def __init__(self, url: str):
        self.url = url
        self.options = connect_options(url)
        self._local = threading.local()
        self._connections: list = []
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str) -> "RedshiftWarehouse":
        return cls(url)

    # --- connections ---------------------------------------------------------------

    def _open(self, autocommit: bool):
        import redshift_connector

        try:
            connection = redshift_connector.connect(**self.options)
        except Exception as exc:  # noqa: BLE001 - refused, unreachable, bad credentials
            where = f"{self.options['host']}:{self.options['port']}/{self.options['database']}"
            raise WarehouseUnavailable(f"cannot connect to Redshift at {where}: {exc}") from exc
        tcp_nodelay(connection)  # ~40 ms less per multi-packet statement (warehouse/redshift_socket.py)
        connection.autocommit = autocommit
        return connection

    def _reader(self):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._open(autocommit=True)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _forget_reader(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with self._lock:
                if connection in self._connections:
                    self._connections.remove(connection)
            _close_quietly(connection)

    # --- reading -------------------------------------------------------------------

    def read(self, sql: str, params: Sequence = ()) -> pa.Table:
        for attempt in (1, 2):
            connection = self._reader()
            try:
                cursor = connection.cursor()
                try:
                    cursor.execute(sql, list(params) or None)
                    return _to_arrow(cursor.description or [], cursor.fetchall() if cursor.description else [])
                finally:
                    cursor.close()
            except Exception as exc:  # noqa: BLE001 - sorted out below
                if _is_dropped(exc):
                    self._forget_reader()
                    if attempt == 1:
                        continue  # reopen once and retry
                    raise WarehouseUnavailable(f"the Redshift connection dropped: {exc}") from exc
                if _sqlstate(exc) == _UNDEFINED_TABLE:
                    raise WarehouseUnavailable(f"the warehouse lacks a table this query needs: {exc}") from exc
                raise WarehouseError(f"Redshift refused the query: {exc}") from exc
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            _close_quietly(connection)
        self._local = threading.local()

    # --- writing -------------------------------------------------------------------

    def publish(self, publication: Publication) -> dict[str, int]:
        connection = self._open(autocommit=False)
        try:
            cursor = connection.cursor()
            try:
                redshift = _is_redshift(cursor)
                for ddl in META_TABLES.values():
                    cursor.execute(ddl)
                written = {name: self._replace(cursor, name, folder, publication, redshift)
                           for name, folder in publication.tables.items()}
                run = dict(publication.run, rows_written=sum(written.values()) if written else 0)
                run_tables = [dict(row, run_id=run["run_id"],
                                   rows_written=written.get(row["table_name"], row.get("rows_written")))
                              for row in publication.run_tables]
                insert_rows(cursor, "etl_runs", RUN_COLUMNS, [[run.get(c) for c in RUN_COLUMNS]])
                insert_rows(cursor, "etl_run_tables", RUN_TABLE_COLUMNS,
                            [[row.get(c) for c in RUN_TABLE_COLUMNS] for row in run_tables])
                dq = publication.dq_issues
                if dq.num_rows:
                    columns = ["run_id", *dq.column_names]
                    insert_rows(cursor, "dq_issues", columns,
                                [[run["run_id"], *row] for row in zip(*(dq.column(c).to_pylist()
                                                                         for c in dq.column_names))])
                connection.commit()
                return written
            finally:
                cursor.close()
        except BaseException:
            try:
                connection.rollback()
            except Exception:  # noqa: BLE001 - the connection itself may be what failed
                pass
            raise
        finally:
            _close_quietly(connection)

    def _replace(self, cursor, name: str, folder: str, publication: Publication, redshift: bool) -> int:
        from warehouse.redshift_dialect import quote_identifier, table_ddl

        table = pq.read_table(folder)
        staging = name + STAGING_SUFFIX
        columns = [(f.name, column_type(f.type, table.column(f.name))) for f in table.schema]
        cursor.execute(f"DROP TABLE IF EXISTS {quote_identifier(staging)}")
        cursor.execute(table_ddl(staging, columns, redshift, layout_of=name))
        self._load(cursor, staging, folder, table, publication.run["run_id"])
        live, staged = quote_identifier(name), quote_identifier(staging)
        # Loaded with the files' every column (a COPY from Parquet takes them
        # all, by position), then the refresh's working columns are dropped.
        working = working_columns(table.column_names)
        for column in working:  # Redshift drops one column per statement
            cursor.execute(f"ALTER TABLE {staged} DROP COLUMN {quote_identifier(column)}")
        years = publication.replace_fiscal_years
        if years and "fiscal_year" in table.column_names and _exists(cursor, name):
            names = ", ".join(quote_identifier(c) for c in table.column_names if c not in working)
            marks = ", ".join(["%s"] * len(years))
            cursor.execute(f"DELETE FROM {live} WHERE fiscal_year IN ({marks})", list(years))
            cursor.execute(f"INSERT INTO {live} ({names}) SELECT {names} FROM {staged}")
            cursor.execute(f"DROP TABLE {staged}")
        else:
            cursor.execute(f"DROP TABLE IF EXISTS {live}")
            cursor.execute(f"ALTER TABLE {staged} RENAME TO {live}")
        return table.num_rows

    def _load(self, cursor, staging: str, folder: str, table: pa.Table, run_id: str) -> None:
        """The rows into the staging table: COPY from S3 for a large table when
        S3 staging is configured, parameterised INSERT batches otherwise."""
        s3_prefix = os.environ.get("BIMS_S3_STAGING")
        iam_role = os.environ.get("BIMS_REDSHIFT_IAM_ROLE")
        threshold = int(os.environ.get("BIMS_REDSHIFT_COPY_ROWS", DEFAULT_COPY_ROWS))
        if s3_prefix and iam_role and table.num_rows > threshold:
            from warehouse.redshift_dialect import copy_from_s3
            from warehouse.s3_staging import remove, upload_parquet_folder

            name = staging[:-len(STAGING_SUFFIX)]
            uri = upload_parquet_folder(folder, f"{s3_prefix.rstrip('/')}/{run_id}", name=name)
            try:
                cursor.execute(copy_from_s3(staging, uri, iam_role))
            finally:
                # The rows are in the staging table (or the load failed): the
                # files have done their job. A failure to delete only leaves
                # them to the prefix's lifecycle rule.
                try:
                    remove(uri)
                except Exception as exc:  # noqa: BLE001
                    log.warning("could not delete the staged files %s: %s", uri, exc)
            return
        insert_rows(cursor, staging, table.column_names,
                    zip(*(table.column(c).to_pylist() for c in table.column_names)))


def insert_rows(cursor, table: str, columns: Sequence[str], rows) -> None:
    """Rows (sequences in column order) in multi-row INSERT statements of up to
    INSERT_BATCH_ROWS rows, every value a bound parameter."""
    from warehouse.redshift_dialect import quote_identifier

    per_statement = max(1, min(INSERT_BATCH_ROWS, MAX_PARAMETERS // max(1, len(columns))))
    head = f"INSERT INTO {quote_identifier(table)} ({', '.join(quote_identifier(c) for c in columns)}) VALUES "
    row_marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    batch: list = []

    def flush():
        cursor.execute(head + ", ".join([row_marks] * (len(batch) // len(columns))), batch)
        batch.clear()

    for row in rows:
        batch.extend(_value(v) for v in row)
        if len(batch) >= per_statement * len(columns):
            flush()
    if batch:
        flush()


def _value(value):
    if isinstance(value, float) and value != value:  # NaN: a missing value, not 'NaN'
        return None
    return value


def column_type(arrow_type: pa.DataType, values: pa.ChunkedArray | None = None) -> str:
    """The portable SQL type of a Parquet column."""
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_int8(arrow_type) or pa.types.is_int16(arrow_type):
        return "SMALLINT"
    if pa.types.is_int32(arrow_type):
        return "INTEGER"
    if pa.types.is_integer(arrow_type):
        return "BIGINT"
    if pa.types.is_floating(arrow_type):
        return "DOUBLE PRECISION"
    if pa.types.is_decimal(arrow_type):
        return f"DECIMAL({arrow_type.precision}, {arrow_type.scale})"
    if pa.types.is_date(arrow_type):
        return "DATE"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        # VARCHAR(n) counts bytes in Redshift: room for the longest value, and
        # at least 1024 so an incremental refresh's longer names still fit.
        longest = 0
        if values is not None and len(values):
            import pyarrow.compute as pc

            longest = pc.max(pc.binary_length(values)).as_py() or 0
        width = 1024
        while width < longest and width < 65535:
            width = min(width * 4, 65535)
        return f"VARCHAR({width})"
    raise WarehouseError(f"no warehouse column type for Parquet type {arrow_type}")


def _exists(cursor, name: str) -> bool:
    cursor.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = %s "
                   "AND table_schema = current_schema()", [name])
    return cursor.fetchone()[0] > 0


def _is_redshift(cursor) -> bool:
    """Amazon Redshift's version() names it; PostgreSQL's does not."""
    cursor.execute("SELECT version()")
    return "redshift" in str(cursor.fetchone()[0]).lower()


# Result columns by the server's type OID (PostgreSQL's, which Redshift shares).
_ARROW_TYPES = {
    16: pa.bool_(), 20: pa.int64(), 21: pa.int16(), 23: pa.int32(), 26: pa.int64(),
    700: pa.float64(), 701: pa.float64(), 1700: pa.float64(),
    1082: pa.date32(), 1114: pa.timestamp("us"), 1184: pa.timestamp("us", tz="UTC"),
    18: pa.string(), 19: pa.string(), 25: pa.string(), 1042: pa.string(), 1043: pa.string(),
}


def _to_arrow(description, rows) -> pa.Table:
    names = [d[0] for d in description]
    columns = list(zip(*rows)) if rows else [() for _ in names]
    arrays = []
    for (name, oid, *_), values in zip(description, columns):
        arrow_type = _ARROW_TYPES.get(oid)
        if arrow_type == pa.float64():
            values = [float(v) if isinstance(v, decimal.Decimal) else v for v in values]
        elif arrow_type is not None and pa.types.is_timestamp(arrow_type) and arrow_type.tz:
            values = [v.astimezone(dt.timezone.utc) if v is not None else None for v in values]
        arrays.append(pa.array(list(values), type=arrow_type) if arrow_type is not None
                      else pa.array([None if v is None else str(v) for v in values], type=pa.string()))
    return pa.Table.from_arrays(arrays, names=_unique(names))


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - closing a dead connection
        pass
