"""``rapport health``, ``rapport who-knows`` and ``rapport analytics refresh``.

TARGET is an email address, a domain, an account name, or ``lead:ID`` / ``opportunity:ID``. ``--tenant``
defaults to the only tenant in the store. ``--as-of`` (ISO date-time, default now) answers as of another time.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from analytics import health_views
from analytics.cli_context import CliContext, as_of_time, cli_context
from analytics.query import RelationshipQueries
from analytics.refresh import full_refresh, refresh_for_now
from analytics.relationships.charts import activity_chart, health_chart
from analytics.relationships.errors import AmbiguousTarget
from analytics.store import queries_relationships as q
from analytics.views import HealthView, WhoKnowsView, to_jsonable

app = typer.Typer(help="Relationship analytics: recompute scores.", no_args_is_help=True)

TENANT = typer.Option(None, "--tenant", help="Tenant id (default: the only tenant in the store).")
AS_OF = typer.Option(None, "--as-of", help="ISO date-time to answer as of (default: now, UTC).")
JSON = typer.Option(False, "--json", help="Print the view as JSON instead of tables.")


def _now(as_of: str | None) -> datetime:
    return as_of_time(as_of)


def _tenant(c: CliContext, tenant: str | None) -> str:
    if tenant:
        return tenant
    with c.engine.connect() as conn:
        ids = q.tenant_ids(conn)
    if len(ids) != 1:
        raise typer.BadParameter(f"the store has {len(ids)} tenants: name one", param_hint="--tenant")
    return ids[0]


def _fmt_time(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at else "—"


def _fmt(value: float | None, spec: str = "g") -> str:
    return "—" if value is None else format(value, spec)


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{100 * share:.0f}%"


def _print_health(c: CliContext, view: HealthView) -> None:
    k = view.kpis
    c.console.print(f"[bold]{view.target.label}[/] ({view.target.kind}) — health "
                    f"[bold]{_fmt(view.score)}[/] {view.state}, trend {view.trend}"
                    f" (was {_fmt(view.previous_score)})")
    factors = Table(title="What moved the score")
    for col in ("factor", "value", "weight", "points", "change", "why"):
        factors.add_column(col)
    for f in view.factors:
        factors.add_row(f.name, f"{f.value:.2f}", f"{f.weight:.2f}", f"{f.points:.1f}",
                        _fmt(f.change, "+.1f"), f.explanation)
    c.console.print(factors)
    kpis = Table(title=f"KPIs, last {k.window_days} days")
    for col in ("", "us", "them"):
        kpis.add_column(col)
    rows = (
        ("emails sent", k.us.emails_sent, k.them.emails_sent),
        ("meetings organised", k.us.meetings_organised, k.them.meetings_organised),
        ("calls made", k.us.calls_made, k.them.calls_made),
        ("initiated", k.us.initiated, k.them.initiated),
        ("hours spent", round(k.us.minutes_spent / 60, 1), round(k.them.minutes_spent / 60, 1)),
        ("avg first response (h)", _fmt(k.us.avg_first_response_hours, ".1f"),
         _fmt(k.them.avg_first_response_hours, ".1f")),
        ("response rate", _percent(k.us.response_rate), _percent(k.them.response_rate)),
        ("most contacted", ", ".join(p.name for p in k.us.most_contacted[:3]),
         ", ".join(p.name for p in k.them.most_contacted[:3])),
    )
    for label, us, them in rows:
        kpis.add_row(label, str(us), str(them))
    c.console.print(kpis)
    last, nxt = k.last_interaction, k.next_interaction
    # The KPIs read their window only: an older last interaction is not "—" (who-knows shows its date).
    said_last = f"{_fmt_time(last.at)} {last.kind}" if last else f"none in the last {k.window_days} days"
    c.console.print(f"sent/received ratio {_fmt(k.email_ratio, '.2f')}; last interaction {said_last}; next "
                    f"{_fmt_time(nxt.at if nxt else None)} {nxt.kind if nxt else ''}")


def _print_who_knows(c: CliContext, view: WhoKnowsView) -> None:
    table = Table(title=f"Who knows {view.target.label}")
    for col in ("colleague", "email", "strength", "level", "last interaction", "type", "two-way"):
        table.add_column(col)
    for p in view.colleagues:
        table.add_row(p.name, p.email, f"{p.strength:.0f}", p.level, _fmt_time(p.last_interaction_at),
                      p.last_interaction_type or "—", "yes" if p.two_way else "no")
    if view.colleagues:
        c.console.print(table)
    elif view.path is not None:
        h = view.path
        c.console.print(f"Nobody knows {view.target.label} directly. Ask [bold]{h.colleague.name}[/] "
                        f"({h.colleague.level.lower()}, {h.colleague.email}) for an introduction through "
                        f"{h.via_name} <{h.via_email}> ({h.via_relation}).")
    else:
        c.console.print(f"Nobody knows {view.target.label}, directly or through two hops.")
    if view.excluded_opted_out:  # a count only, never names (as the bot's card says it)
        n = view.excluded_opted_out
        c.console.print(f"{n} colleague{'' if n == 1 else 's'} opted out and {'is' if n == 1 else 'are'} not shown.")


def health_cmd(
    ctx: typer.Context,
    target: str = typer.Argument(..., help="Email, domain, account name, lead:ID or opportunity:ID."),
    json_out: bool = JSON,
    tenant: str | None = TENANT,
    as_of: str | None = AS_OF,
    chart: Path | None = typer.Option(None, "--chart", help="Also write health-over-time and activity PNGs "
                                      "to PATH-health.png and PATH-activity.png."),
) -> None:
    """Health score, state, trend, the factors behind it and the relationship KPIs of TARGET."""
    c = cli_context(ctx)
    queries = RelationshipQueries(c.engine, c.settings)
    try:
        view = queries.health(_tenant(c, tenant), target, now=_now(as_of))
    except AmbiguousTarget as err:
        raise typer.BadParameter(str(err), param_hint="TARGET") from err
    if chart is not None:
        stem = str(chart.with_suffix(""))
        Path(stem + "-health.png").write_bytes(health_chart(view.history, title=view.target.label))
        Path(stem + "-activity.png").write_bytes(activity_chart(
            view.kpis.breakdown, as_of=view.kpis.as_of.date(), window_days=view.kpis.window_days,
            title=view.target.label))
    if json_out:
        typer.echo(json.dumps(to_jsonable(view), indent=2))
    else:
        _print_health(c, view)


def who_knows_cmd(
    ctx: typer.Context,
    target: str = typer.Argument(..., help="Email, domain, account name, lead:ID or opportunity:ID."),
    json_out: bool = JSON,
    tenant: str | None = TENANT,
    as_of: str | None = AS_OF,
) -> None:
    """Up to five colleagues who know TARGET, or a two-hop introduction path."""
    c = cli_context(ctx)
    queries = RelationshipQueries(c.engine, c.settings)
    try:
        view = queries.who_knows(_tenant(c, tenant), target, now=_now(as_of))
    except AmbiguousTarget as err:
        raise typer.BadParameter(str(err), param_hint="TARGET") from err
    if json_out:
        typer.echo(json.dumps(to_jsonable(view), indent=2))
    else:
        _print_who_knows(c, view)


@app.command("refresh")
def refresh_cmd(
    ctx: typer.Context,
    tenant: str | None = TENANT,
    as_of: str | None = AS_OF,
    full: bool = typer.Option(False, "--full", help="Recompute every record from the rollups (default: only "
                              "the records the sync changed since the last refresh, when a full refresh of the "
                              "same UTC day stored aggregates)."),
) -> None:
    """Update the stored health scores: incrementally from the sync's change journal when a full refresh of the
    same UTC day has stored aggregates (a full refresh otherwise, so every score follows the day), or of every
    record with ``--full``."""
    c = cli_context(ctx)
    tid = _tenant(c, tenant)
    now = _now(as_of)
    previous = health_views.latest_refresh(c.engine, tid)
    result = (full_refresh if full else refresh_for_now)(c.engine, tid, c.settings, now=now)
    kind = "Full refresh" if result.full else "Incremental refresh"
    c.console.print(f"{kind}: scored {result.contacts} contacts, {result.accounts} accounts, {result.leads} leads "
                    f"and {result.opportunities} opportunities of tenant {tid}.")
    views = health_views.update_after_refresh(c.engine, tid, c.settings, result, previous=previous, now=now)
    if views.skipped is None:
        c.console.print(f"Health views: {views.views} written ({'all' if views.full else 'the rescored records'}) "
                        f"in {views.seconds:.1f} s, with {views.who_knows} who-knows answers "
                        f"({views.who_knows_seconds:.1f} s of it).")


def register(root: typer.Typer) -> None:
    """Add ``health``, ``who-knows`` and the ``analytics`` group to the ``rapport`` app."""
    root.command("health")(health_cmd)
    root.command("who-knows")(who_knows_cmd)
    root.add_typer(app, name="analytics")
