"""The audit log: who signed in, who failed to, who signed out, who exported
what with which filters, and who changed users. One JSON object a line
(time, event, user, client address, details), appended to BIMS_AUDIT_LOG and
also sent to the `bims.audit` logger for whatever collects the server's logs."""
from __future__ import annotations

import json
import logging
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger("bims.audit")

_path: Path | None = None
_lock = threading.Lock()


def configure(path: Path | None) -> None:
    global _path
    _path = Path(path) if path else None
    if _path:
        _path.parent.mkdir(parents=True, exist_ok=True)


def record(event: str, user: str | None, **details) -> dict:
    entry = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "event": event,
             "user": user, **details}
    line = json.dumps(entry, default=str, sort_keys=False)
    log.info(line)
    if _path:
        with _lock:
            # One write per line with O_APPEND: lines from several workers never interleave.
            fd = os.open(_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (line + "\n").encode())
            finally:
                os.close(fd)
    return entry


def entries(path: Path) -> list[dict]:
    """The log's entries, oldest first (for tests and the admin's review)."""
    if not Path(path).exists():
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
