"""How fast the Graph emulator serves 1,000-message delta pages, against what a sync can consume.

Serves one mailbox of ``MESSAGES`` messages and runs full initial delta rounds with
``Prefer: odata.maxpagesize=1000`` and no latency, with a client that only fetches each page and
``json.loads`` it: over the aiohttp socket (the figure that bounds a sync benchmark) and over
``httpx.MockTransport``. The baseline, measured in the same run, is a stand-in for a sync's consumption rate:
parse the same pages and insert one row per message into SQLite (PLATFORM.md measures the real sync's
floor at about that cost); the sync worker's own benchmark reports the real figure.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import httpx

from graph_sync.emulator import EmulatorConfig, EmulatorState, serve_emulator

MESSAGES = 20_000
ROUNDS = 2
PAGE = 1000
TENANT = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
USER = "a1a1a1a1-0000-4000-8000-000000000001"
HEADERS = {"Prefer": f'odata.maxpagesize={PAGE}, IdType="ImmutableId"'}


def write_tenant(directory: Path) -> None:
    """One user with ``MESSAGES`` inbox messages of realistic metadata size."""
    (directory / "mail").mkdir(parents=True)
    (directory / "organization.json").write_text(json.dumps({"id": TENANT, "displayName": "Bench"}))
    (directory / "users.jsonl").write_text(json.dumps({"id": USER, "displayName": "Bench User",
                                                       "mail": "bench@contoso.example",
                                                       "userPrincipalName": "bench@contoso.example"}) + "\n")
    with (directory / "mail" / f"{USER}.jsonl").open("w") as out:
        for n in range(MESSAGES):
            who = {"emailAddress": {"name": f"Customer {n % 500}", "address": f"c{n % 500}@fabrikam.example"}}
            stamp = f"2026-0{1 + n % 9}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z"
            out.write(json.dumps({
                "id": f"AAMkAGI2TG93AAA{n:012d}=", "internetMessageId": f"<{n}.CAF=x@mail.fabrikam.example>",
                "conversationId": f"AAQkAGI2TG93conv{n // 4:010d}=", "subject": f"Re: proposal for quarter {n}",
                "from": who, "sender": who, "toRecipients": [{"emailAddress": {"name": "Bench User",
                                                                               "address": "bench@contoso.example"}}],
                "ccRecipients": [], "bccRecipients": [], "replyTo": [], "sentDateTime": stamp,
                "receivedDateTime": stamp, "createdDateTime": stamp, "lastModifiedDateTime": stamp,
                "isRead": n % 3 == 0, "isDraft": False, "importance": "normal",
                "inferenceClassification": "focused", "hasAttachments": False, "categories": [],
                "parentFolderId": "inbox"}) + "\n")


async def _token(client: httpx.AsyncClient, state: EmulatorState, base: str) -> str:
    app = state.register_app()
    answer = await client.post(f"{base}/{TENANT}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": app.client_id, "client_secret": app.client_secret,
        "scope": "https://graph.microsoft.com/.default"})
    return str(answer.json()["access_token"])


async def _rounds(client: httpx.AsyncClient, start_url: str, parse: bool = True) -> tuple[int, float, list[bytes]]:
    """Run ``ROUNDS`` full initial delta rounds; return pages fetched, seconds taken and the last round's pages."""
    pages = 0
    kept: list[bytes] = []
    started = time.perf_counter()
    for _ in range(ROUNDS):
        kept = []
        url: str | None = start_url
        while url:
            raw = (await client.get(url, headers=HEADERS)).content
            kept.append(raw)
            pages += 1
            if parse:
                url = json.loads(raw).get("@odata.nextLink")
            else:  # find the link without parsing: it is the last property of the page
                tail = raw[raw.rfind(b'"@odata.'):]
                url = json.loads(b"{" + tail)["@odata.nextLink"] if tail.startswith(b'"@odata.nextLink"') else None
    return pages, time.perf_counter() - started, kept


def consume_rate(pages: list[bytes]) -> float:
    """Baseline: pages/s a minimal sync spends per page (``json.loads`` + one SQLite row per message)."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, graph_id TEXT, imid TEXT, subject TEXT, sender TEXT, at TEXT)")
    db.execute("CREATE INDEX m_imid ON m (imid)")
    started = time.perf_counter()
    for raw in pages:
        items = json.loads(raw)["value"]
        db.executemany("INSERT INTO m (graph_id, imid, subject, sender, at) VALUES (?, ?, ?, ?, ?)",
                       [(i["id"], i["internetMessageId"], i["subject"], i["from"]["emailAddress"]["address"],
                         i["receivedDateTime"]) for i in items])
        db.commit()
    return len(pages) / (time.perf_counter() - started)


async def measure(state: EmulatorState) -> dict[str, float]:
    """Pages/s over the socket (fetch only; fetch + json.loads) and over MockTransport, and the baseline."""
    path = f"/v1.0/users/{USER}/mailFolders/inbox/messages/delta()"
    out: dict[str, float] = {}
    async with serve_emulator(state) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
        client.headers["Authorization"] = "Bearer " + await _token(client, state, base)
        await _rounds(client, base + path)  # warm the per-item JSON cache, as a sync's first round does
        pages, seconds, _ = await _rounds(client, base + path, parse=False)
        out["socket_fetch"] = pages / seconds
        pages, seconds, kept = await _rounds(client, base + path)
        out["socket"] = pages / seconds
    mock = httpx.AsyncClient(transport=state.mock_transport(), base_url="https://graph.microsoft.com")
    mock.headers["Authorization"] = "Bearer " + await _token(mock, state, "https://login.microsoftonline.com")
    pages, seconds, _ = await _rounds(mock, "https://graph.microsoft.com" + path)
    out["mock"] = pages / seconds
    await mock.aclose()
    out["baseline"] = consume_rate(kept)
    return out


def main(argv: list[str]) -> int:
    """Print pages/s served and the ratio to the consumption baseline; exit 1 when below 5x."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        write_tenant(Path(tmp))
        state = EmulatorState.from_directory(tmp, EmulatorConfig(mailbox_budget=10**9))
        print(f"tenant: {MESSAGES:,} messages written and loaded in {time.perf_counter() - started:.1f} s; "
              f"{ROUNDS} full delta rounds of {MESSAGES // PAGE} pages x {PAGE} messages per figure")
        rates = asyncio.run(measure(state))
    print(f"aiohttp socket, fetch only:              {rates['socket_fetch']:8.1f} pages/s "
          f"({rates['socket_fetch'] * PAGE:,.0f} messages/s)")
    print(f"aiohttp socket, fetch + json.loads:      {rates['socket']:8.1f} pages/s")
    print(f"httpx.MockTransport, fetch + json.loads: {rates['mock']:8.1f} pages/s")
    print(f"baseline, json.loads + SQLite insert:    {rates['baseline']:8.1f} pages/s (a minimal sync's consumption)")
    serve_ratio = rates["socket_fetch"] / rates["baseline"]
    print(f"ratio served (fetch only) / baseline:    {serve_ratio:.1f}x (target >= 5x)")
    print(f"ratio fetch+json.loads / baseline:       {rates['socket'] / rates['baseline']:.1f}x "
          "(both sides pay json.loads here)")
    return 0 if serve_ratio >= 5 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
