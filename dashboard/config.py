"""The dashboard's settings, read from the environment."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from warehouse import warehouse_url


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class DashboardSettings:
    warehouse_url: str
    debug: bool = False
    # Results are cached on disk so that gunicorn's workers share them; Redis
    # instead when BIMS_REDIS_URL is set.
    cache_dir: Path = Path(tempfile.gettempdir()) / "bims-cache"
    redis_url: str | None = None
    # Entries also expire on their own: a refresh changes the key anyway.
    cache_timeout: int = 24 * 3600
    currency: str = "$"

    @staticmethod
    def from_env(**overrides) -> "DashboardSettings":
        env = os.environ
        values = {
            "warehouse_url": warehouse_url(),
            "debug": _flag(env.get("BIMS_DEBUG")),
            "cache_dir": Path(env.get("BIMS_CACHE_DIR") or Path(tempfile.gettempdir()) / "bims-cache"),
            "redis_url": env.get("BIMS_REDIS_URL") or None,
            "cache_timeout": int(env.get("BIMS_CACHE_TIMEOUT", 24 * 3600)),
            "currency": env.get("BIMS_CURRENCY", "$"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return DashboardSettings(**values)
