"""`python -m dashboard users ...`: who may sign in to the dashboard.

  users list
  users add NAME [--role admin|viewer] [--region R ...] [--market M ...] [--password-stdin]
  users set-password NAME [--password-stdin]
  users set-scope NAME [--role ROLE] [--region R ...] [--market M ...] [--all-markets]
  users remove NAME
  users demo            (re)creates the demo admin with a new random password and prints it

Passwords are asked for twice on a terminal, or read from the first line of
standard input with --password-stdin (for scripts); never from an argument,
which other users of the machine could see. Regions and markets are checked
against the warehouse when it can be reached. Every change is audited.
"""
from __future__ import annotations

import argparse
import getpass
import secrets
import sys

from dashboard import audit
from dashboard.config import DashboardSettings
from dashboard.users import ROLES, UserError, UserStore

DEMO_USER = "demo"


def _password(args, name: str) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise UserError("no terminal to ask for the password on: pass --password-stdin and pipe it in")
    first = getpass.getpass(f"New password for {name}: ")
    if first != getpass.getpass("Again: "):
        raise UserError("the two passwords differ")
    return first


def _checked_members(settings: DashboardSettings, name: str, values: list[str]) -> list[str]:
    """The regions or markets, each checked against the warehouse when it answers."""
    if not values:
        return []
    from queries.runner import allowed_values  # noqa: PLC0415
    from warehouse import WarehouseError, connect  # noqa: PLC0415

    try:
        known = set(allowed_values(connect(settings.warehouse_url), name))
    except WarehouseError as exc:
        print(f"warning: the warehouse cannot be reached to check the {name}s ({exc}); stored as given",
              file=sys.stderr)
        return values
    unknown = [v for v in values if v not in known]
    if unknown:
        raise UserError(f"unknown {name} {', '.join(map(repr, unknown))}; the {name}s are: "
                        f"{', '.join(sorted(known))}")
    return values


def _print_users(store: UserStore) -> None:
    users = store.all()
    if not users:
        print(f"No users yet in {store.path}: add one with `python -m dashboard users add NAME --role admin`.")
        return
    rows = [("user", "role", "may see", "created", "password set")]
    rows += [(u.username, u.role, u.scope_text(), u.created_at, u.password_changed_at) for u in users.values()]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m dashboard users", description="Manage who may sign in to BIMS.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the users")

    def scoped(cmd):
        cmd.add_argument("--region", action="append", default=[], help="limit to this region (repeatable)")
        cmd.add_argument("--market", action="append", default=[], help="limit to this market (repeatable)")

    add = sub.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="viewer")
    scoped(add)
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    setpw = sub.add_parser("set-password", help="set a user's password (ends their sessions)")
    setpw.add_argument("name")
    setpw.add_argument("--password-stdin", action="store_true")
    scope = sub.add_parser("set-scope", help="change a user's role or the regions and markets they may see")
    scope.add_argument("name")
    scope.add_argument("--role", choices=ROLES)
    scoped(scope)
    scope.add_argument("--all-markets", action="store_true", help="remove every limit")
    remove = sub.add_parser("remove", help="remove a user (ends their sessions)")
    remove.add_argument("name")
    sub.add_parser("demo", help="(re)create the demo admin with a new random password and print it")
    return p


def run(args, settings: DashboardSettings) -> str:
    store = UserStore(settings.users_file)
    who = getpass.getuser()
    if args.command == "list":
        _print_users(store)
        return ""
    if args.command == "add":
        regions = _checked_members(settings, "region", args.region)
        markets = _checked_members(settings, "market", args.market)
        user = store.add(args.name, _password(args, args.name), args.role, regions, markets)
        audit.record("user_added", f"cli:{who}", target=user.username, role=user.role, regions=regions,
                     markets=markets)
        return f"Added {user.username} ({user.role}, sees {user.scope_text()})."
    if args.command == "set-password":
        store.require(args.name)  # before asking for a password
        store.set_password(args.name, _password(args, args.name))
        audit.record("password_set", f"cli:{who}", target=args.name)
        return f"Password of {args.name} set; their other sessions have ended."
    if args.command == "set-scope":
        clear = args.all_markets
        regions = [] if clear else _checked_members(settings, "region", args.region)
        markets = [] if clear else _checked_members(settings, "market", args.market)
        touched = clear or args.region or args.market
        user = store.update(args.name, role=args.role, regions=regions if touched else None,
                            markets=markets if touched else None)
        audit.record("user_changed", f"cli:{who}", target=user.username, role=user.role,
                     regions=user.regions, markets=user.markets)
        return f"{user.username} is now {user.role} and sees {user.scope_text()}."
    if args.command == "remove":
        store.remove(args.name)
        audit.record("user_removed", f"cli:{who}", target=args.name)
        return f"Removed {args.name}."
    if args.command == "demo":
        password = secrets.token_urlsafe(12)
        if store.get(DEMO_USER) is None:
            store.add(DEMO_USER, password, "admin")
        else:
            store.update(DEMO_USER, role="admin", regions=(), markets=())
            store.set_password(DEMO_USER, password)
        audit.record("password_set", f"cli:{who}", target=DEMO_USER, demo=True)
        return f"Sign in as user {DEMO_USER!r} with password {password!r} (an admin; a new password each run)."
    raise AssertionError(args.command)


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    settings = DashboardSettings.from_env()
    audit.configure(settings.audit_log)
    try:
        said = run(args, settings)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if said:
        print(said)
    return 0
