"""Which mail folders of a mailbox are synced (``sync_all_folders``), and what happens to a folder that went away.

Off (the default): Inbox and Sent Items, ``sync_state.resource`` = ``messages:inbox`` / ``messages:sentitems``.

On: every pass lists the mailbox's folder tree through msgraph-sdk (``/users/{id}/mailFolders``, then each
folder's ``childFolders``, paged) and syncs every folder except those that carry no relationship signal, with
their subfolders:

* Deleted Items — mail the user threw away (a deleted folder lands here too, with its mail);
* Junk Email — spam: senders who are not relationships;
* Drafts and Outbox — not sent yet (a sent message appears in Sent Items; the normaliser skips drafts anyway);
* Conversation History — Skype/Teams chat transcripts, not mail;
* Sync Issues — Outlook's conflict and failure copies of items that live elsewhere (they would double-count);
* search folders (``mailSearchFolder``) — saved queries over other folders: their items live in, and are
  synced from, their real folders.

Those folders are recognised by their well-known names (resolved to ids once per mailbox and worker), never by
display name, which is localised. Inbox and Sent Items keep their resource names; any other folder is
``messages:f<digest of its id>`` (a Graph folder id is ~120 characters, the column holds 64), which is also the
``activity_source.folder_id`` of its messages.

A folder created later is picked up by the next pass's listing (its row is created under the mailbox's lease).
A folder that is no longer listed (deleted, moved under a skipped folder, or every custom folder once the
setting is turned off) is dropped after the mailbox's other message folders completed their rounds: its
``sync_state`` row goes and so do the sightings it still owns. A message that moved out of it was claimed by its
new folder's round first (sightings belong to the folder that last reported them), so it stays, once.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, select

from analytics.store import models
from analytics.store.ingest import dialect_insert, remove_sources
from graph_sync import leases
from graph_sync.client import GraphClient
from graph_sync.errors import GraphError
from graph_sync.leases import ResourceState

if TYPE_CHECKING:
    from graph_sync.mailbox import MailboxContext

log = logging.getLogger(__name__)
SRC = models.table_of(models.ActivitySource)
STATE = models.table_of(models.SyncState)

BASE_FOLDERS = ("inbox", "sentitems")
SKIPPED_FOLDERS = ("deleteditems", "junkemail", "drafts", "outbox", "conversationhistory", "syncissues")
SEARCH_FOLDER_TYPE = "#microsoft.graph.mailSearchFolder"
MAX_FOLDERS = 2000  # a runaway tree (or a server answering in circles) stops here; the rest waits for a later pass


def folder_key(folder_id: str) -> str:
    """The short, stable name of a discovered folder in ``sync_state.resource`` and ``activity_source``."""
    digest = hashlib.sha256(folder_id.encode()).digest()[:15]
    return "f" + base64.b32encode(digest).decode().lower()


def is_message_resource(resource: str) -> bool:
    return resource.startswith("messages:")


@dataclass(frozen=True)
class MailFolder:
    """A folder to sync: its key (``inbox``, ``sentitems`` or :func:`folder_key`) and Graph id."""

    key: str
    folder_id: str
    name: str


class FolderDiscovery:
    """Lists mailboxes' folder trees; remembers each mailbox's well-known folder ids (they never change)."""

    def __init__(self) -> None:
        self._well_known: dict[tuple[str, str], dict[str, str]] = {}

    async def discover(self, client: GraphClient, tenant_id: str, user_id: str) -> list[MailFolder]:
        """The mailbox's folders to sync, Inbox and Sent Items first."""
        known = await self._known_ids(client, tenant_id, user_id)
        names = {known[n]: n for n in BASE_FOLDERS if n in known}
        skipped = {known[n] for n in SKIPPED_FOLDERS if n in known}
        found: list[MailFolder] = []
        level: list[str | None] = [None]
        seen: set[str] = set()
        while level and len(seen) < MAX_FOLDERS:
            pages = await asyncio.gather(*(client.get_collection(client.mail_folders_url(user_id, parent),
                                                                 mailbox=user_id) for parent in level))
            level = []
            for item in (i for page in pages for i in page):
                fid = item.get("id")
                if not isinstance(fid, str) or not fid or fid in seen:
                    continue
                seen.add(fid)
                if fid in skipped or item.get("@odata.type") == SEARCH_FOLDER_TYPE:
                    continue  # and so are its subfolders: they are never listed
                name = str(item.get("displayName") or "")
                found.append(MailFolder(names.get(fid) or folder_key(fid), fid, name))
                count = item.get("childFolderCount")
                if not isinstance(count, int) or count > 0:  # unknown: look
                    level.append(fid)
        # Inbox and Sent Items are synced whatever the listing says (as with the setting off).
        listed = {f.key for f in found}
        base = [MailFolder(n, known.get(n, n), n) for n in BASE_FOLDERS if n not in listed]
        return sorted(base + found, key=lambda f: (f.key not in BASE_FOLDERS, f.key))

    async def _known_ids(self, client: GraphClient, tenant_id: str, user_id: str) -> dict[str, str]:
        cached = self._well_known.get((tenant_id, user_id))
        if cached is not None:
            return cached
        names = (*BASE_FOLDERS, *SKIPPED_FOLDERS)
        answers = await asyncio.gather(*(_folder_id(client, user_id, n) for n in names))
        known = {n: fid for n, fid in zip(names, answers, strict=True) if fid}
        self._well_known[(tenant_id, user_id)] = known
        return known


async def _folder_id(client: GraphClient, user_id: str, name: str) -> str | None:
    try:
        body = await client.get_json(client.mail_folder_url(user_id, name), mailbox=user_id)
    except GraphError as err:
        if err.status == 404:  # a mailbox may lack some default folders (Conversation History, Sync Issues)
            return None
        raise
    fid = body.get("id") if isinstance(body, Mapping) else None
    return fid if isinstance(fid, str) and fid else None


@dataclass
class FolderPlan:
    """What a mailbox's pass syncs: the rows to run (base resources and discovered folders) and the folder rows
    to drop once the message folders completed."""

    run: list[ResourceState]
    vanished: list[ResourceState] = field(default_factory=list)


async def plan_folders(ctx: MailboxContext, states: Sequence[ResourceState], base: Sequence[str],
                       discovery: FolderDiscovery | None) -> FolderPlan:
    """Decide the pass's resources of a claimed mailbox. ``base`` are the resources every mailbox has;
    ``discovery`` is None when ``sync_all_folders`` is off (then every other folder row is dropped)."""
    extra = [s for s in states if s.resource not in base and is_message_resource(s.resource)]
    run = [s for s in states if s.resource in base]
    if discovery is None:
        return FolderPlan(run, extra)
    try:
        found = await discovery.discover(ctx.client, ctx.tenant.tenant_id, ctx.mailbox.user_id)
    except Exception as err:  # the base folders still sync; discovered folders wait for a listing that works
        log.warning("mail folder listing failed tenant=%s mailbox=%s: %s: %s", ctx.tenant.tenant_id,
                    ctx.mailbox.user_id, type(err).__name__, err)
        return FolderPlan(run)
    wanted = {f"messages:{f.key}": f for f in found if f.key not in BASE_FOLDERS}
    ctx.folder_ids.update((f.key, f.folder_id) for f in wanted.values())
    have = {s.resource for s in states}
    new = sorted(r for r in wanted if r not in have)
    if new:
        try:
            created = await asyncio.get_running_loop().run_in_executor(ctx.db, _create_rows, ctx, new)
        except Exception as err:  # the lease is gone or the store refused: the known folders still sync
            log.warning("new mail folders not added tenant=%s mailbox=%s: %s: %s", ctx.tenant.tenant_id,
                        ctx.mailbox.user_id, type(err).__name__, err)
            created = []
        states = [*states, *created]
    run += [s for s in states if s.resource in wanted]
    return FolderPlan(run, [s for s in extra if s.resource not in wanted])


def _create_rows(ctx: MailboxContext, resources: Sequence[str]) -> list[ResourceState]:
    """New folders' rows, leased to us in the same transaction that checks the lease is still ours."""
    tid, mid = ctx.tenant.tenant_id, ctx.mailbox.user_id
    expires = ctx.clock() + timedelta(seconds=ctx.settings.sync_lease_seconds)
    with ctx.engine.begin() as conn:
        leases.renew(conn, tid, mid, resources[0], ctx.owner, ctx.lease_rows, expires)
        conn.execute(dialect_insert(conn, STATE).on_conflict_do_nothing(
            index_elements=["tenant_id", "mailbox_id", "resource"]),
            [{"tenant_id": tid, "mailbox_id": mid, "resource": r, "lease_owner": ctx.owner,
              "lease_expires_at": expires} for r in resources])
        rows = leases.load_states(conn, tid, mid)
    ctx.lease_rows = len(rows)
    return [s for s in rows if s.resource in set(resources)]


async def drop_vanished(ctx: MailboxContext, plan: FolderPlan, completed: set[str]) -> int:
    """Drop the folder rows of ``plan.vanished`` and the sightings they still own, once every message folder of
    the pass completed its round (``completed``: the resources that did). One that did not may still have to
    claim messages moved out of a vanished folder, so the drop waits for a pass where all completed. Returns the
    number of sightings removed."""
    if not plan.vanished:
        return 0
    if any(is_message_resource(s.resource) and s.resource not in completed for s in plan.run):
        return 0
    try:
        removed: int = await asyncio.get_running_loop().run_in_executor(ctx.db, _drop, ctx, plan.vanished)
    except Exception as err:  # rolled back as a whole: the next pass decides again
        log.warning("vanished mail folders not dropped tenant=%s mailbox=%s: %s: %s", ctx.tenant.tenant_id,
                    ctx.mailbox.user_id, type(err).__name__, err)
        return 0
    return removed


def _drop(ctx: MailboxContext, vanished: Sequence[ResourceState]) -> int:
    tid, mid = ctx.tenant.tenant_id, ctx.mailbox.user_id
    expires = ctx.clock() + timedelta(seconds=ctx.settings.sync_lease_seconds)
    removed = 0
    with ctx.engine.begin() as conn:
        leases.renew(conn, tid, mid, vanished[0].resource, ctx.owner, ctx.lease_rows, expires)
        for row in vanished:
            removed += _drop_folder(conn, tid, mid, row.resource)
    ctx.lease_rows -= len(vanished)
    log.info("dropped %d vanished mail folders tenant=%s mailbox=%s sightings=%d", len(vanished), tid, mid, removed)
    return removed


def _drop_folder(conn: Connection, tid: str, mid: str, resource: str) -> int:
    folder = resource.partition(":")[2]
    owned = list(conn.execute(select(SRC.c.source_id).where(
        SRC.c.tenant_id == tid, SRC.c.mailbox_id == mid, SRC.c.resource == "messages",
        SRC.c.folder_id == folder)).scalars())
    result = remove_sources(conn, tid, mid, owned) if owned else None
    conn.execute(delete(STATE).where(STATE.c.tenant_id == tid, STATE.c.mailbox_id == mid,
                                     STATE.c.resource == resource))
    return result.sources_removed if result is not None else 0
