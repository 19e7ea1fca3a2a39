"""``ara user add|list|remove`` and ``ara token create``: administer who may use the API.

These work on the database directly (settings from ``ARA_*``, migrations applied first), like ``ara server``
itself: they are how the first login is made, before any API call could be authenticated.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from ara.cli.errors import errors_handled
from ara.cli.output import FORMATS, Output, message

users_app = typer.Typer(help="Users who may log in to the API (basic auth).", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (sent as 'Authorization: Bearer <token>').", no_args_is_help=True)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ROLES = ("viewer", "operator", "approver", "admin")


@contextmanager
def admin_session() -> Iterator[Session]:
    """One transaction on the configured database, at the newest schema."""
    from ara.db.migrate import upgrade
    from ara.db.session import make_engine, make_sessionmaker, unit_of_work
    from ara.settings import get_settings

    engine = make_engine(get_settings())
    try:
        upgrade(engine)
        with unit_of_work(make_sessionmaker(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _role(value: str) -> str:
    if value not in ROLES:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(ROLES)}")
    return value


def _format(value: str) -> str:
    if value not in FORMATS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(FORMATS)}")
    return value


@users_app.command("add")
def add_user(
    name: Annotated[str, typer.Argument(help="Login name")],
    password: Annotated[
        str, typer.Option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="Password")
    ],
    role: Annotated[str, typer.Option("--role", callback=_role, help=f"One of {', '.join(ROLES)}")] = "viewer",
    team: Annotated[
        list[str] | None, typer.Option("--team", help="A team the user belongs to (approvers, grants); repeat")
    ] = None,
) -> None:
    """Create a user."""
    from ara.users.service import create_user

    teams = [t.strip() for t in team or [] if t.strip()]
    with errors_handled(), admin_session() as session:
        create_user(session, username=name, password=password, role=role, teams=teams)
    message(f"Created user {name} ({role}{'; teams ' + ', '.join(teams) if teams else ''})")


@users_app.command("list")
def list_users(
    fmt: Annotated[str, typer.Option("-f", "--format", callback=_format, help="Output format")] = "table",
) -> None:
    """List users."""
    from ara.users.service import list_users as all_users

    with errors_handled(), admin_session() as session:
        rows = [
            {
                "id": user.id,
                "username": user.username,
                "role": user.role,
                "active": user.is_active,
                "teams": list(user.teams or []),
                "created": user.created.isoformat() if user.created else None,
            }
            for user in all_users(session)
        ]
    Output(fmt).rows(rows, ("id", "username", "role", "active", "teams", "created"))


@users_app.command("remove")
def remove_user(name: Annotated[str, typer.Argument(help="Login name")]) -> None:
    """Delete a user and their tokens."""
    from ara.users.service import remove_user as remove

    with errors_handled(), admin_session() as session:
        remove(session, name)
    message(f"Removed user {name}")


@users_app.command("set")
def set_user(
    name: Annotated[str, typer.Argument(help="Login name")],
    role: Annotated[
        str | None, typer.Option("--role", callback=lambda v: v and _role(v), help=f"One of {', '.join(ROLES)}")
    ] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Allow or refuse this user's logins and tokens")
    ] = None,
) -> None:
    """Change a user's role or (de)activate them; a running server applies it on their next request."""
    from ara.users.service import update_user

    if role is None and active is None:
        raise typer.BadParameter("give --role, --active or --inactive")
    with errors_handled(), admin_session() as session:
        user = update_user(session, name, role=role, is_active=active)
        summary = f"{user.username}: {user.role}, {'active' if user.is_active else 'inactive'}"
    message(f"Updated user {summary}")


@tokens_app.command("create")
def create_token(
    user: Annotated[str, typer.Option("--user", help="The user the token acts as")],
    name: Annotated[str, typer.Option("--name", help="A label to recognise the token by")] = "cli",
) -> None:
    """Create an API token for a user and print it (it is shown only this once)."""
    from ara.users.service import create_token as new_token

    with errors_handled(), admin_session() as session:
        token = new_token(session, username=user, name=name)
    typer.echo(token)
    message(f"Created token {name!r} for {user}: store it now, it cannot be shown again")


def register(root: typer.Typer) -> None:
    root.add_typer(users_app, name="user")
    root.add_typer(tokens_app, name="token")
