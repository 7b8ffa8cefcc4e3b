"""``rapport emulator generate``: write a synthetic tenant directory."""

from __future__ import annotations

from pathlib import Path

import typer

from graph_sync.emulator.generator.generate import generate_tenant
from graph_sync.emulator.generator.sizes import PROFILES


def generate(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="Directory to write the tenant into (created if needed)."),
    seed: int = typer.Option(7, "--seed", help="Random seed: the same seed gives byte-identical files."),
    size: str = typer.Option("demo", "--size", help="small | demo | large"),
) -> None:
    """Generate a deterministic synthetic tenant (mail, calendars, CRM records and ground_truth.json)."""
    if size not in PROFILES:
        raise typer.BadParameter(f"expected one of {', '.join(PROFILES)}, got {size!r}", param_hint="--size")
    report = generate_tenant(out, seed=seed, size=size)  # type: ignore[arg-type]
    typer.echo(
        f"Wrote {size} tenant {report.tenant_id} (seed {seed}) to {out}: {report.users} users, "
        f"{report.messages} messages ({report.mail_lines} mailbox copies), {report.meetings} meetings "
        f"({report.event_lines} calendar copies), {report.leads} leads, {report.opportunities} opportunities "
        f"in {report.seconds:.1f} s."
    )
