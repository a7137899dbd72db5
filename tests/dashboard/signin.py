"""The test users and how a test signs in: over HTTP with Flask's test client,
or in the browser through the real sign-in form."""
from __future__ import annotations

import re
from dataclasses import dataclass

from dashboard.users import UserStore


@dataclass(frozen=True)
class Account:
    name: str
    password: str
    role: str = "viewer"
    regions: tuple[str, ...] = ()
    markets: tuple[str, ...] = ()


ADMIN = Account("ada", "ada-has-a-long-password", "admin")
VIEWER = Account("vic", "vic-sees-every-market")
INDIA = Account("ivan", "ivan-sees-india-only", markets=("India",))
APAC = Account("asha", "asha-sees-apac-only", regions=("APAC",))
TEST_USERS = (ADMIN, VIEWER, INDIA, APAC)


def add_test_users(path) -> None:
    store = UserStore(path)
    for user in TEST_USERS:
        store.add(user.name, user.password, user.role, user.regions, user.markets)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def sign_in(client, user: Account, password: str | None = None, next_path: str = "/"):
    """Sign the test client in through the form; the response to the POST."""
    token = csrf_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"csrf": token, "username": user.name,
                                       "password": user.password if password is None else password,
                                       "next": next_path})


def signed_in_client(flask_app, user: Account = ADMIN):
    client = flask_app.test_client()
    response = sign_in(client, user)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def sign_in_browser(page, base_url: str, user: Account = ADMIN, path: str = "/") -> None:
    """Sign in as a person does: the form, then the page asked for."""
    page.goto(base_url + path)
    page.fill("#username", user.name)
    page.fill("#password", user.password)
    page.click("#signin-button")
    page.wait_for_url(lambda url: "/login" not in url)
