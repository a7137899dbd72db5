"""The S3 staging prefix Redshift's COPY reads Parquet from.

A refresh writes each table as a folder of Parquet part files (as Spark writes
them); `upload_parquet_folder` puts a folder's part files under
`<s3_prefix>/<name>/` and returns that URI for `COPY ... FROM`, and `remove`
deletes it once the COPY is done. The S3 client is pyarrow's (region and
credentials from the usual AWS_* variables, `AWS_ENDPOINT_URL` for an
S3-compatible server), as for S3 sources (etl/extract.py).
"""
from __future__ import annotations

from pathlib import Path

from warehouse.base import parquet_files


def _filesystem():
    from etl.extract import s3_filesystem

    return s3_filesystem()


def _key(s3_uri: str) -> str:
    """bucket/key of an s3:// URI with a key below the bucket."""
    if not s3_uri.startswith("s3://"):
        raise ValueError(f"{s3_uri!r} is not an s3://bucket/prefix URI")
    bucket, _, key = s3_uri[len("s3://"):].strip("/").partition("/")
    if not bucket or not key:
        raise ValueError(f"{s3_uri!r} names a whole bucket: give a prefix inside it (s3://bucket/prefix)")
    return f"{bucket}/{key}"


def upload_parquet_folder(folder: str | Path, s3_prefix: str, name: str | None = None) -> str:
    """Upload the Parquet files of `folder` to `<s3_prefix>/<name>/` (name: the
    folder's, which is the table's as a refresh writes them) and return that
    s3:// URI, with its trailing slash, so that a COPY of it reads those files
    only (a COPY reads every object whose key starts with its URI).

    Whatever the destination already holds is removed first: COPY would load
    it too. Put the run id in `s3_prefix` to keep refreshes apart.
    """
    from pyarrow import fs

    files = parquet_files(folder)
    if not files:
        raise FileNotFoundError(f"no Parquet files in {folder}: nothing to stage for COPY")
    destination = f"{_key(s3_prefix)}/{name or Path(folder).name}"
    s3 = _filesystem()
    _delete(s3, destination)
    for path in files:
        fs.copy_files(str(path), f"{destination}/{path.name}", destination_filesystem=s3)
    return f"s3://{destination}/"


def remove(s3_uri: str) -> None:
    """Delete every object under an s3:// prefix (a missing one is fine)."""
    _delete(_filesystem(), _key(s3_uri))


def _delete(s3, key: str) -> None:
    """Delete a prefix whole. Not delete_dir_contents: pyarrow would leave an
    empty `key/` marker object behind, which a COPY of the prefix would try
    to load. (delete_dir leaves one for the parent instead, outside it.)"""
    from pyarrow import fs

    if s3.get_file_info(key).type != fs.FileType.NotFound:
        s3.delete_dir(key)
