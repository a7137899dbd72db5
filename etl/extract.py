"""Extract: find the source tables in a folder or an s3:// prefix and read them
as Spark DataFrames of raw values.

Nothing is parsed or checked here beyond finding the files and the columns:
every value stays as the file holds it (CSV: strings, so codes keep their
leading zeros and `NA` stays a region), and validate decides what it means.

When Spark runs on this machine, CSV files are first copied into Parquet
columns of the same strings by Arrow's CSV reader (the 2.1 GB of CSV at
scale 10 in about 6 s), which Spark then reads far faster than it parses CSV
(docs/performance.md). A file Arrow cannot read exactly as Spark would (a row
with too few or too many fields, bytes that are not UTF-8) is left to Spark's
reader, so what a refresh sees never depends on which one read it. For a
refresh of some fiscal years the copy leaves out the fact rows whose month is
plainly another year's (`months_outside`), so Spark reads only what it keeps.
"""
from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import logging
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from etl.schema import MONTH, TABLES, YEAR, Column, TableSpec, spec_for_file_name
from etl.transform import fiscal_year_bounds, in_fiscal_years
from etl.validate import parse_value

log = logging.getLogger(__name__)

SUFFIXES = (".csv", ".csv.gz", ".parquet")
# Arrow parses CSV a block at a time: 2 MB blocks kept a scale-10 copy at 6 s
# where 32 MB took 9 s (the larger blocks' memory is mapped and unmapped, not
# parsed); rows are gathered into row groups of about a million for Spark.
CSV_BLOCK_BYTES = 2 << 20
ROW_GROUP_ROWS = 1 << 20


class SourceError(Exception):
    """The source cannot be read as BIMS data (missing tables, columns or files)."""


@dataclass
class SourceFile:
    table: str
    path: str  # what Spark reads: a local path (file or folder)
    fmt: str  # csv | parquet
    shown_as: str  # what the user named: local path or s3:// URI


@dataclass
class Extracted:
    frames: dict[str, DataFrame]
    files: dict[str, SourceFile]
    missing_optional: list[str] = field(default_factory=list)
    # CSV file -> why Arrow could not copy it (it is read by Spark's CSV reader)
    read_by_spark: dict[str, str] = field(default_factory=dict)

    @property
    def layout(self) -> str:
        return "full" if "dim_market" in self.frames or "fact_forecast_monthly" in self.frames else "adhoc"


def _stem_and_format(name: str) -> tuple[str, str] | None:
    lower = name.lower()
    for suffix in SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)], ("parquet" if suffix == ".parquet" else "csv")
    return None


def _folder_format(entries: list[str]) -> str | None:
    """A folder of part files (as Spark writes them) is one table."""
    formats = {f for _, f in filter(None, (_stem_and_format(e) for e in entries))}
    return formats.pop() if len(formats) == 1 else None


def _discover_local(root: Path) -> list[tuple[str, str, str]]:
    if not root.is_dir():
        raise SourceError(f"source folder {root} does not exist")
    found = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir():
            fmt = _folder_format([p.name for p in entry.iterdir()])
            if fmt:
                found.append((entry.name, str(entry), fmt))
        elif parsed := _stem_and_format(entry.name):
            found.append((parsed[0], str(entry), parsed[1]))
    return found


def s3_filesystem():
    """pyarrow's S3 filesystem; `AWS_ENDPOINT_URL` points it at an S3-compatible server."""
    from pyarrow import fs

    endpoint = os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("BIMS_S3_ENDPOINT")
    kwargs = {"region": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    if endpoint:
        parsed = urlparse(endpoint)
        kwargs.update(endpoint_override=parsed.netloc or parsed.path, scheme=parsed.scheme or "https")
    return fs.S3FileSystem(**kwargs)


def _stage_s3(uri: str, staging_dir: Path) -> tuple[Path, dict[str, str]]:
    """Copy the tables under an s3:// prefix into a local folder.

    Spark reads local files here: pyspark ships no S3 connector (hadoop-aws), so
    pyarrow's S3 client fetches the objects. On a cluster with hadoop-aws
    installed, give Spark s3a:// paths instead.
    """
    from pyarrow import fs

    s3 = s3_filesystem()
    prefix = uri[len("s3://"):].rstrip("/")
    try:
        infos = s3.get_file_info(fs.FileSelector(prefix, recursive=True))
    except FileNotFoundError:
        infos = []  # an existing bucket with nothing under the prefix: no tables
    except OSError as exc:
        raise SourceError(f"cannot list {uri}: {exc}") from exc
    staging_dir.mkdir(parents=True, exist_ok=True)
    shown: dict[str, str] = {}
    for info in infos:
        if info.type != fs.FileType.File or not _stem_and_format(info.base_name):
            continue
        relative = info.path[len(prefix):].lstrip("/")
        target = staging_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        fs.copy_files(info.path, str(target), source_filesystem=s3)
        top = relative.split("/")[0]
        shown[top] = f"s3://{prefix}/{top}"
    return staging_dir, shown


def _normalise_header(name: str) -> str:
    return name.replace("\ufeff", "").strip().lower()


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir()) if path.is_dir() else path.stat().st_size


def _csv_files(path: Path) -> list[Path]:
    """The CSV file, or the part files of a folder of them, in name order."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and _stem_and_format(p.name))
    return [path]


def _csv_header(path: Path) -> list[str]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as raw:
        return next(csv.reader(io.StringIO(raw.readline().decode("utf-8-sig"))), [])


def months_outside(bounds: list[tuple]):
    """For an incremental refresh's copy: every month written exactly `yyyy-mm-01`
    (years 1900-2199) that lies outside all the fiscal years' (first, last)
    months. Spark reads each of these as that very date, so
    `fiscal_year_scope` would drop its rows anyway; any other value (padded,
    mid-month, malformed, empty) is not among them and is kept for Spark to
    judge, so the copy never decides what a row means. Matching a set of
    strings costs a hash per value: 0.1 s for 19 M rows, where parsing each
    date in Arrow took 6 s."""
    import datetime as dt

    import pyarrow as pa

    firsts = (dt.date(year, month, 1) for year in range(1900, 2200) for month in range(1, 13))
    return pa.array([d.isoformat() for d in firsts if not any(first <= d <= last for first, last in bounds)],
                    pa.string())


def _csv_part_as_parquet(path: Path, target: Path, spec: TableSpec, outside=None) -> None:
    """One CSV file as Parquet string columns, read the way Spark reads it here
    (read_table's options): the header names the columns, RFC 4180 quotes, CRLF
    or LF, blank lines skipped, an empty field missing, quoted or not. Arrow
    raises on a row whose field count differs from the header's and on bytes
    that are not UTF-8: those are Spark's to read. With `outside` (see
    `months_outside`), a fact's rows whose month is one of them are not copied."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    names = _csv_header(path)
    normalised = [_normalise_header(n) for n in names]
    if not names or "" in normalised or len(set(normalised)) < len(normalised):
        # Spark names blank and repeated headers its own way: leave it to Spark.
        raise pa.ArrowInvalid(f"header {names!r} has blank or repeated names")
    scope = _scope_column(spec, normalised) if outside is not None else None
    month_column = names[normalised.index(scope.name)] if scope is not None and scope.kind == MONTH else None
    reader = pcsv.open_csv(
        pa.input_stream(str(path), compression="detect"),
        read_options=pcsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
        convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names}, null_values=[""],
                                            strings_can_be_null=True, quoted_strings_can_be_null=True),
    )
    if any(f.type != pa.string() for f in reader.schema):
        raise pa.ArrowInvalid(f"header {names!r} is not what Arrow read")
    with pq.ParquetWriter(target, reader.schema, compression="snappy") as writer:
        def write_row_group(batches: list[pa.RecordBatch]) -> None:
            table = pa.Table.from_batches(batches, schema=reader.schema)
            writer.write_table(table, row_group_size=table.num_rows)

        group, rows = [], 0
        for batch in reader:
            if month_column is not None:
                batch = batch.filter(pc.invert(pc.is_in(batch.column(month_column), value_set=outside)))
            group.append(batch)
            rows += batch.num_rows
            if rows >= ROW_GROUP_ROWS:
                write_row_group(group)
                group, rows = [], 0
        if group:
            write_row_group(group)


def stage_csv_as_parquet(source: SourceFile, staging_dir: Path, outside=None) -> tuple[SourceFile, str | None]:
    """The source to read: CSV copied into a folder of Parquet string columns, or
    the CSV itself with the reason Arrow cannot read it as Spark would. With
    `outside` (`months_outside` of the refresh's fiscal years), a fact's rows of
    other years are left out of the copy (the scan then reads only what the
    refresh keeps; Spark's own filter still decides)."""
    import pyarrow as pa

    if source.fmt != "csv":
        return source, None
    target = staging_dir / "csv-as-parquet" / source.table
    target.mkdir(parents=True, exist_ok=True)
    try:
        for number, part in enumerate(_csv_files(Path(source.path))):
            _csv_part_as_parquet(part, target / f"part-{number:05d}.parquet", TABLES[source.table], outside)
    except (pa.ArrowInvalid, UnicodeDecodeError) as reason:
        shutil.rmtree(target, ignore_errors=True)
        return source, str(reason).removeprefix("CSV parse error: ")
    return dataclasses.replace(source, path=str(target), fmt="parquet"), None


def _scope_column(spec: TableSpec, names) -> Column | None:
    """The column that decides a row's fiscal year: a fact's month; the yearly
    tables carry the year itself."""
    return next((c for c in spec.columns if c.kind in (MONTH, YEAR) and c.name in names), None)


def fiscal_year_scope(spec: TableSpec, raw: DataFrame, years, start_month: int) -> SparkColumn | None:
    """The rows of a table that belong to these fiscal years, plus those whose year
    cannot be told (so validate still reports them); None keeps every row.

    Written on the raw columns so that Spark pushes it into the scan: Parquet
    sources then skip the other years' row groups by their min/max statistics.
    """
    names = {_normalise_header(c): c for c in raw.columns}
    column = _scope_column(spec, names)
    if not years or column is None:
        return None
    name = names[column.name]
    value = parse_value(name, column.kind, raw.schema[name].dataType)
    in_years = in_fiscal_years(value, years, start_month) if column.kind == MONTH else value.isin(*years)
    return value.isNull() | in_years


def read_table(spark: SparkSession, source: SourceFile, spec: TableSpec, fiscal_years=(),
               fiscal_start_month: int = 9) -> DataFrame:
    if source.fmt == "csv":
        # header, RFC 4180 quotes ("" inside a quoted field), CRLF or LF endings;
        # no schema inference: every value arrives as the string the file holds,
        # and only an empty field is missing.
        raw = spark.read.options(
            header=True, inferSchema=False, quote='"', escape='"', mode="PERMISSIVE",
            nullValue="", emptyValue="",
        ).csv(source.path)
    else:
        raw = spark.read.parquet(source.path)
    columns = {_normalise_header(c): c for c in raw.columns}
    missing = [c.name for c in spec.columns if c.required and c.name not in columns]
    if missing:
        raise SourceError(
            f"{source.shown_as}: table {spec.name} lacks required column(s) {', '.join(missing)} "
            f"(it has: {', '.join(raw.columns)})"
        )
    selected = [
        (F.col(f"`{columns[c.name]}`") if c.name in columns else F.lit(None).cast("string")).alias(c.name)
        for c in spec.columns
    ]
    scope = fiscal_year_scope(spec, raw, fiscal_years, fiscal_start_month)
    if scope is not None:
        raw = raw.where(scope)
    # The row id comes after the filter: it is not deterministic, and Spark
    # pushes no filter through it.
    return raw.select(
        *selected,
        F.lit(source.shown_as).alias("_source_file"),
        F.monotonically_increasing_id().alias("_row_id"),
    )


def discover(source: str, staging_dir: Path | None = None) -> dict[str, SourceFile]:
    """The source files of each known table under a folder or s3:// prefix."""
    shown: dict[str, str] = {}
    if source.startswith("s3://"):
        staging_dir = staging_dir or Path(tempfile.mkdtemp(prefix="bims-s3-"))
        root, shown = _stage_s3(source, staging_dir)
    elif source.startswith(("s3a://", "s3n://")):
        raise SourceError(f"{source}: write S3 sources as s3://bucket/prefix")
    else:
        root = Path(source)
    files: dict[str, SourceFile] = {}
    for stem, path, fmt in _discover_local(root):
        spec = spec_for_file_name(stem)
        if spec is None:
            continue
        if spec.name in files:
            raise SourceError(
                f"{source}: two files hold table {spec.name}: {files[spec.name].shown_as} and "
                f"{shown.get(Path(path).name, path)}"
            )
        name = Path(path).name
        files[spec.name] = SourceFile(spec.name, path, fmt, shown.get(name, path))
    return files


def extract(spark: SparkSession, source: str, staging_dir: Path | None = None, fiscal_years=(),
            fiscal_start_month: int = 9, csv_reader: str = "arrow") -> Extracted:
    """Every source table as a frame; with `fiscal_years`, only those years' rows.

    `csv_reader`: "arrow" stages CSV files as Parquet first (Spark on this
    machine); "spark" reads them with Spark's CSV reader (a cluster, whose
    executors cannot see this machine's staging folder)."""
    staging_dir = staging_dir or Path(tempfile.mkdtemp(prefix="bims-source-"))
    files = discover(source, staging_dir / "s3")
    missing_required = [t.name for t in TABLES.values() if t.required and t.name not in files]
    if missing_required:
        raise SourceError(
            f"{source}: required table(s) missing: {', '.join(missing_required)} "
            f"(looked for .csv, .csv.gz or .parquet files, with or without the fact_ prefix)"
        )
    missing_optional = [t.name for t in TABLES.values() if not t.required and t.name not in files]
    for name in missing_optional:
        log.warning("optional table %s is not in %s: the measures that need it are absent", name, source)
    readable, read_by_spark = dict(files), {}
    if csv_reader == "arrow":
        # Two files at a time, largest first: one copy keeps about one core busy.
        largest_first = sorted(files.values(), key=lambda f: -_size(Path(f.path)))
        outside = months_outside(fiscal_year_bounds(fiscal_years, fiscal_start_month)) if fiscal_years else None
        with ThreadPoolExecutor(2) as pool:
            copies = pool.map(lambda f: stage_csv_as_parquet(f, staging_dir, outside), largest_first)
            for staged, reason in copies:
                readable[staged.table] = staged
                if reason:
                    read_by_spark[staged.shown_as] = reason
    frames = {name: read_table(spark, f, TABLES[name], fiscal_years, fiscal_start_month)
              for name, f in readable.items()}
    return Extracted(frames, files, missing_optional, read_by_spark)
