"""One immutable, validated configuration for every Rapport process.

Settings are read once, at start-up, from ``RAPPORT_*`` environment variables and an optional TOML file
(``RAPPORT_CONFIG`` or ``--config``), then passed down explicitly. Nothing reads ``os.environ`` later.

Each option is declared once, in :data:`OPTIONS`, with its environment variable, TOML key, type, default and a
one-line description; the README's configuration table is generated from the same list, so the two cannot drift.
Environment variables win over the file. A wrong value raises :class:`~analytics.errors.ConfigError` naming the
variable and what it expects, and the CLI turns that into a one-line message and exit code 2.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from analytics.errors import ConfigError

SubjectPolicy = Literal["drop", "hash", "keep"]
BotAuthKind = Literal["single_tenant", "managed_identity"]


@dataclass(frozen=True)
class Option:
    """One configuration option: where it comes from and how it is parsed."""

    name: str  # attribute on Settings
    toml_key: str  # dotted key in the TOML file, e.g. "sync.page_size"
    kind: str  # "str" | "int" | "float" | "bool" | "path" | "choice" | "tz" | "secret"
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    @property
    def env(self) -> str:
        return "RAPPORT_" + self.name.upper()


OPTIONS: tuple[Option, ...] = (
    # Store
    Option("database_url", "database.url", "str", "sqlite:///./rapport.db",
           "SQLAlchemy URL of the store: SQLite file (default) or postgresql+psycopg://…"),
    Option("log_level", "log.level", "choice", "INFO", "Log level", ("DEBUG", "INFO", "WARNING", "ERROR")),
    Option("secret_key", "security.secret_key", "secret", "",
           "Key for subject hashes, signed URLs and consent state (required outside the demo)"),
    Option("data_dir", "data_dir", "path", ".rapport", "Where generated files (demo tenant, charts) live"),
    Option("default_timezone", "default_timezone", "tz", "UTC", "IANA zone used when a user's zone is unknown"),
    # Privacy
    Option("subject_policy", "privacy.subject_policy", "choice", "hash",
           "Default subject policy for new tenants: drop, hash (keyed) or keep", ("drop", "hash", "keep")),
    # Sync
    Option("sync_page_size", "sync.page_size", "int", 1000, "Prefer: odata.maxpagesize for delta pages",
           minimum=1, maximum=1000),
    Option("sync_concurrency", "sync.concurrency", "int", 16, "Requests in flight per worker, all mailboxes",
           minimum=1, maximum=256),
    Option("sync_per_mailbox", "sync.per_mailbox", "int", 4, "Requests in flight per mailbox (Graph allows 4)",
           minimum=1, maximum=4),
    Option("sync_mailbox_budget", "sync.mailbox_budget", "int", 9000,
           "Requests per mailbox per 10 minutes (Graph allows 10,000)", minimum=1, maximum=10000),
    Option("sync_interval_seconds", "sync.interval_seconds", "int", 300, "Pause between rounds with --watch",
           minimum=1),
    Option("sync_lease_seconds", "sync.lease_seconds", "int", 300,
           "How long a worker owns a mailbox before others may take it over", minimum=10),
    Option("sync_max_retry_wait", "sync.max_retry_wait", "float", 180.0,
           "Retry-After waits at or above this are requeued, not slept", minimum=1),
    Option("sync_all_folders", "sync.all_folders", "bool", False, "Sync every mail folder, not only Inbox/Sent"),
    Option("sync_calendar_past_days", "sync.calendar_past_days", "int", 365, "Calendar window start (days back)",
           minimum=1, maximum=3650),
    Option("sync_calendar_future_days", "sync.calendar_future_days", "int", 90, "Calendar window end (days ahead)",
           minimum=1, maximum=3650),
    Option("sync_calendar_rebaseline_days", "sync.calendar_rebaseline_days", "int", 30,
           "Move the calendar window once its end lags now + future days by this much (at most half of them)",
           minimum=1, maximum=3650),
    Option("sync_skip_disabled", "sync.skip_disabled", "bool", True, "Skip disabled accounts"),
    Option("sync_skip_shared", "sync.skip_shared", "bool", True, "Skip shared mailboxes"),
    Option("sync_skip_rooms", "sync.skip_rooms", "bool", True, "Skip room and equipment mailboxes"),
    # Analytics
    Option("analytics_window_days", "analytics.window_days", "int", 90, "Activity breakdown window (days)",
           minimum=7, maximum=730),
    # Scoring
    Option("scoring_window_days", "scoring.window_days", "int", 730,
           "Predictive scoring training window in days (3 months to 2 years)", minimum=91, maximum=730),
    Option("scoring_auc_bar", "scoring.auc_bar", "float", 0.65,
           "Validation AUC a scoring model must reach to be published", minimum=0.5, maximum=1.0),
    Option("scoring_grade_bands", "scoring.grade_bands", "str", "75,50,25",
           "Lowest scores of grades A, B and C (below C is D)"),
    # Bot
    Option("bot_host", "bot.host", "str", "0.0.0.0", "Address the bot's web server binds to"),
    Option("bot_port", "bot.port", "int", 3978, "Port of the bot's web server", minimum=1, maximum=65535),
    Option("bot_public_url", "bot.public_url", "str", "", "Public https URL of the bot (for chart links, consent)"),
    Option("bot_app_id", "bot.app_id", "str", "", "Bot (Entra app) client id"),
    Option("bot_app_password", "bot.app_password", "secret", "", "Bot client secret (SingleTenant)"),
    Option("bot_app_tenant_id", "bot.app_tenant_id", "str", "", "Tenant of the bot registration"),
    Option("bot_auth", "bot.auth", "choice", "single_tenant", "Bot identity: single_tenant or managed_identity",
           ("single_tenant", "managed_identity")),
    Option("bot_sso_writes", "bot.sso_writes", "bool", False,
           "Notes write to Graph on behalf of the user (Teams SSO token exchanged with the bot app's id and "
           "secret); application permission otherwise"),
    Option("bot_sso_connection", "bot.sso_connection", "str", "",
           "OAuth connection of the Azure Bot resource for Teams SSO: with RAPPORT_BOT_SSO_WRITES, a create button "
           "asks Teams for the user's token through it"),
    Option("digest_schedule", "digest.schedule", "bool", True,
           "rapport serve sends the managers' weekly digests itself (once per manager and week)"),
    Option("digest_weekday", "digest.weekday", "choice", "monday", "Day the weekly digest goes out",
           ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")),
    Option("digest_time", "digest.time", "str", "08:00",
           "Local time (HH:MM, the manager's zone, else RAPPORT_DEFAULT_TIMEZONE) the digest goes out"),
    # Graph application and admin consent
    Option("graph_client_id", "graph.client_id", "str", "",
           "Client id of the Entra app that reads Graph (admin consent asks tenants to grant it)"),
    Option("graph_client_secret", "graph.client_secret", "secret", "",
           "Client secret of that app (or use RAPPORT_GRAPH_CERTIFICATE_PATH)"),
    Option("graph_certificate_path", "graph.certificate_path", "str", "",
           "PEM certificate with private key for that app (instead of a secret)"),
    Option("graph_authority", "graph.authority", "str", "https://login.microsoftonline.com",
           "Entra ID authority for consent and tokens (national clouds, or the emulator)"),
    Option("graph_base_url", "graph.base_url", "str", "https://graph.microsoft.com/v1.0",
           "Graph base URL recorded for consented tenants"),
    Option("consent_state_ttl_seconds", "consent.state_ttl_seconds", "int", 900,
           "How long an admin-consent link stays valid", minimum=60, maximum=86400),
)

_BY_NAME = {o.name: o for o in OPTIONS}


@dataclass(frozen=True)
class Settings:
    """Every option of :data:`OPTIONS` as a typed, immutable attribute."""

    database_url: str = "sqlite:///./rapport.db"
    log_level: str = "INFO"
    secret_key: str = ""
    data_dir: Path = Path(".rapport")
    default_timezone: str = "UTC"
    subject_policy: SubjectPolicy = "hash"
    sync_page_size: int = 1000
    sync_concurrency: int = 16
    sync_per_mailbox: int = 4
    sync_mailbox_budget: int = 9000
    sync_interval_seconds: int = 300
    sync_lease_seconds: int = 300
    sync_max_retry_wait: float = 180.0
    sync_all_folders: bool = False
    sync_calendar_past_days: int = 365
    sync_calendar_future_days: int = 90
    sync_calendar_rebaseline_days: int = 30
    sync_skip_disabled: bool = True
    sync_skip_shared: bool = True
    sync_skip_rooms: bool = True
    analytics_window_days: int = 90
    scoring_window_days: int = 730
    scoring_auc_bar: float = 0.65
    scoring_grade_bands: str = "75,50,25"
    bot_host: str = "0.0.0.0"
    bot_port: int = 3978
    bot_public_url: str = ""
    bot_app_id: str = ""
    bot_app_password: str = field(default="", repr=False)
    bot_app_tenant_id: str = ""
    bot_auth: BotAuthKind = "single_tenant"
    bot_sso_writes: bool = False
    bot_sso_connection: str = ""
    digest_schedule: bool = True
    digest_weekday: str = "monday"
    digest_time: str = "08:00"
    graph_client_id: str = ""
    graph_client_secret: str = field(default="", repr=False)
    graph_certificate_path: str = ""
    graph_authority: str = "https://login.microsoftonline.com"
    graph_base_url: str = "https://graph.microsoft.com/v1.0"
    consent_state_ttl_seconds: int = 900

    def tenant_charts_dir(self, tenant_id: str) -> Path:
        """Where `rapport scoring report` writes a tenant's charts by default: a folder per tenant, so that two
        tenants' models of the same id ("lead-default-v1") do not overwrite each other's charts, and removing a
        tenant can remove its charts."""
        return self.data_dir / "charts" / tenant_id

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some values replaced, validated like the originals (used by tests and the demo)."""
        for key, value in changes.items():
            if key not in _BY_NAME:
                raise ConfigError(key, "a known setting", repr(value))
            changes[key] = _parse(_BY_NAME[key], value, source=key)
        return replace(self, **changes)

    def describe(self) -> dict[str, Any]:
        """Values for display, with secrets masked."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = "***" if _BY_NAME[f.name].kind == "secret" and value else value
        return out


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse(option: Option, raw: Any, *, source: str) -> Any:
    """Turn one raw value (string from the environment or a TOML value) into the option's type."""
    kind = option.kind
    try:
        if kind in ("str", "secret"):
            if not isinstance(raw, str):
                raise ValueError
            return raw
        if kind == "int":
            if isinstance(raw, bool):
                raise ValueError
            value: Any = int(raw)
        elif kind == "float":
            if isinstance(raw, bool):
                raise ValueError
            value = float(raw)
        elif kind == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError
        elif kind == "path":
            return Path(str(raw))
        elif kind == "choice":
            text = str(raw)
            match = next((c for c in option.choices if c.lower() == text.lower()), None)
            if match is None:
                raise ValueError
            return match
        elif kind == "tz":
            ZoneInfo(str(raw))
            return str(raw)
        else:  # pragma: no cover - OPTIONS is static
            raise AssertionError(kind)
    except (ValueError, TypeError, ZoneInfoNotFoundError) as err:
        raise ConfigError(source, _expected(option), repr(raw)) from err
    if option.minimum is not None and value < option.minimum:
        raise ConfigError(source, _expected(option), repr(raw))
    if option.maximum is not None and value > option.maximum:
        raise ConfigError(source, _expected(option), repr(raw))
    return value


def _expected(option: Option) -> str:
    if option.kind == "choice":
        return "one of " + ", ".join(option.choices)
    if option.kind == "tz":
        return "an IANA time zone such as Europe/Paris"
    if option.kind == "bool":
        return "true or false"
    if option.kind in ("int", "float"):
        noun = "an integer" if option.kind == "int" else "a number"
        if option.minimum is not None and option.maximum is not None:
            return f"{noun} from {option.minimum:g} to {option.maximum:g}"
        if option.minimum is not None:
            return f"{noun} of at least {option.minimum:g}"
        return noun
    return "a string"


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def load_settings(
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    reader: Callable[[Path], bytes] | None = None,
) -> Settings:
    """Build :class:`Settings` from a TOML file (optional) overlaid by ``RAPPORT_*`` variables.

    ``environ`` defaults to ``os.environ``; tests pass a dict. Unknown ``RAPPORT_*`` variables and unknown TOML
    keys are errors, because a misspelt option silently ignored is worse than a refusal to start.
    """
    env = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    path = config_file or (Path(env["RAPPORT_CONFIG"]) if env.get("RAPPORT_CONFIG") else None)
    if path is not None:
        try:
            data = (reader or Path.read_bytes)(path)
            table = tomllib.loads(data.decode("utf-8"))
        except OSError as err:
            raise ConfigError(str(path), "a readable TOML file", str(err)) from err
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise ConfigError(str(path), "valid TOML", str(err)) from err
        by_key = {o.toml_key: o for o in OPTIONS}
        for key, raw in _flatten(table).items():
            option = by_key.get(key)
            if option is None:
                raise ConfigError(f"{path}: {key}", "a known key (" + ", ".join(sorted(by_key)) + ")", repr(raw))
            values[option.name] = _parse(option, raw, source=f"{path}: {key}")
    known_env = {o.env: o for o in OPTIONS}
    for name, raw in env.items():
        if not name.startswith("RAPPORT_") or name in _IGNORED_ENV:
            continue
        option = known_env.get(name)
        if option is None:
            raise ConfigError(name, "a known RAPPORT_* variable (see the README's configuration table)", raw)
        values[option.name] = _parse(option, raw, source=name)
    return Settings(**values)


# Variables with the RAPPORT_ prefix that configure tooling rather than a running process.
_IGNORED_ENV = frozenset({"RAPPORT_CONFIG", "RAPPORT_TEST_DATABASE_URL", "RAPPORT_BENCH_DATABASE_URL"})


def configuration_table() -> str:
    """The README's configuration table, in Markdown."""
    rows = ["| variable | TOML key | default | meaning |", "| --- | --- | --- | --- |"]
    for o in OPTIONS:
        default = "(empty)" if o.default in ("", None) else f"`{o.default}`"
        rows.append(f"| `{o.env}` | `{o.toml_key}` | {default} | {o.help} |")
    return "\n".join(rows)


def _rewrite_readme(path: Path) -> None:
    """Replace the configuration table between the README's markers with the current one."""
    text = path.read_text(encoding="utf-8")
    start, end = "<!-- configuration-table:start -->\n", "\n<!-- configuration-table:end -->"
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    path.write_text(head + start + configuration_table() + end + tail, encoding="utf-8")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--readme"]:
        _rewrite_readme(Path(__file__).resolve().parents[1] / "README.md")
    else:
        print(configuration_table())
