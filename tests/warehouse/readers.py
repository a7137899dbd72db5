"""A reader that keeps reading while a refresh runs: what it saw, and any error."""
from __future__ import annotations

import threading
import time


def read_during(reader, sql: str, action, pause: float = 0.01) -> tuple[list, list]:
    """Run action() while reading sql's first value over and over; return
    (the values seen, in order; the errors raised by reads)."""
    seen, errors = [], []
    done = threading.Event()

    def read_continuously():
        while not done.is_set():
            try:
                seen.append(reader.read(sql).column(0)[0].as_py())
            except Exception as exc:  # noqa: BLE001 - any error fails the caller's test
                errors.append(exc)
            time.sleep(pause)

    thread = threading.Thread(target=read_continuously)
    thread.start()
    try:
        action()
    finally:
        done.set()
        thread.join()
    return seen, errors


def check_old_or_new_during(reader, sql: str, refresh, current, pause: float = 0.01) -> None:
    """Refresh while the reader reads: every read saw the old value or the new
    one (the old first), no read failed, the refresh changed the value, and the
    reader sees the new value afterwards. current() reads the value afresh."""
    before = current()
    seen, errors = read_during(reader, sql, refresh, pause)
    after = current()
    assert not errors
    assert after > before
    assert set(seen) <= {before, after} and seen[0] == before
    assert reader.read(sql).column(0)[0].as_py() == after  # the reader picks up the new data
