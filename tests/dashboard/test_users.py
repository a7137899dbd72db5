"""The users file and `python -m dashboard users ...`."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard import audit
from dashboard.users import UserError, UserStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path) -> UserStore:
    return UserStore(tmp_path / "users.json")


def test_passwords_are_stored_as_argon2id_hashes_readable_by_the_owner_only(store):
    store.add("ada", "a-long-enough-password", "admin")
    text = store.path.read_text()
    assert "a-long-enough-password" not in text
    assert json.loads(text)["users"]["ada"]["password_hash"].startswith("$argon2id$")
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600


def test_verify_takes_only_the_right_password(store):
    store.add("ada", "a-long-enough-password", "admin")
    assert store.verify("ada", "a-long-enough-password").username == "ada"
    assert store.verify("ada", "a-long-enough-passwore") is None
    assert store.verify("nobody", "a-long-enough-password") is None


@pytest.mark.parametrize("name, password, role, said", [
    ("ada", "short", "viewer", "at least 10 characters"),
    ("Bad Name", "a-long-enough-password", "viewer", "a user name is"),
    ("bob", "a-long-enough-password", "owner", "unknown role 'owner'"),
    ("longpassword", "longpassword", "viewer", "must not be the user name"),
])
def test_bad_users_are_refused_with_the_reason(store, name, password, role, said):
    with pytest.raises(UserError, match=said):
        store.add(name, password, role)
    assert store.all() == {}


def test_a_new_password_changes_the_session_epoch(store):
    store.add("ada", "a-long-enough-password", "admin")
    assert store.set_password("ada", "another-long-password").session_epoch == 1
    assert store.verify("ada", "a-long-enough-password") is None
    assert store.verify("ada", "another-long-password") is not None


def test_the_last_admin_cannot_be_removed_or_demoted(store):
    store.add("ada", "a-long-enough-password", "admin")
    store.add("bob", "b-long-enough-password", "viewer", markets=["India"])
    with pytest.raises(UserError, match="no admin"):
        store.remove("ada")
    with pytest.raises(UserError, match="no admin"):
        store.update("ada", role="viewer")
    assert store.get("ada").is_admin
    with pytest.raises(UserError, match="no user 'zed'; the users are: ada, bob"):
        store.remove("zed")


def test_a_scope_reads_back_as_stored(store):
    store.add("bob", "b-long-enough-password", "viewer", regions=["APAC"], markets=["USA"])
    again = UserStore(store.path).get("bob")
    assert (again.regions, again.markets, again.limited) == (("APAC",), ("USA",), True)
    assert again.scope_text() == "regions APAC; markets USA"


def cli(args, env, stdin: str = ""):
    return subprocess.run([sys.executable, "-m", "dashboard", "users", *args], input=stdin, capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)


@pytest.fixture
def cli_env(tmp_path, full_warehouse):
    return {**os.environ, "BIMS_USERS_FILE": str(tmp_path / "users.json"),
            "BIMS_AUDIT_LOG": str(tmp_path / "audit.log"), "BIMS_WAREHOUSE": f"duckdb:///{full_warehouse.path}"}


def test_the_users_command_adds_lists_scopes_and_removes(cli_env, tmp_path):
    done = cli(["add", "ada", "--role", "admin", "--password-stdin"], cli_env, "ada-long-password\n")
    assert done.returncode == 0 and done.stdout.strip() == "Added ada (admin, sees all markets)."
    done = cli(["add", "ivan", "--market", "India", "--password-stdin"], cli_env, "ivan-long-password\n")
    assert done.stdout.strip() == "Added ivan (viewer, sees markets India)."
    listed = cli(["list"], cli_env).stdout.splitlines()
    assert listed[0].split() == ["user", "role", "may", "see", "created", "password", "set"]
    assert [line.split()[:2] for line in listed[1:]] == [["ada", "admin"], ["ivan", "viewer"]]
    done = cli(["set-scope", "ivan", "--region", "APAC"], cli_env)
    assert done.stdout.strip() == "ivan is now viewer and sees regions APAC."
    assert cli(["set-password", "ivan", "--password-stdin"], cli_env, "ivan-new-password\n").returncode == 0
    assert UserStore(tmp_path / "users.json").verify("ivan", "ivan-new-password") is not None
    assert cli(["remove", "ivan"], cli_env).stdout.strip() == "Removed ivan."
    events = [(e["event"], e.get("target")) for e in audit.entries(tmp_path / "audit.log")]
    assert events == [("user_added", "ada"), ("user_added", "ivan"), ("user_changed", "ivan"),
                      ("password_set", "ivan"), ("user_removed", "ivan")]


def test_the_users_command_checks_markets_against_the_warehouse(cli_env, tmp_path):
    done = cli(["add", "bob", "--market", "Atlantis", "--password-stdin"], cli_env, "bob-long-password\n")
    assert done.returncode == 2
    assert done.stderr.startswith("error: unknown market 'Atlantis'; the markets are: ")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "users.json").exists()


def test_demo_prints_credentials_that_sign_in(cli_env, tmp_path):
    done = cli(["demo"], cli_env)
    assert done.returncode == 0
    password = done.stdout.split("with password '")[1].split("'")[0]
    user = UserStore(tmp_path / "users.json").verify("demo", password)
    assert user is not None and user.is_admin
    again = cli(["demo"], cli_env).stdout.split("with password '")[1].split("'")[0]
    assert again != password and UserStore(tmp_path / "users.json").verify("demo", password) is None


def test_production_will_not_serve_without_a_secret_key(cli_env):
    env = {k: v for k, v in cli_env.items() if k not in ("BIMS_SECRET_KEY", "BIMS_ENV")}
    done = subprocess.run([sys.executable, "-m", "dashboard", "--port", "1"], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 2
    assert "The dashboard cannot start: BIMS_SECRET_KEY is not set" in done.stderr
    assert "Traceback" not in done.stderr
