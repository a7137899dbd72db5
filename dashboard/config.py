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
    # Sign-in. Production (the default) needs BIMS_SECRET_KEY and sends the
    # session cookie over HTTPS only; development (`make run`) makes a key per
    # start and allows plain http on this machine.
    environment: str = "production"
    secret_key: str | None = None
    session_hours: float = 8.0
    users_file: Path = Path("data/users.json")
    audit_log: Path = Path("logs/audit.log")
    # How many proxies in front of the app set X-Forwarded-For/-Proto (0: none).
    trusted_proxies: int = 0
    # Compute every page's default view in the background after each refresh.
    warm_cache: bool = True

    @property
    def production(self) -> bool:
        return self.environment != "development"

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
            "environment": (env.get("BIMS_ENV") or "production").strip().lower(),
            "secret_key": env.get("BIMS_SECRET_KEY") or None,
            "session_hours": float(env.get("BIMS_SESSION_HOURS", 8)),
            "users_file": Path(env.get("BIMS_USERS_FILE") or "data/users.json"),
            "audit_log": Path(env.get("BIMS_AUDIT_LOG") or "logs/audit.log"),
            "trusted_proxies": int(env.get("BIMS_TRUSTED_PROXIES", 0)),
            "warm_cache": env.get("BIMS_WARM_CACHE", "1").strip().lower() not in ("0", "false", "no", "off"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values["environment"] not in ("production", "development"):
            raise ConfigError(f"BIMS_ENV is {values['environment']!r}; it takes production or development")
        return DashboardSettings(**values)

    def checked(self) -> "DashboardSettings":
        """The settings if the dashboard may start with them; else ConfigError saying why."""
        if self.production and not self.secret_key:
            raise ConfigError(
                "BIMS_SECRET_KEY is not set: in production the dashboard signs its session cookies with it. "
                "Set it to a long random value (python -c 'import secrets; print(secrets.token_urlsafe(48))'), "
                "the same for every worker, or set BIMS_ENV=development on your own machine.")
        if self.secret_key and len(self.secret_key) < 32:
            raise ConfigError("BIMS_SECRET_KEY is too short: use at least 32 random characters")
        return self


class ConfigError(RuntimeError):
    """The dashboard cannot start with these settings; the message says what to set."""
