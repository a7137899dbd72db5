"""The Users page's behaviour. Every callback checks on the server that the
caller is an admin, and every value against what it may be: the page's
controls are no protection against a forged request."""
from __future__ import annotations

from dash import Input, Output, State, callback, ctx, no_update

from dashboard import audit, auth, data, ids
from dashboard.users import ROLES, UserError

F = ids.USER_FORM
ADMINS_ONLY = "Only administrators manage users."


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _members(name: str, values) -> tuple[str, ...]:
    """The chosen regions or markets, each one the admin may see."""
    if values in (None, ""):
        return ()
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise UserError(f"{name} must be a list of names")
    allowed = set(data.options("region" if name == "regions" else "market"))
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise UserError(f"unknown {name}: {', '.join(unknown)}")
    return tuple(dict.fromkeys(values))


def _rows() -> list[dict]:
    return [u.public() for u in auth.store().all().values()]


def save(username, role, regions, markets, password) -> str:
    """Add the user, or change an existing one; the sentence to show."""
    me = auth.current_username()
    username = _text(username).lower()
    if role not in ROLES:
        raise UserError(f"the role must be one of: {', '.join(ROLES)}")
    regions, markets = _members("regions", regions), _members("markets", markets)
    password = password if isinstance(password, str) else ""
    store = auth.store()
    if store.get(username) is None:
        if not password:
            raise UserError("a new user needs a password")
        store.add(username, password, role, regions, markets)
        audit.record("user_added", me, target=username, role=role, regions=regions, markets=markets)
        return f"Added {username}."
    if username == me and role != "admin":
        raise UserError("you cannot take away your own admin role")
    store.update(username, role=role, regions=regions, markets=markets)
    audit.record("user_changed", me, target=username, role=role, regions=regions, markets=markets)
    if password:
        store.set_password(username, password)
        audit.record("password_set", me, target=username)
        return f"Saved {username}; their new password ends their other sessions."
    return f"Saved {username}."


def remove(username) -> str:
    me = auth.current_username()
    username = _text(username).lower()
    if username == me:
        raise UserError("you cannot remove yourself")
    auth.store().remove(username)
    audit.record("user_removed", me, target=username)
    return f"Removed {username}."


@callback(Output(ids.USERS_TABLE, "rowData"), Output(ids.USER_FEEDBACK, "children"),
          Output(ids.USER_FEEDBACK, "color"), Output(ids.USER_FEEDBACK, "is_open"), Output(F["password"], "value"),
          Input(ids.USER_SAVE, "n_clicks"), Input(ids.USER_REMOVE, "n_clicks"),
          State(F["username"], "value"), State(F["role"], "value"), State(F["regions"], "value"),
          State(F["markets"], "value"), State(F["password"], "value"), prevent_initial_call=True)
def change(_save, _remove, username, role, regions, markets, password):
    if not auth.is_admin():
        return no_update, ADMINS_ONLY, "danger", True, no_update
    try:
        said = save(username, role, regions, markets, password) if ctx.triggered_id == ids.USER_SAVE \
            else remove(username)
    except (UserError, data.DataUnavailable) as exc:
        message = str(exc)
        return no_update, message[:1].upper() + message[1:] + ("" if message.endswith(".") else "."), "danger", \
            True, no_update
    return _rows(), said, "success", True, ""


@callback(Output(F["username"], "value"), Output(F["role"], "value"), Output(F["regions"], "value"),
          Output(F["markets"], "value"), Input(ids.USERS_TABLE, "selectedRows"), prevent_initial_call=True)
def pick(selected):
    """A row picked in the table fills the form with that user."""
    if not auth.is_admin() or not selected or not isinstance(selected, list) or not isinstance(selected[0], dict):
        return no_update, no_update, no_update, no_update
    user = auth.store().get(str(selected[0].get("username")))
    if user is None:
        return no_update, no_update, no_update, no_update
    return user.username, user.role, list(user.regions), list(user.markets)
