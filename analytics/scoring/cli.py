"""``rapport scoring``: import CRM files, train, score, report and list models."""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from sqlalchemy import select

from analytics.cli_context import CliContext, cli_context
from analytics.errors import ConfigError
from analytics.scoring import registry, service
from analytics.scoring.charts import calibration_chart, roc_chart
from analytics.scoring.errors import NotEnoughData, ScoringError
from analytics.scoring.mapping import RecordType
from analytics.scoring.parsing import parse_datetime
from analytics.scoring.providers import default_providers
from analytics.scoring.scores import GradeBands
from analytics.scoring.training import TrainingConfig
from analytics.scoring.watch import RoundReport, Watcher
from analytics.store import models

app = typer.Typer(help="Predictive lead and opportunity scoring.", no_args_is_help=True)

RECORD_TYPES = ("lead", "opportunity")


def _record_type(value: str) -> RecordType:
    if value not in RECORD_TYPES:
        raise typer.BadParameter("lead or opportunity")
    return "lead" if value == "lead" else "opportunity"


def _now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)  # the CLI is the composition root: the only place the clock is read
    parsed = parse_datetime(value)
    if parsed is None:
        raise typer.BadParameter("an ISO 8601 date or date-time")
    return parsed


def _tenant(c: CliContext, tenant: str | None) -> str:
    if tenant:
        return tenant
    t = models.table_of(models.Tenant)
    with c.engine.connect() as conn:
        ids = [r.tenant_id for r in conn.execute(select(t.c.tenant_id))]
    if len(ids) != 1:
        raise ScoringError("no tenant in the database" if not ids else
                           f"{len(ids)} tenants in the database: pass --tenant (one of {', '.join(ids)})")
    return str(ids[0])


def _bands(c: CliContext) -> GradeBands:
    try:
        return GradeBands.parse(c.settings.scoring_grade_bands)
    except ValueError as err:
        raise ConfigError("RAPPORT_SCORING_GRADE_BANDS", str(err), c.settings.scoring_grade_bands) from err


def _config(c: CliContext, window_days: int | None) -> TrainingConfig:
    return TrainingConfig(window_days=window_days or c.settings.scoring_window_days,
                          auc_bar=c.settings.scoring_auc_bar)


TENANT = typer.Option(None, "--tenant", help="Tenant id (needed when the database holds several).")
NOW = typer.Option(None, "--now", "--as-of", help="Reference time, ISO 8601 (default: the current time).")


@app.command("import")
def import_cmd(ctx: typer.Context, record_type: str = typer.Argument(..., help="lead or opportunity"),
               file: Path = typer.Argument(..., help="CSV or JSON Lines file"),
               mapping: Path = typer.Option(..., "--mapping", help="TOML mapping file"),
               tenant: str | None = TENANT, now: str | None = NOW) -> None:
    """Validate a CRM file in full and import all of it, or nothing (every problem is listed)."""
    c = cli_context(ctx)
    rt = _record_type(record_type)
    s = service.import_crm_file(c.engine, _tenant(c, tenant), rt, file, mapping, _now(now))
    plural = "opportunities" if rt == "opportunity" else "leads"
    c.console.print(f"Imported {s.records} {plural} from {file.name}: {s.positives} positive, {s.negatives} negative, "
                    f"{s.open_records} open; {s.stage_entries} stage entries; {s.contacts_added} new contacts, "
                    f"{s.accounts_added} new accounts.")


def _filters(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{item!r}: expected KEY=VALUE, e.g. stage=Propose or fields.industry=software")
        out[key.strip()] = value.strip()
    return out


@app.command("train")
def train_cmd(ctx: typer.Context, record_type: str = typer.Argument(..., help="lead or opportunity"),
              name: str = typer.Option("default", "--name", help="Model name (one per filter set, 10 at most)."),
              filter_: list[str] = typer.Option([], "--filter", help="KEY=VALUE: stage, owner, fields.X, ..."),
              per_stage: bool = typer.Option(False, "--per-stage", help="Also one model per opportunity stage."),
              window_days: int | None = typer.Option(None, "--window-days", help="Training window (91-730)."),
              tenant: str | None = TENANT, now: str | None = NOW) -> None:
    """Train, validate and (if the rules allow) publish a model."""
    c = cli_context(ctx)
    rt = _record_type(record_type)
    tid, at, config = _tenant(c, tenant), _now(now), _config(c, window_days)
    providers = default_providers(c.engine, c.settings)
    outcome = service.train_and_publish(c.engine, tid, rt, at, config, providers, name=name,
                                        filters=_filters(filter_))
    _print_outcome(c, outcome)
    if per_stage and rt == "opportunity":
        for result in service.train_per_stage(c.engine, tid, at, config, providers):
            if isinstance(result, NotEnoughData):
                c.console.print(f"[yellow]skipped:[/] {result}")
            else:
                _print_outcome(c, result)


def _print_outcome(c: CliContext, outcome: service.TrainOutcome) -> None:
    m = outcome.model.metrics
    c.console.print(f"{outcome.model.model_id}: {m['algorithm']}, validation AUC {m['auc']:.3f}, accuracy "
                    f"{m['accuracy']:.3f}, F1 {m['f1']:.3f} at threshold {m['threshold']:.2f} "
                    f"({m['n_train']} train / {m['n_validation']} validation) — "
                    f"{'published' if outcome.decision.publish else 'not published'}: {outcome.decision.reason}")
    for w in outcome.warnings:
        c.console.print(f"[yellow]warning:[/] {w}")


@app.command("score")
def score_cmd(ctx: typer.Context, record_type: str = typer.Argument(..., help="lead or opportunity"),
              record_id: str | None = typer.Option(None, "--id", help="Score one record (with full reasons)."),
              as_json: bool = typer.Option(False, "--json", help="Print JSON."),
              tenant: str | None = TENANT, now: str | None = NOW) -> None:
    """Score open records (or one record) with the active models and store the scores."""
    c = cli_context(ctx)
    rt = _record_type(record_type)
    cards = service.score_records(c.engine, _tenant(c, tenant), rt, _now(now), default_providers(c.engine, c.settings),
                                  _bands(c), record_id=record_id)
    if as_json:
        typer.echo(json.dumps([{"record_id": k.record_id, "score": k.value, "grade": k.grade, "trend": k.trend,
                                "model_id": k.model_id, **k.details()} for k in cards], indent=2, default=str))
        return
    if record_id and cards:
        k = cards[0]
        c.console.print(f"{rt} {k.record_id}: score {k.value:.0f} (grade {k.grade}, {k.trend}) by {k.model_id}")
        if k.stuck:
            c.console.print(f"[red]stuck:[/] {k.stuck_reason}")
        for sign, reasons in (("+", k.explanation.positive), ("−", k.explanation.negative)):
            for r in reasons:
                c.console.print(f"  {sign} {r.text}  [dim]({r.contribution:+.2f} log-odds)[/]")
        return
    table = Table("record", "score", "grade", "trend", "top reason for", "top reason against", "stuck")
    for k in cards:
        pos, neg = k.explanation.card()
        table.add_row(k.record_id, f"{k.value:.0f}", k.grade, k.trend, pos[0].text if pos else "",
                      neg[0].text if neg else "", "yes" if k.stuck else "")
    c.console.print(table)


@app.command("watch")
def watch_cmd(ctx: typer.Context,
              interval: float = typer.Option(60.0, "--interval", min=1.0, help="Seconds between rounds."),
              full_every_hours: float = typer.Option(24.0, "--full-every-hours", min=1.0,
                                                     help="Rescore every open record at least this often."),
              tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant (default: all)."),
              rounds: int | None = typer.Option(None, "--rounds", min=1,
                                                help="Stop after this many rounds (default: run until stopped).")
              ) -> None:
    """Keep scores fresh until stopped: new and changed open records within one interval, all open ones daily."""
    c = cli_context(ctx)
    stop = threading.Event()
    t = models.table_of(models.Tenant)

    def tenants() -> list[str]:
        if tenant:
            return [tenant]
        with c.engine.connect() as conn:
            return [str(r.tenant_id) for r in conn.execute(select(t.c.tenant_id).order_by(t.c.tenant_id))]

    def report(rounds: list[RoundReport]) -> None:
        for r in rounds:
            if r.scored:
                why = ", ".join(f"{n} {reason}" for reason, n in sorted(r.due.items()))
                c.console.print(f"{datetime.now(UTC):%H:%M:%S} {r.tenant_id} {r.record_type}: scored {r.scored} ({why})")

    watcher = Watcher(c.engine, tenants, lambda: default_providers(c.engine, c.settings),
                      clock=lambda: datetime.now(UTC), sleep=stop.wait, stop=stop.is_set, interval=interval,
                      bands=_bands(c), full_every=timedelta(hours=full_every_hours), on_round=report)
    c.console.print(f"Scoring watch: a round every {interval:g} s, every open record at least every "
                    f"{full_every_hours:g} h. Ctrl-C stops.")
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        watcher.run(max_rounds=rounds)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@app.command("report")
def report_cmd(ctx: typer.Context, record_type: str = typer.Argument(..., help="lead or opportunity"),
               as_json: bool = typer.Option(False, "--json", help="Print JSON."),
               out: Path | None = typer.Option(None, "--out", help="Folder for the PNG charts."),
               tenant: str | None = TENANT) -> None:
    """Validation metrics of the active models, with ROC and calibration charts as PNG."""
    c = cli_context(ctx)
    rt = _record_type(record_type)
    tenant_id = _tenant(c, tenant)
    folder = out or c.settings.tenant_charts_dir(tenant_id)
    rows: list[dict[str, Any]] = []
    for m in service.active_report(c.engine, tenant_id, rt):
        roc = roc_chart(m.metrics, folder / f"{m.model_id}-roc.png", f"{m.model_id}: ROC")
        cal = calibration_chart(m.metrics, folder / f"{m.model_id}-calibration.png", f"{m.model_id}: calibration")
        rows.append({**{k: v for k, v in asdict(m).items() if k != "metrics"}, "metrics": m.metrics,
                     "charts": {"roc": str(roc), "calibration": str(cal)}})
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    for row in rows:
        m = row["metrics"]
        cm = m["confusion"]
        c.console.print(f"[bold]{row['model_id']}[/] ({row['status']}, {m['algorithm']}, trained {row['trained_at']:%Y-%m-%d})")
        c.console.print(f"  AUC {m['auc']:.3f}  accuracy {m['accuracy']:.3f}  precision {m['precision']:.3f}  "
                        f"recall {m['recall']:.3f}  F1 {m['f1']:.3f}  threshold {m['threshold']:.2f}")
        c.console.print(f"  confusion: TP {cm['tp']}  FP {cm['fp']}  FN {cm['fn']}  TN {cm['tn']}")
        for name, cand in m.get("candidates", {}).items():
            c.console.print(f"  candidate {name}: out-of-fold AUC {cand['oof_auc']:.3f}, "
                            f"validation AUC {cand['validation_auc']:.3f}")
        for w in m.get("warnings", []):
            c.console.print(f"  [yellow]warning:[/] {w}")
        c.console.print(f"  charts: {row['charts']['roc']}, {row['charts']['calibration']}")


@app.command("models")
def models_cmd(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON."),
               tenant: str | None = TENANT) -> None:
    """Every registered model: version, status, filters, schema hash and headline metrics."""
    c = cli_context(ctx)
    with c.engine.connect() as conn:
        found = registry.list_models(conn, _tenant(c, tenant))
    if as_json:
        typer.echo(json.dumps([asdict(m) for m in found], indent=2, default=str))
        return
    table = Table("model", "type", "status", "filters", "AUC", "accuracy", "trained", "published", "schema")
    for m in found:
        table.add_row(m.model_id, m.record_type, m.status, json.dumps(m.filters) if m.filters else "",
                      f"{m.metrics.get('auc') or 0:.3f}", f"{m.metrics.get('accuracy') or 0:.3f}",
                      f"{m.trained_at:%Y-%m-%d}", f"{m.published_at:%Y-%m-%d}" if m.published_at else "",
                      m.feature_schema_hash[:12])
    c.console.print(table)


@app.command("retrain")
def retrain_cmd(ctx: typer.Context, tenant: str | None = TENANT, now: str | None = NOW) -> None:
    """Retrain every model whose last training is 15 or more days old (run it daily)."""
    c = cli_context(ctx)
    tid, at = _tenant(c, tenant), _now(now)
    due = service.retrain_due_types(c.engine, tid, at)
    if not due:
        c.console.print("No model is due for retraining.")
    with c.engine.connect() as conn:
        by_name = {(m.record_type, m.name): m for m in registry.list_models(conn, tid)}
    for record_type, name in due:
        rt = _record_type(record_type)
        try:
            outcome = service.train_and_publish(c.engine, tid, rt, at, _config(c, None),
                                                default_providers(c.engine, c.settings), name=name,
                                                filters=by_name[(record_type, name)].filters)
            _print_outcome(c, outcome)
        except NotEnoughData as err:
            c.console.print(f"[yellow]{record_type}/{name}:[/] {err}")
