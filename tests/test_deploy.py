"""The deployment files: the Dockerfile passes hadolint, and what the image
runs — its CMD (gunicorn with gunicorn.conf.py) and its HEALTHCHECK — is run
here exactly as written, against a real warehouse. (There is no Docker
engine on this machine to build the image itself.)"""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.dashboard.signin import ADMIN, add_test_users, csrf_of

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
BIN = Path(sys.executable).parent


def instruction(name: str) -> str:
    """An instruction's text, continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    return re.search(rf"^{name}\s+(.+)$", text, re.MULTILINE).group(1)


def exec_form(name: str) -> list[str]:
    text = instruction(name)
    return json.loads(text[text.index("["):])


def test_the_dockerfile_passes_hadolint():
    linter = BIN / "hadolint"
    done = subprocess.run([str(linter), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_copies_every_package_the_app_imports_and_runs_as_a_non_root_user():
    copied = {line.split()[1].rstrip("/") for line in DOCKERFILE.read_text().splitlines()
              if line.startswith("COPY ")}
    assert {"etl", "queries", "warehouse", "dashboard", "assets", "gunicorn.conf.py", "requirements.txt"} <= copied
    assert all((ROOT / c).exists() for c in copied)
    assert instruction("USER").strip() == "10001:10001"
    assert "openjdk-17-jre-headless" in instruction("RUN")


def test_the_image_builds_the_class_archive_where_its_refreshes_look_for_it():
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    archive = re.search(r"^ENV BIMS_CLASS_ARCHIVE=(\S+)$", text, re.MULTILINE).group(1)
    runs = re.findall(r"^RUN (.+)$", text, re.MULTILINE)
    assert any(r.startswith("python -m etl archive-classes") for r in runs)
    # Built before the switch to the unprivileged user, which only reads it.
    assert text.index("archive-classes") < text.index("\nUSER ")
    assert archive.startswith("/app/")


def test_every_requirement_is_pinned():
    for name in ("requirements.txt", "requirements-dev.txt"):
        lines = [l.strip() for l in (ROOT / name).read_text().splitlines() if l.strip() and not l.startswith("#")]
        assert all(l.startswith("-r ") or re.match(r"^[A-Za-z0-9_.\[\]-]+==[\w.]+$", l) for l in lines), lines


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(full_warehouse, tmp_path):
    """The image's CMD, as written, in this checkout with this virtualenv."""
    port = free_port()
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "BIMS_BIND": f"127.0.0.1:{port}",
           "BIMS_WAREHOUSE": f"duckdb:///{full_warehouse.path}", "BIMS_SECRET_KEY": "deploy-test-key-" + "x" * 32,
           "BIMS_USERS_FILE": str(tmp_path / "users.json"), "BIMS_AUDIT_LOG": str(tmp_path / "audit.log"),
           "BIMS_CACHE_DIR": str(tmp_path / "cache"), "BIMS_WORKERS": "2", "BIMS_ENV": "production"}
    add_test_users(tmp_path / "users.json")
    command = exec_form("CMD")
    assert command[0] == "gunicorn" and shutil.which("gunicorn", path=env["PATH"])
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                time.sleep(0.5)
        yield base, env
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_images_command_serves_the_dashboard_behind_sign_in(served):
    base, env = served
    health = json.loads(urllib.request.urlopen(base + "/healthz", timeout=5).read())
    assert health["status"] == "ok" and health["last_refresh_age_seconds"] >= 0
    # The image's health check, run as Docker runs it.
    check = exec_form("HEALTHCHECK")
    assert subprocess.run(check, env=env, timeout=30).returncode == 0

    # Secure cookies: a client over plain http must send them back itself.
    def get(path, cookie=""):
        return urllib.request.urlopen(urllib.request.Request(base + path, headers={"Cookie": cookie}), timeout=30)

    with pytest.raises(urllib.error.HTTPError) as refused:
        get("/_dash-layout")
    assert refused.value.code == 401
    form = get("/login")
    cookie = form.headers["Set-Cookie"].split(";")[0]
    body = urllib.parse.urlencode({"csrf": csrf_of(form.read().decode()), "username": ADMIN.name,
                                   "password": ADMIN.password, "next": "/sales"}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=30)
    connection.request("POST", "/login", body, {"Cookie": cookie,
                                                "Content-Type": "application/x-www-form-urlencoded"})
    signed_in = connection.getresponse()
    assert signed_in.status == 302 and signed_in.getheader("Location") == "/sales"
    session = signed_in.getheader("Set-Cookie").split(";")[0]
    assert get("/sales", session).status == 200
    assert "Sign out" in get("/_dash-layout", session).read().decode()


def test_the_scheduling_examples_run_the_etls_own_command():
    """The Airflow example compiles and, like the cron line, runs `python -m etl refresh`."""
    example = ROOT / "docs" / "examples" / "airflow_bims_refresh.py"
    compile(example.read_text(), str(example), "exec")
    assert ".venv/bin/python -m etl refresh --source" in example.read_text()
    cron = next(l for l in (ROOT / "docs" / "deploy.md").read_text().splitlines() if l.startswith("15 2 * * *"))
    assert "flock -n" in cron and ".venv/bin/python -m etl refresh --source" in cron
