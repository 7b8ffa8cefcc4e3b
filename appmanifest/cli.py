"""``rapport manifest build``: write the Teams app package zip and validate it."""

from __future__ import annotations

from pathlib import Path

import typer

from analytics.cli_context import cli_context
from appmanifest.build import PackageSpec, build_package

app = typer.Typer(help="The Teams app package.", no_args_is_help=True)


@app.command("build")
def build(
    ctx: typer.Context,
    app_id: str = typer.Option(..., "--app-id", help="The bot's Entra application (client) id."),
    domain: str = typer.Option(..., "--domain", help="Host the bot is served from, e.g. rapport.contoso.com."),
    out: Path = typer.Option(Path("rapport-teams-app.zip"), "--out", help="Where to write the zip."),
    version: str = typer.Option("1.0.0", "--version", help="App version (raise it for every upload)."),
    teams_app_id: str | None = typer.Option(None, "--teams-app-id", help="Teams app id (default: derived "
                                            "from --app-id, stable across builds)."),
    developer: str = typer.Option("Rapport", "--developer", help="Developer name shown in Teams."),
    website_url: str | None = typer.Option(None, "--website-url", help="Default: https://DOMAIN/."),
    privacy_url: str | None = typer.Option(None, "--privacy-url", help="Default: the website URL."),
    terms_url: str | None = typer.Option(None, "--terms-url", help="Default: the website URL."),
) -> None:
    """Build the app package (manifest v1.30, English + Chinese commands, icons) and validate it."""
    console = cli_context(ctx).console
    built = build_package(PackageSpec(bot_id=app_id, domain=domain, version=version, teams_app_id=teams_app_id,
                                      developer=developer, website_url=website_url, privacy_url=privacy_url,
                                      terms_url=terms_url))
    try:
        out.write_bytes(built.data)
    except OSError as err:  # a missing folder or no permission: say so rather than show a traceback
        raise typer.BadParameter(f"cannot write {out}: {err.strerror}", param_hint="--out") from err
    console.print(f"Wrote {out} ({len(built.data):,} bytes): manifest {built.manifest['manifestVersion']}, app id "
                  f"{built.manifest['id']}, valid against the official schema.")
    for lang, commands in built.commands.items():
        console.print(f"  commands ({lang}): " + " · ".join(c.title for c in commands))
