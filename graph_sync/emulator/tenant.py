"""Reading a tenant directory (see ``docs/tenant-directory.md``) into plain Graph resource dicts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from graph_sync.emulator.errors import TenantDirectoryError
from graph_sync.timezones import iana_zone


@dataclass
class TenantData:
    """The resources of one tenant directory, as loaded."""

    organization: dict[str, Any]
    users: list[dict[str, Any]]
    domains: list[dict[str, Any]]
    mail: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def tenant_id(self) -> str:
        """The tenant's id (the organization resource's ``id``)."""
        return str(self.organization["id"])


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield one object per non-blank line, naming the line of a malformed one."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as err:
                raise TenantDirectoryError(f"{path}:{number}", f"not JSON ({err})") from err
            if not isinstance(value, dict):
                raise TenantDirectoryError(f"{path}:{number}", "expected a JSON object")
            yield value


def load_tenant(directory: Path) -> TenantData:
    """Load ``organization.json``, ``users.jsonl``, ``domains.jsonl``, ``mail/*.jsonl`` and ``events/*.jsonl``."""
    directory = Path(directory)
    org_path = directory / "organization.json"
    if not org_path.is_file():
        raise TenantDirectoryError(str(org_path), "missing (is this a tenant directory?)")
    try:
        organization = json.loads(org_path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise TenantDirectoryError(str(org_path), f"not JSON ({err})") from err
    if not isinstance(organization, dict) or "id" not in organization:
        raise TenantDirectoryError(str(org_path), "expected an organization object with an id")
    users = list(read_jsonl(directory / "users.jsonl"))
    domains_path = directory / "domains.jsonl"
    domains = list(read_jsonl(domains_path)) if domains_path.is_file() else []
    data = TenantData(organization, users, domains)
    for sub, target in (("mail", data.mail), ("events", data.events)):
        folder = directory / sub
        if folder.is_dir():
            for path in sorted(folder.glob("*.jsonl")):
                target[path.stem] = list(read_jsonl(path))
    known = {u.get("id") for u in users}
    for sub, per_user in (("mail", data.mail), ("events", data.events)):
        for user_id in per_user:
            if user_id not in known:
                raise TenantDirectoryError(str(directory / sub / f"{user_id}.jsonl"), "no such user in users.jsonl")
    return data


def parse_graph_datetime(value: str, zone: str | None = "UTC") -> float:
    """A Graph ``dateTimeTimeZone`` (or an ISO 8601 query value) as epoch seconds.

    Naive values are read in ``zone``: an IANA name or a Windows zone id, as Graph accepts both (a client that
    copied its mailbox's ``timeZone`` sends "Pacific Standard Time"); an unknown name is taken as UTC.
    """
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        iana = iana_zone(zone) if zone else None
        moment = moment.replace(tzinfo=UTC if iana is None or iana == "UTC" else ZoneInfo(iana))
    return moment.timestamp()


def event_span(event: dict[str, Any]) -> tuple[float, float]:
    """The event's [start, end) in epoch seconds."""
    start, end = event["start"], event["end"]
    return (parse_graph_datetime(start["dateTime"], start.get("timeZone")),
            parse_graph_datetime(end["dateTime"], end.get("timeZone")))
