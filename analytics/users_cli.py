"""``rapport users``: an admin records or removes a user's opt-out, and lists who opted out.

Users opt themselves out in Teams (``opt out``); this is for the requests that reach an admin another way (a
mail, a ticket, a works council). Each change is audited (actor ``cli``) in the transaction that makes it, and
takes effect at the next who-knows answer: the answers read ``user_opt_out`` at every ask.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import Enum
from typing import NoReturn

import typer
from rich.table import Table

from analytics.cli_context import cli_context
from analytics.store.opt_outs import (
    EVERYTHING,
    WHO_KNOWS,
    UserRef,
    clear_opt_out,
    find_users,
    is_opted_out,
    list_opt_outs,
    set_opt_out,
)

app = typer.Typer(help="Users' privacy: opt-outs of who knows whom.", no_args_is_help=True)

ACTOR = "cli"
_WHAT = {WHO_KNOWS: "who knows whom", EVERYTHING: "everything (who knows whom and talking points)"}


class Scope(str, Enum):
    """What an admin can opt a user out of."""

    WHO_KNOWS = WHO_KNOWS
    EVERYTHING = EVERYTHING


TENANT = typer.Option(None, "--tenant", help="Tenant id (default: the tenant that has a user with this email).")
EMAIL = typer.Argument(..., help="The user's email address, as the directory has it (any case).")


@app.command("opt-out")
def opt_out(
    ctx: typer.Context,
    email: str = EMAIL,
    scope: Scope = typer.Option(Scope.WHO_KNOWS, "--scope", help="who_knows, or all (everything)."),
    tenant: str | None = TENANT,
) -> None:
    """Opt a user out: colleagues no longer see them in who-knows answers or intro offers (past mail too)."""
    c = cli_context(ctx)
    with c.engine.begin() as conn:
        user = _user(ctx, find_users(conn, email, tenant), email, tenant)
        new = set_opt_out(conn, user.tenant_id, user.user_id, scope.value, now=datetime.now(UTC), actor=ACTOR)
        out_of_everything = not new and is_opted_out(conn, user.tenant_id, user.user_id, EVERYTHING)
    if new:
        c.console.print(f"Opted {_who(user)} out of {_WHAT[scope.value]}: from now on colleagues don't see "
                        "them in who-knows answers or intro offers, past mail included. Undo with "
                        f"`rapport users opt-in {user.email}`.", markup=False, highlight=False, soft_wrap=True)
    else:
        already = _WHAT[EVERYTHING if out_of_everything else scope.value]
        c.console.print(f"{_who(user)} was already opted out of {already}: nothing changed.", markup=False,
                        highlight=False, soft_wrap=True)


@app.command("opt-in")
def opt_in(
    ctx: typer.Context,
    email: str = EMAIL,
    scope: Scope | None = typer.Option(None, "--scope", help="Remove only this opt-out (default: both)."),
    tenant: str | None = TENANT,
) -> None:
    """Remove a user's opt-out (by default of who knows whom and of everything): colleagues see them again."""
    c = cli_context(ctx)
    scopes = [scope.value] if scope is not None else [WHO_KNOWS, EVERYTHING]
    with c.engine.begin() as conn:
        user = _user(ctx, find_users(conn, email, tenant), email, tenant)
        removed = clear_opt_out(conn, user.tenant_id, user.user_id, scopes, now=datetime.now(UTC), actor=ACTOR)
        still_out = is_opted_out(conn, user.tenant_id, user.user_id, WHO_KNOWS)
    if removed:
        c.console.print(f"Removed {_who(user)}'s opt-out of {' and of '.join(_WHAT[s] for s in removed)}.",
                        markup=False, highlight=False, soft_wrap=True)
    else:
        asked = " or of ".join(_WHAT[s] for s in scopes)
        c.console.print(f"{_who(user)} was not opted out of {asked}: nothing changed.", markup=False,
                        highlight=False, soft_wrap=True)
    if still_out:  # e.g. --scope who_knows while an opt-out of everything stays: they are still left out
        c.console.print(f"{_who(user)} is still opted out of {_WHAT[EVERYTHING]}, so still left out of "
                        f"who-knows answers: `rapport users opt-in {user.email} --scope all` removes that.",
                        markup=False, highlight=False, soft_wrap=True)


@app.command("opt-outs")
def opt_outs(
    ctx: typer.Context,
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant (default: every tenant)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of a table."),
) -> None:
    """List the users who opted out: name, email, scope and since when (UTC)."""
    c = cli_context(ctx)
    with c.engine.connect() as conn:
        found = list_opt_outs(conn, tenant)
    if as_json:
        typer.echo(json.dumps([{"tenant_id": o.tenant_id, "user_id": o.user_id, "name": o.name,
                                "email": o.email, "scope": o.scope, "since": o.since.isoformat()}
                               for o in found], indent=2))
        return
    if not found:
        whose = "No user" if tenant is None else f"No user of tenant {tenant}"
        c.console.print(f"{whose} has opted out.", markup=False, highlight=False, soft_wrap=True)
        return
    several = len({o.tenant_id for o in found}) > 1
    table = Table()
    if several:
        table.add_column("tenant", no_wrap=True, min_width=36)
    for header in ("name", "email", "scope", "since (UTC)"):
        table.add_column(header)
    for o in found:
        # A user no longer in the directory keeps their opt-out (they may come back): shown by their id.
        row = (o.name or o.user_id, o.email or "—", o.scope, o.since.astimezone(UTC).strftime("%Y-%m-%d %H:%M"))
        table.add_row(*((o.tenant_id, *row) if several else row))
    c.console.print(table)


def _user(ctx: typer.Context, found: list[UserRef], email: str, tenant: str | None) -> UserRef:
    """The one user ``email`` names, else a clear error (exit 1) saying why none or which tenants."""
    if len(found) == 1:
        return found[0]
    if not found:
        where = f"tenant {tenant}" if tenant else "the store"
        _fail(ctx, f"no user with email {email.strip()} in {where}: check the address (Rapport knows the users "
                   "whose mailboxes it syncs). Nothing was changed.")
    tenants = sorted({u.tenant_id for u in found})
    if len(tenants) == 1:  # the directory should not hold this; say so rather than pick one
        _fail(ctx, f"{len(found)} users of tenant {tenants[0]} have the email {email.strip()} "
                   f"({', '.join(u.user_id for u in found)}): fix the directory, then try again.")
    _fail(ctx, f"{email.strip()} is a user of several tenants ({', '.join(tenants)}): name one with --tenant.")


def _who(user: UserRef) -> str:
    return f"{user.name} <{user.email}>" if user.name else user.email


def _fail(ctx: typer.Context, message: str, *, status: int = 1) -> NoReturn:
    cli_context(ctx).err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(status)
