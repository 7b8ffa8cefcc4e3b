"""``rapport db``: create, upgrade and inspect the store's schema."""

from __future__ import annotations

import typer

from analytics.cli_context import cli_context
from analytics.store.schema import schema_status, upgrade

app = typer.Typer(help="Create and upgrade the database schema.", no_args_is_help=True)


def _where(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url


@app.command("upgrade")
def upgrade_cmd(ctx: typer.Context) -> None:
    """Apply every pending migration (creates the schema on an empty database)."""
    c = cli_context(ctx)
    before = schema_status(c.unchecked_engine)
    after = upgrade(c.unchecked_engine)
    if before.current == after.current:
        c.console.print(f"Schema already current at revision {after.current} ({after.backend}).")
    else:
        c.console.print(f"Upgraded {after.backend} database {_where(c.settings.database_url)} "
                        f"from {before.current or 'empty'} to {after.current}.")


@app.command("status")
def status_cmd(ctx: typer.Context) -> None:
    """Show the schema revision and whether it is current; exit 1 if it is not."""
    c = cli_context(ctx)
    s = schema_status(c.unchecked_engine)
    state = "current" if s.is_current else "behind: run `rapport db upgrade`"
    c.console.print(f"{s.backend} database {_where(c.settings.database_url)}: "
                    f"revision {s.current or 'none'}, head {s.head} — {state}")
    if not s.is_current:
        raise typer.Exit(1)
