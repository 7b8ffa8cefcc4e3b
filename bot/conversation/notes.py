"""Notes → suggestion cards → Graph writes: a pasted note (or ``note …``) becomes one card per suggestion.

The analyzer (:class:`analytics.nlp.analyzer.NoteAnalyzer`, built once in the composition root) finds the
suggestions; each meeting or call card creates a calendar event, each task, content request or issue card a
Microsoft To Do task, each contact card an Outlook contact, through :class:`bot.ports.GraphWrites` — with the
user's delegated token when the invoke carried a Teams SSO token (``Inbound.sso_token``), else with application
permission.

Idempotency: the key of a suggestion is derived from the tenant, the user, the note and the suggestion's place
in it, and is part of the signed action data, so pressing a button twice (or Teams retrying the invoke)
creates one event (Graph's ``transactionId``), one task (our linked-resource key) or one contact (our
extended-property key).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from analytics.nlp.suggestions import NoteAnalysis, analysis_to_dict
from analytics.query import KnownPerson
from analytics.views import TargetRef
from bot.cards import notes as cards
from bot.conversation.commands import Command, CommandContext, patterns
from bot.conversation.i18n import t
from bot.conversation.model import ActionResult, Lang, Principal, Reply
from bot.conversation.service import ActionContext, ActionHandler
from bot.errors import WriteFailed
from bot.ports import Access, ContactDraft, EventDraft, GraphWrites, KnownPeople, TaskDraft
from graph_sync.timezones import zone_or_default

MAX_CARDS = 5  # suggestions shown per note (strongest first, then in text order)
MIN_IMPLICIT_LENGTH = 12  # unmatched text shorter than this is not analysed as a note
DEFAULT_MINUTES = 30
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
EVENT_KINDS = frozenset({"meeting", "call"})
TASK_KINDS = frozenset({"task", "content_request", "issue"})


class NoteAnalyzerPort(Protocol):
    """What the notes feature needs from :class:`analytics.nlp.analyzer.NoteAnalyzer`."""

    def analyze(self, text: str, *, now: datetime, tz: str, lang: str = "auto") -> NoteAnalysis:
        """Suggestions for ``text`` as of ``now`` in zone ``tz``."""
        ...


def zone_name(principal: Principal) -> str:
    """The user's IANA zone, or UTC when unknown (mailbox settings hold a Windows zone name or an IANA one)."""
    return zone_or_default(principal.time_zone, "UTC")


def suggestion_key(principal: Principal, note: str, index: int, kind: str) -> str:
    """A UUID-shaped idempotency key for one suggestion of one note, for one user of one tenant."""
    material = "\x1f".join((principal.tenant_id, principal.user_id, note, str(index), kind)).encode("utf-8")
    return str(uuid.UUID(bytes=hashlib.sha256(material).digest()[:16]))


@dataclass
class NotesFeature:
    """The ``note`` command, the pasted-note fallback and the ``notes.event`` / ``notes.task`` / ``notes.contact``
    actions."""

    analyzer: NoteAnalyzerPort
    writes: GraphWrites | None  # None: suggestions are shown without create buttons
    sso_connection: str | None = None  # set: a press without the user's SSO token first asks Teams for it
    people: KnownPeople | None = None  # known contacts prefill names, companies and attendees' addresses
    access: Access | None = None  # whose address a name may be resolved to (without it, names are not resolved)

    def commands(self) -> list[Command]:
        return [Command("note", {"en": t("help_note", "en"), "zh": t("help_note", "zh")}, patterns(
            r"(?:note|notes|meeting notes)\s*[:：]?\s+(?P<note>.+)",
            r"(?:笔记|记录|会议记录)\s*[:：]?\s*(?P<note>.+)",
        ), self._explicit, match_whole_text=True)]

    def fallback(self) -> Command:
        """Unmatched text is analysed as a pasted note; no suggestion → the caller shows help."""
        return Command("pasted_note", {}, (), self._implicit)

    def actions(self) -> dict[str, ActionHandler]:
        if self.writes is None:
            return {}
        return {"notes.event": self._create_event, "notes.task": self._create_task,
                "notes.contact": self._create_contact}

    # --- commands ----------------------------------------------------------------------------------------------

    async def _explicit(self, ctx: CommandContext) -> Sequence[Reply]:
        replies = await self._suggest(ctx, ctx.args.get("note", "") or ctx.text)
        return replies or [Reply(text=t("note_nothing", ctx.lang))]

    async def _implicit(self, ctx: CommandContext) -> Sequence[Reply]:
        if len(ctx.text) < MIN_IMPLICIT_LENGTH:
            return []
        return await self._suggest(ctx, ctx.text)

    async def _suggest(self, ctx: CommandContext, note: str) -> list[Reply]:
        tz = zone_name(ctx.principal)
        analysis = await asyncio.to_thread(self.analyzer.analyze, note, now=ctx.now, tz=tz)
        data = analysis_to_dict(analysis)
        indexed = _one_task_per_clause(list(enumerate(data["suggestions"])))
        shown = sorted(sorted(indexed, key=lambda p: -float(p[1]["confidence"]))[:MAX_CARDS], key=lambda p: p[0])
        emails = [(e["span"]["start"], e["span"]["text"]) for e in data["entities"] if e["label"] == "EMAIL"]
        known = await self._known(ctx, data)
        replies = []
        for index, s in shown:
            form = _form_of(s, _attendee_emails(s, emails, note), tz)
            evidence = _prefill(s, form, known, ctx.lang)
            key = suggestion_key(ctx.principal, note, index, s["kind"])
            args: dict[str, Any] = {"key": key, "kind": s["kind"], "tz": tz, "quote": _quote(s)}
            if evidence:
                args["evidence"] = evidence
            if s["kind"] == "contact" and _known_contact(form, known):
                args["known"] = True
            verb = _verb_of(s["kind"]) if self.writes is not None else None
            replies.append(Reply(card=cards.render_suggestion(
                s["kind"], form, args["quote"], ctx.lang, action=(verb, ctx.sign(verb, args)) if verb else None,
                confidence=float(s["confidence"]), evidence=evidence, known=bool(args.get("known")))))
        return replies

    async def _known(self, ctx: CommandContext, data: dict[str, Any]) -> KnownIndex:
        """The note's people the store knows: by address (the user wrote it), and by name when exactly one contact
        has that name and the user may see that contact's relationship (a name must not reveal an address the
        sharing rules hide)."""
        if self.people is None:
            return KnownIndex({}, {})
        emails = list(dict.fromkeys(str(e["span"]["text"]).lower() for e in data["entities"]
                                    if e["label"] == "EMAIL"))
        names = list(dict.fromkeys(str(e["span"]["text"]) for e in data["entities"] if e["label"] == "PERSON"))
        if not emails and not names:
            return KnownIndex({}, {})
        found = await asyncio.to_thread(self.people.known_people, ctx.principal.tenant_id, emails, names)
        by_email = {p.email.lower(): p for p in found if p.email.lower() in emails}
        by_name: dict[str, KnownPerson] = {}
        for name in names:
            same = [p for p in found if p.name and " ".join(p.name.split()).lower() == " ".join(name.split()).lower()]
            if len(same) == 1 and self.access is not None and await asyncio.to_thread(
                    self.access.may_see, ctx.principal.tenant_id, TargetRef("contact", same[0].email, name),
                    ctx.principal.visible_user_ids):
                by_name[" ".join(name.split()).lower()] = same[0]
        return KnownIndex(by_email, by_name)

    # --- actions -----------------------------------------------------------------------------------------------

    async def _create_event(self, ctx: ActionContext) -> ActionResult:
        assert self.writes is not None
        if (login := self._sign_in(ctx)) is not None:
            return login
        args, form = ctx.args, {**ctx.inputs}
        kind = str(args.get("kind", "meeting"))
        try:
            day = date.fromisoformat(form.get("date", ""))
            at = time.fromisoformat(form.get("time", "") or "09:00")
            minutes = int(float(form.get("duration", "") or DEFAULT_MINUTES))
        except ValueError:
            return self._again(ctx, "notes.event", t("note_bad_when", ctx.lang))
        minutes = min(max(minutes, 5), 24 * 60)
        title = (form.get("title") or "").strip()[:255] or t(f"kind_{kind}", ctx.lang)
        start = datetime.combine(day, at)
        attendees = tuple(dict.fromkeys(a.lower() for a in _EMAIL.findall(form.get("attendees", ""))))[:20]
        draft = EventDraft(title, start, start + timedelta(minutes=minutes), str(args.get("tz", "UTC")),
                           attendees, t("note_body", ctx.lang, quote=str(args.get("quote", ""))),
                           str(args["key"]))
        try:
            made = await self.writes.create_event(ctx.principal.tenant_id, ctx.principal.user_id, draft,
                                                  user_assertion=ctx.inbound.sso_token)
        except WriteFailed as err:
            return self._again(ctx, "notes.event", t("note_write_failed", ctx.lang, status=err.status or "–"))
        when = t("aside", ctx.lang, value=f"{day.isoformat()} {at.strftime('%H:%M')}",
                 detail=t("zone_minutes", ctx.lang, zone=draft.time_zone, minutes=minutes))
        return ActionResult(card=cards.render_created(made, when, attendees, ctx.lang))

    async def _create_task(self, ctx: ActionContext) -> ActionResult:
        assert self.writes is not None
        if (login := self._sign_in(ctx)) is not None:
            return login
        args, form = ctx.args, {**ctx.inputs}
        kind = str(args.get("kind", "task"))
        try:
            due = date.fromisoformat(form["due"]) if form.get("due") else None
        except ValueError:
            return self._again(ctx, "notes.task", t("note_bad_when", ctx.lang))
        title = (form.get("title") or "").strip()[:255] or t(f"kind_{kind}", ctx.lang)
        draft = TaskDraft(title, due, str(args.get("tz", "UTC")),
                          t("note_body", ctx.lang, quote=str(args.get("quote", ""))), str(args["key"]))
        try:
            made = await self.writes.create_task(ctx.principal.tenant_id, ctx.principal.user_id, draft,
                                                 user_assertion=ctx.inbound.sso_token)
        except WriteFailed as err:
            return self._again(ctx, "notes.task", t("note_write_failed", ctx.lang, status=err.status or "–"))
        when = due.isoformat() if due else t("none", ctx.lang)
        return ActionResult(card=cards.render_created(made, when, (), ctx.lang))

    async def _create_contact(self, ctx: ActionContext) -> ActionResult:
        assert self.writes is not None
        if (login := self._sign_in(ctx)) is not None:
            return login
        form = {k: str(v).strip() for k, v in ctx.inputs.items()}
        name = form.get("name", "")[:200]
        email = form.get("email", "")[:254]
        if not name or (email and _EMAIL.fullmatch(email) is None):
            return self._again(ctx, "notes.contact", t("note_bad_contact", ctx.lang))
        draft = ContactDraft(name, email or None, form.get("phone", "")[:64] or None,
                             form.get("job_title", "")[:128] or None, form.get("company", "")[:128] or None,
                             str(ctx.args["key"]))
        try:
            made = await self.writes.create_contact(ctx.principal.tenant_id, ctx.principal.user_id, draft,
                                                    user_assertion=ctx.inbound.sso_token)
        except WriteFailed as err:
            return self._again(ctx, "notes.contact", t("note_write_failed", ctx.lang, status=err.status or "–"))
        details = [(t(label, ctx.lang), value) for label, value in (
            ("field_email", draft.email), ("field_phone", draft.phone), ("field_job_title", draft.job_title),
            ("field_company", draft.company)) if value]
        return ActionResult(card=cards.render_created(made, "", (), ctx.lang, details=details))

    def _sign_in(self, ctx: ActionContext) -> ActionResult | None:
        """Teams SSO for Universal Actions: without the user's token, answer with a login request (Teams gets the
        token silently and presses again with it in ``authentication``)."""
        if self.sso_connection and not ctx.inbound.sso_token:
            return ActionResult(login=(self.sso_connection, t("sign_in", ctx.lang)), status=401)
        return None

    def _again(self, ctx: ActionContext, verb: str, error: str) -> ActionResult:
        """The same form, as the user left it, with the error above the button (the action is re-signed)."""
        kind = str(ctx.args.get("kind", "task"))
        evidence = [str(e) for e in ctx.args.get("evidence") or [] if isinstance(e, str)]
        return ActionResult(card=cards.render_suggestion(
            kind, dict(ctx.inputs), str(ctx.args.get("quote", "")), ctx.lang,
            action=(verb, ctx.sign(verb, dict(ctx.args))), error=error, evidence=evidence,
            known=bool(ctx.args.get("known"))))


@dataclass(frozen=True)
class KnownIndex:
    """Known contacts of one note: by lower-case address, and by (lower-case, single-spaced) name."""

    by_email: dict[str, KnownPerson]
    by_name: dict[str, KnownPerson]

    def of_name(self, name: str) -> KnownPerson | None:
        return self.by_name.get(" ".join(name.split()).lower())


def _known_contact(form: dict[str, str], known: KnownIndex) -> bool:
    return bool(known.by_email.get(form.get("email", "").lower()) or known.of_name(form.get("name", "")))


def _prefill(s: dict[str, Any], form: dict[str, str], known: KnownIndex, lang: Lang) -> list[str]:
    """Fill what the note left out from what Rapport knows (in place) and say what was filled or inferred.

    A contact: the display name and company of the contact with its address (or of the one contact with its
    name, then the address too). A meeting or call: the address of an attendee named without one."""
    evidence: list[str] = []
    if s["kind"] == "contact":
        person = known.by_email.get(form.get("email", "").lower()) or known.of_name(form.get("name", ""))
        if person is None:
            return evidence
        form["name"] = form.get("name") or person.name or ""
        form["email"] = form.get("email") or person.email
        form["company"] = form.get("company") or person.company or ""
        who = person.name or person.email
        evidence.append(t("note_contact_known", lang,
                          who=t("aside", lang, value=who, detail=person.company) if person.company else who))
        return evidence
    if s["kind"] not in EVENT_KINDS:
        return evidence
    attendees = [str(a) for a in s.get("attendees") or []]
    if s.get("attendees_inferred") and attendees:
        evidence.append(t("note_attendee_inferred", lang, who=", ".join(attendees)))
    if not form.get("attendees"):
        form["attendees"] = ", ".join(dict.fromkeys(str(e) for e in s.get("attendee_emails") or []))
    if form["attendees"]:
        return evidence  # the note gave addresses: a name is not resolved to a second, possibly different one
    have: set[str] = set()
    added = []
    for name in attendees:
        person = known.of_name(name)
        if person is not None and person.email.lower() not in have:
            have.add(person.email.lower())
            added.append(person)
    if added:
        form["attendees"] = ", ".join(p.email for p in added)
        evidence.append(t("note_attendee_known", lang, who=", ".join(f"{p.name} → {p.email}" for p in added)))
    return evidence


def _one_task_per_clause(indexed: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, dict[str, Any]]]:
    """A task and a content request from the same clause would make the same To Do task: keep the surer one."""
    best: dict[tuple[int, int], tuple[int, dict[str, Any]]] = {}
    kept: list[tuple[int, dict[str, Any]]] = []
    for index, s in indexed:
        if s["kind"] not in TASK_KINDS or not s.get("spans"):
            kept.append((index, s))
            continue
        clause = (int(s["spans"][0]["start"]), int(s["spans"][0]["end"]))
        if clause not in best or float(s["confidence"]) > float(best[clause][1]["confidence"]):
            best[clause] = (index, s)
    return sorted(kept + list(best.values()), key=lambda p: p[0])


def _verb_of(kind: str) -> str | None:
    if kind in EVENT_KINDS:
        return "notes.event"
    if kind in TASK_KINDS:
        return "notes.task"
    if kind == "contact":
        return "notes.contact"
    return None


def _quote(s: dict[str, Any]) -> str:
    spans = s.get("spans") or []
    return str(spans[0]["text"]).strip()[:300] if spans else ""


_SENTENCE_END = re.compile(r"[.!?;](?=\s|$)|[。！？；\n]")  # not the dots of an address or a number


def _attendee_emails(s: dict[str, Any], emails: Sequence[tuple[int, str]], note: str) -> list[str]:
    """The email addresses a meeting or call suggestion is with: those in its own clause, else those in the rest
    of its sentence. A sentence of several actions is split into clauses ("call with kwame@…, send the proposal by
    Friday and meet again next Tuesday"): the meeting is with the person the sentence named earlier."""
    spans = s.get("spans") or []
    if not spans:
        return []
    start, end = int(spans[0]["start"]), int(spans[0]["end"])
    own = [e for at, e in emails if start <= at < end]
    if own or s["kind"] not in EVENT_KINDS:
        return own
    ends = [m.start() for m in _SENTENCE_END.finditer(note)]
    first = max((i + 1 for i in ends if i < start), default=0)
    last = min((i for i in ends if i >= end), default=len(note))
    return [e for at, e in emails if first <= at < last]


def _form_of(s: dict[str, Any], emails: Sequence[str], tz: str) -> dict[str, str]:
    """The editable fields' initial values (strings, as Adaptive Card inputs hold them); ``emails``: the
    suggestion's attendees (:func:`_attendee_emails`)."""
    form = {"title": str(s.get("title") or "")[:255]}
    if s["kind"] in EVENT_KINDS:
        start = datetime.fromisoformat(s["start"]) if s.get("start") else None
        form["date"] = start.date().isoformat() if start else ""
        # A date without a time resolves to midnight: leave the time for the user rather than book 00:00.
        form["time"] = start.strftime("%H:%M") if start and start.time() != time(0, 0) else ""
        form["duration"] = str(s.get("duration") or DEFAULT_MINUTES)
        form["attendees"] = ", ".join(dict.fromkeys(emails))
    elif s["kind"] in TASK_KINDS:
        due = s.get("due") or s.get("start")
        form["due"] = datetime.fromisoformat(due).date().isoformat() if due else ""
    elif s["kind"] == "contact":
        c = s.get("contact") or {}
        form = {"name": str(c.get("name") or "")[:200], "email": str(c.get("email") or "")[:254],
                "phone": str(c.get("phone") or "")[:64], "job_title": str(c.get("title") or "")[:128],
                "company": str(c.get("company") or "")[:128]}
    return form
