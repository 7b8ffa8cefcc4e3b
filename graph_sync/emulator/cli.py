"""``rapport emulator``: serve a tenant directory as a Graph emulator (and, from the generator, ``generate``)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import typer

from analytics.cli_context import cli_context
from graph_sync.emulator.config import EmulatorConfig
from graph_sync.emulator.generator.cli import generate
from graph_sync.emulator.server import serve_emulator
from graph_sync.emulator.state import EmulatorState

app = typer.Typer(help="The bundled Microsoft Graph emulator.", no_args_is_help=True)
app.command("generate")(generate)

DEMO_SEED = 7


def demo_tenant_dir(data_dir: Path) -> Path:
    """Generate the demo tenant under ``data_dir`` unless it is already there; return its directory."""
    from graph_sync.emulator.generator.version import is_current

    target = data_dir / "demo-tenant"
    if not is_current(target, seed=DEMO_SEED, size="demo"):  # missing, incomplete or from an older generator
        if target.exists():
            shutil.rmtree(target)
        # Imported here so serving an existing directory never loads the generator's numpy model.
        from graph_sync.emulator.generator import generate_tenant
        generate_tenant(target, seed=DEMO_SEED, size="demo")
    return target


@app.command("serve")
def serve(
    ctx: typer.Context,
    tenant_dir: Path | None = typer.Option(None, "--tenant-dir", help="Tenant directory to serve."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8765, "--port", help="Port (0 picks a free one)."),
    latency_ms: float = typer.Option(0.0, "--latency-ms", help="Injected latency per Graph request."),
    mailbox_concurrency: int = typer.Option(4, "--mailbox-concurrency", help="Concurrent requests per mailbox."),
    mailbox_budget: int = typer.Option(10_000, "--mailbox-budget", help="Requests per mailbox per 10 minutes."),
    demo: bool = typer.Option(False, "--demo", help="Generate (or reuse) the demo tenant and serve it."),
    client_id: str | None = typer.Option(None, "--client-id", help="App to register (made up if omitted)."),
    client_secret: str | None = typer.Option(None, "--client-secret", help="Its secret (made up if omitted)."),
) -> None:
    """Serve a tenant directory over HTTP until interrupted."""
    context = cli_context(ctx)
    if demo:
        tenant_dir = demo_tenant_dir(context.settings.data_dir)
    if tenant_dir is None:
        raise typer.BadParameter("give --tenant-dir DIR or --demo", param_hint="--tenant-dir")
    config = EmulatorConfig(mailbox_concurrency=mailbox_concurrency, mailbox_budget=mailbox_budget,
                            latency_s=latency_ms / 1000.0)
    state = EmulatorState.from_directory(tenant_dir, config)
    registered = state.register_app(client_id, client_secret)

    async def run() -> None:
        async with serve_emulator(state, host, port) as base_url:
            context.console.print(f"Graph emulator for tenant {state.tenant_id} ({len(state.users)} users) "
                                  f"from {tenant_dir}")
            context.console.print(f"  Graph:  {base_url}/v1.0")
            context.console.print(f"  Token:  {base_url}/{state.tenant_id}/oauth2/v2.0/token")
            context.console.print(f"  App:    client id {registered.client_id}  secret {registered.client_secret}")
            await asyncio.Event().wait()  # serve until Ctrl-C cancels the loop

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        context.console.print("emulator stopped")
