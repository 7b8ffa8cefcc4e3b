"""Group commit: pages of several mailboxes in one transaction, each page's link with its own changes."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from analytics.settings import Settings
from analytics.store.records import ActivityIn, ParticipantIn
from graph_sync import leases
from graph_sync.commit import PageJob, Release, commit_jobs
from graph_sync.delta import DeltaState, PageChanges
from graph_sync.errors import LeaseLost
from graph_sync.mailbox import ResourceSpec

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SETTINGS = Settings(secret_key="k")


def _ctx(engine: Engine, tid: str, mailbox: str, owner: str = "me") -> Any:
    return SimpleNamespace(tenant=SimpleNamespace(tenant_id=tid, subject_policy="hash"),
                           mailbox=SimpleNamespace(user_id=mailbox, address=f"{mailbox}@contoso.com"),
                           engine=engine, settings=SETTINGS, owner=owner, clock=lambda: NOW)


def _mail(mailbox: str, source_id: str, imid: str) -> ActivityIn:
    return ActivityIn(mailbox_id=mailbox, resource="messages", source_id=source_id, kind="email", start_at=NOW,
                      direction="outbound", internet_message_id=imid, folder_id="inbox", participants=(
                          ParticipantIn(f"{mailbox}@contoso.com", "from", "internal", user_id=mailbox),
                          ParticipantIn("carol@fabrikam.com", "to", "external")))


def _job(engine: Engine, tid: str, mailbox: str, link: str, activities: list[ActivityIn],
         removed: tuple[str, ...] = ()) -> PageJob:
    upserts = tuple({"id": a.source_id} for a in activities)
    return PageJob(_ctx(engine, tid, mailbox), ResourceSpec("messages:inbox"),
                   DeltaState("https://graph/initial", next_link=link), PageChanges(upserts, removed, (), done=False),
                   activities, None, "delta", (NOW, NOW))


def _state(engine: Engine, tid: str) -> dict[str, tuple[str | None, int]]:
    with engine.connect() as conn:
        return {m: (link, pages) for m, link, pages in conn.execute(text(
            "SELECT mailbox_id, next_link, pages_synced FROM sync_state WHERE tenant_id = :t"), {"t": tid})}


def _imids(engine: Engine, tid: str) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT internet_message_id FROM activity WHERE tenant_id = :t"),
                                {"t": tid}).scalars())


def test_a_lost_lease_fails_only_its_own_page(engine: Engine, tenant_id: str) -> None:
    leases.ensure_rows(engine, tenant_id, [("m1", "messages:inbox"), ("m2", "messages:inbox"),
                                          ("m3", "messages:inbox")])
    assert leases.claim(engine, tenant_id, "m1", "me", NOW, 300) == 1
    assert leases.claim(engine, tenant_id, "m2", "other", NOW, 300) == 1  # not ours
    assert leases.claim(engine, tenant_id, "m3", "me", NOW, 300) == 1
    jobs = [_job(engine, tenant_id, "m1", "l1", [_mail("m1", "a", "<a@x>")]),
            _job(engine, tenant_id, "m2", "l2", [_mail("m2", "b", "<b@x>")]),
            _job(engine, tenant_id, "m3", "l3", [_mail("m3", "c", "<c@x>"), _mail("m3", "d", "<a@x>")])]
    results = commit_jobs(jobs)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], LeaseLost)
    assert _imids(engine, tenant_id) == {"<a@x>", "<c@x>"}
    assert _state(engine, tenant_id) == {"m1": ("l1", 1), "m2": (None, 0), "m3": ("l3", 1)}


def test_pages_with_removals_keep_their_order(engine: Engine, tenant_id: str) -> None:
    leases.ensure_rows(engine, tenant_id, [("m1", "messages:inbox"), ("m2", "messages:inbox")])
    leases.claim(engine, tenant_id, "m1", "me", NOW, 300)
    leases.claim(engine, tenant_id, "m2", "me", NOW, 300)
    add = _job(engine, tenant_id, "m1", "l1", [_mail("m1", "x", "<x@x>")])
    other = _job(engine, tenant_id, "m2", "l2", [_mail("m2", "y", "<y@x>")])
    remove = _job(engine, tenant_id, "m1", "l3", [], removed=("x",))
    assert commit_jobs([add, other, remove]) == [None, None, None]
    assert _imids(engine, tenant_id) == {"<y@x>"}  # added, then removed
    readd = _job(engine, tenant_id, "m1", "l4", [_mail("m1", "x", "<x@x>")])
    assert commit_jobs([remove, readd]) == [None, None]
    assert _imids(engine, tenant_id) == {"<x@x>", "<y@x>"}  # removed (nothing to remove), then added again
    assert _state(engine, tenant_id)["m1"] == ("l4", 4)


def _owners(engine: Engine, tid: str) -> dict[str, str | None]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT mailbox_id, lease_owner FROM sync_state WHERE tenant_id = :t"),
                                 {"t": tid}).all())


def test_releases_ride_in_the_page_transaction_or_their_own(engine: Engine, tenant_id: str) -> None:
    leases.ensure_rows(engine, tenant_id, [(m, "messages:inbox") for m in ("m1", "m2", "m3", "m4")])
    for m, owner in (("m1", "me"), ("m2", "me"), ("m3", "other"), ("m4", "me")):
        leases.claim(engine, tenant_id, m, owner, NOW, 300)
    page = _job(engine, tenant_id, "m1", "l1", [_mail("m1", "a", "<a@x>")])
    # A release of a mailbox that is no longer ours (m3) leaves the other worker's lease alone.
    queued = [Release(engine, tenant_id, "m2", "me"), page, Release(engine, tenant_id, "m3", "me")]
    assert commit_jobs(queued) == [None, None, None]
    assert _owners(engine, tenant_id) == {"m1": "me", "m2": None, "m3": "other", "m4": "me"}
    assert _state(engine, tenant_id)["m1"] == ("l1", 1)
    # A page that fails (lease lost) does not take the release down with it; no page at all: its own transaction.
    lost = _job(engine, tenant_id, "m3", "l3", [_mail("m3", "c", "<c@x>")])
    results = commit_jobs([lost, Release(engine, tenant_id, "m1", "me")])
    assert isinstance(results[0], LeaseLost) and results[1] is None
    assert commit_jobs([Release(engine, tenant_id, "m4", "me")]) == [None]
    assert _owners(engine, tenant_id) == {"m1": None, "m2": None, "m3": "other", "m4": None}
