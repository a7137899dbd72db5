"""The people who may sign in: a users file (JSON, owner-only permissions) with
argon2id password hashes, a role and an optional data scope.

A scope limits a user to regions and/or markets; no scope means every market.
The file lives outside the warehouse so a refresh, which replaces the
warehouse, never touches it. Writers take a lock and replace the file
atomically, so the CLI and the dashboard's admin page can both edit it.
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import re
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

ROLES = ("admin", "viewer")
MIN_PASSWORD_LENGTH = 10
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
DEFAULT_USERS_FILE = Path("data/users.json")

_hasher = PasswordHasher()  # argon2id, the library's current recommended costs
# Checked against when the user does not exist, so a wrong name costs as much
# time as a wrong password and sign-in timing does not reveal who has an account.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class UserError(ValueError):
    """A request about users that cannot be carried out; the message says why."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class User:
    username: str
    role: str = "viewer"
    regions: tuple[str, ...] = ()
    markets: tuple[str, ...] = ()
    password_hash: str = ""
    # Changed by a new password: sessions signed in before it end.
    session_epoch: int = 0
    created_at: str = ""
    password_changed_at: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def limited(self) -> bool:
        """Whether the user sees only some regions or markets."""
        return bool(self.regions or self.markets)

    def scope_text(self) -> str:
        if not self.limited:
            return "all markets"
        parts = [f"regions {', '.join(self.regions)}" if self.regions else "",
                 f"markets {', '.join(self.markets)}" if self.markets else ""]
        return "; ".join(p for p in parts if p)

    def public(self) -> dict:
        """What may be shown about the user (never the hash)."""
        return {"username": self.username, "role": self.role, "scope": self.scope_text(),
                "created_at": _shown(self.created_at), "password_changed_at": _shown(self.password_changed_at)}


def _shown(stamp: str) -> str:
    """2026-11-25T13:57:01+00:00 as 2026-11-25 13:57 UTC."""
    return stamp[:16].replace("T", " ") + " UTC" if stamp else ""


def check_password(username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip().lower() == username.lower():
        raise UserError("a password must not be the user name")


def check_username(username: str) -> str:
    if not USERNAME.match(username or ""):
        raise UserError("a user name is 2 to 64 characters: lower-case letters, digits, '.', '_' or '-', "
                        "starting with a letter or digit")
    return username


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; the roles are: {', '.join(ROLES)}")
    return role


class UserStore:
    """The users file. Reads are cached until the file changes on disk."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._cache: tuple[tuple, dict[str, User]] | None = None
        self._lock = threading.Lock()

    # -- reading ------------------------------------------------------------
    def _signature(self) -> tuple:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return ()
        return stat.st_mtime_ns, stat.st_size, stat.st_ino

    def all(self) -> dict[str, User]:
        signature = self._signature()
        with self._lock:
            if self._cache and self._cache[0] == signature:
                return self._cache[1]
            users = self._read() if signature else {}
            self._cache = (signature, users)
            return users

    def _read(self) -> dict[str, User]:
        try:
            raw = json.loads(self.path.read_text())
        except json.JSONDecodeError as exc:
            raise UserError(f"{self.path} is not a valid users file: {exc}") from None
        users = {}
        for name, fields in raw.get("users", {}).items():
            fields = {k: v for k, v in fields.items() if k in User.__dataclass_fields__}
            fields.update(regions=tuple(fields.get("regions", ())), markets=tuple(fields.get("markets", ())))
            users[name] = User(username=name, **{k: v for k, v in fields.items() if k != "username"})
        return users

    def get(self, username: str) -> User | None:
        return self.all().get(username)

    def require(self, username: str) -> User:
        """The user; UserError naming the users there are if there is none."""
        return self._existing(self.all(), username)

    # -- signing in ---------------------------------------------------------
    def verify(self, username: str, password: str) -> User | None:
        """The user if the password is theirs, else None (same cost either way)."""
        user = self.get(username)
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if user is None:
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            # Costs raised since the hash was made: store a stronger one.
            with self._editing() as users:
                users[username] = dataclasses.replace(users[username], password_hash=_hasher.hash(password))
        return user

    # -- editing ------------------------------------------------------------
    @contextmanager
    def _editing(self):
        """The users, to change in place; written back atomically under a lock."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            users = dict(self._read()) if self.path.exists() else {}
            yield users
            self._write(users)

    def _write(self, users: dict[str, User]) -> None:
        payload = {"users": {name: {k: (list(v) if isinstance(v, tuple) else v)
                                    for k, v in dataclasses.asdict(u).items() if k != "username"}
                             for name, u in sorted(users.items())}}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(payload, out, indent=2)
                out.write("\n")
            os.chmod(tmp, 0o600)  # password hashes: readable by the service's user only
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def add(self, username: str, password: str, role: str = "viewer",
            regions=(), markets=()) -> User:
        check_username(username)
        check_role(role)
        check_password(username, password)
        with self._editing() as users:
            if username in users:
                raise UserError(f"user {username!r} already exists; use set-password to change the password")
            now = _now()
            users[username] = User(username, role, tuple(regions), tuple(markets), _hasher.hash(password),
                                   0, now, now)
            return users[username]

    def update(self, username: str, *, role: str | None = None, regions=None, markets=None) -> User:
        with self._editing() as users:
            user = self._existing(users, username)
            changes = {}
            if role is not None:
                changes["role"] = check_role(role)
            if regions is not None:
                changes["regions"] = tuple(regions)
            if markets is not None:
                changes["markets"] = tuple(markets)
            users[username] = dataclasses.replace(user, **changes)
            self._keep_an_admin(users)
            return users[username]

    def set_password(self, username: str, password: str) -> User:
        check_password(username, password)
        with self._editing() as users:
            user = self._existing(users, username)
            users[username] = dataclasses.replace(user, password_hash=_hasher.hash(password),
                                                  session_epoch=user.session_epoch + 1,
                                                  password_changed_at=_now())
            return users[username]

    def remove(self, username: str) -> None:
        with self._editing() as users:
            self._existing(users, username)
            del users[username]
            self._keep_an_admin(users)

    @staticmethod
    def _existing(users: dict[str, User], username: str) -> User:
        if username not in users:
            known = ", ".join(sorted(users)) or "none yet"
            raise UserError(f"no user {username!r}; the users are: {known}")
        return users[username]

    @staticmethod
    def _keep_an_admin(users: dict[str, User]) -> None:
        if users and not any(u.is_admin for u in users.values()):
            raise UserError("that would leave no admin to manage users; make another user an admin first")
