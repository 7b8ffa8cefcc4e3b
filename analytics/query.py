"""The relationship query API: what the bot, the CLI and digests call. Returns :mod:`analytics.views`.

:class:`RelationshipQueries` composes the store queries (:mod:`analytics.store.queries_relationships`) with the
pure analytics (:mod:`analytics.relationships`). Every method takes ``now`` explicitly (no clock read here) and
opens one short read-only connection.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from analytics.domains import FREE_MAIL_DOMAINS, is_free_mail_domain
from analytics.relationships import health as health_math
from analytics.relationships import who_knows as wk
from analytics.relationships.config import HealthConfig, health_config
from analytics.relationships.errors import AmbiguousTarget, TargetNotFound
from analytics.relationships.kpis import RecordPeople, compute_kpis
from analytics.settings import Settings
from analytics.store import queries_relationships as q
from analytics.stored_views import current_view
from analytics.stored_who_knows import colleague_views, current_answer, excluded_fingerprint
from analytics.views import (
    AccountSummary,
    ColleagueView,
    FactorView,
    HealthPoint,
    HealthView,
    IntroPathView,
    KpiView,
    LeadSummary,
    MyRecordsView,
    OpportunitySummary,
    TargetRef,
    WhoKnowsView,
)

CLOSED_LEAD = frozenset({"qualified", "disqualified", "closed"})
CLOSED_OPPORTUNITY = frozenset({"won", "lost", "closed"})
LOOKAHEAD_DAYS = 365  # how far ahead "next interaction" looks
TWO_HOP_CANDIDATES = 50  # people linked to the target whose colleagues we look up
SAME_COMPANY_CANDIDATES = 200


class PersonalMailDomain(TargetNotFound):
    """A free-mail provider's domain (gmail.com, qq.com, …) asked about as if it were a company: its addresses
    belong to people with nothing in common, so neither its "health" nor who knows it means anything."""

    def __init__(self, text: str, domain: str) -> None:
        super().__init__(text)
        self.domain = domain
        self.args = (f"{domain} is a personal e-mail provider, not a company: ask about a person's address "
                     f"(name@{domain}) instead",)


class AmbiguousRecordName(AmbiguousTarget):
    """A name that several leads or opportunities go by; ``candidates`` are ``kind:ID`` with their labels."""

    def __init__(self, text: str, candidates: tuple[tuple[str, str], ...]) -> None:
        super().__init__(text, candidates)
        names = ", ".join(f"{label} ({ref})" for ref, label in candidates[:5])
        self.args = (f"{text!r} matches several records: {names}",)


class AmbiguousRecord(AmbiguousTarget):
    """A bare record id that is both a lead's and an opportunity's; ``candidates`` are ``lead:ID`` and
    ``opportunity:ID`` with their labels."""

    def __init__(self, text: str, record_id: str, candidates: tuple[tuple[str, str], ...]) -> None:
        super().__init__(text, candidates)
        self.record_id = record_id
        self.args = (f"{record_id!r} is both a lead and an opportunity: say lead:{record_id} or "
                     f"opportunity:{record_id}",)


@dataclass(frozen=True, slots=True)
class KnownPerson:
    """A contact the store knows (for prefilling a note's contact and attendees): the address, the display name
    when mail gave one, and the name of their account (explicit link, else the account owning their domain)."""

    email: str
    name: str | None
    company: str | None


MAX_KNOWN_LOOKUPS = 10  # addresses and names looked up per note


@dataclass(frozen=True, slots=True)
class Scope:
    """The people a target covers: customer contacts and (for CRM records) our people on it."""

    target: TargetRef
    record_type: str  # contact | domain | account | lead | opportunity (the health expected-frequency key)
    contacts: tuple[q.ContactRow, ...]
    user_ids: frozenset[str] | None

    @property
    def people(self) -> RecordPeople:
        return RecordPeople(frozenset(c.contact_id for c in self.contacts), self.user_ids)


def daily_counts(rows: Iterable[q.RollupRow], user_ids: frozenset[str] | None) -> list[health_math.DayCount]:
    """Rollup rows summed per (day, kind) over the record's people."""
    acc: dict[tuple[date, str], list[int]] = {}
    for r in rows:
        if user_ids is not None and r.user_id not in user_ids:
            continue
        a = acc.setdefault((r.day, r.kind), [0, 0])
        a[0] += r.from_us
        a[1] += r.from_them
    return [health_math.DayCount(d, k, us, them) for (d, k), (us, them) in sorted(acc.items())]


class RelationshipQueries:
    """Health, KPIs, who-knows-whom and "my records" for one deployment."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    # --- targets -------------------------------------------------------------------------------------------

    def resolve_target(self, tenant_id: str, text: str) -> TargetRef:
        """An email address, a domain, an account name (or ``lead:ID`` / ``opportunity:ID``) as a target.

        Raises :class:`TargetNotFound`, or :class:`AmbiguousTarget` with candidates when a name is ambiguous.
        """
        with self.engine.connect() as conn:
            return self._resolve(conn, tenant_id, text)

    def _resolve(self, conn: Connection, tenant_id: str, text: str) -> TargetRef:
        raw = text.strip()
        low = raw.lower()
        for prefix, kind in (("lead:", "lead"), ("opportunity:", "opportunity")):
            if low.startswith(prefix):
                record_id = raw[len(prefix):].strip()
                rec = q.lead(conn, tenant_id, record_id) if kind == "lead" else q.opportunity(
                    conn, tenant_id, record_id)
                if rec is not None:
                    return self._record_ref(conn, tenant_id, rec)
                named = self._record_by_name(conn, tenant_id, text, record_id, (kind,))
                if named is None:
                    raise TargetNotFound(text)
                return named
        if "@" in low.removeprefix("@"):  # an address; "@fabrikam.com" is a domain, read below
            contact = q.contact_by_email(conn, tenant_id, low)
            if contact is None:
                raise TargetNotFound(text)
            return TargetRef("contact", contact.email, contact.display_name or contact.email)
        if "." in low and " " not in low:
            domain = low.removeprefix("@")
            if is_free_mail_domain(domain):  # checked first: no account or domain answer is meaningful
                raise PersonalMailDomain(text, domain)
            account_id = q.account_of_domain(conn, tenant_id, domain)
            if account_id is not None:
                acc = q.account(conn, tenant_id, account_id)
                if acc is not None:
                    return TargetRef("account", acc.account_id, acc.name)
            if q.contacts_of_domain(conn, tenant_id, domain):
                return TargetRef("domain", domain, domain)
        if raw and " " not in raw:  # a bare record id: an exact id is more specific than a name containing it
            found = self._record_by_id(conn, tenant_id, text, raw)
            if found is not None:
                return found
        matches = sorted(q.accounts_by_name(conn, tenant_id, raw), key=lambda m: (m.name.lower(), m.account_id))
        if len(matches) == 1:
            return TargetRef("account", matches[0].account_id, matches[0].name)
        if len(matches) > 1:  # every candidate: the asker is told how many more there are than those shown
            raise AmbiguousTarget(text, tuple((m.account_id, m.name) for m in matches))
        named = self._record_by_name(conn, tenant_id, text, raw, ("lead", "opportunity"))
        if named is not None:
            return named
        raise TargetNotFound(text)

    def _record_by_name(self, conn: Connection, tenant_id: str, text: str, name: str,
                        kinds: Sequence[str]) -> TargetRef | None:
        """The lead or opportunity called ``name`` as the cards label it ("Pioneer Analytics - Platform Q3 2026",
        "Marco Moreau (Pioneer Analytics)", or the lead's "Marco Moreau" alone): the records whose label equals it
        (case-insensitively), else those whose label contains it; :class:`AmbiguousRecordName` for several.
        Reps read these names in their lists and ask by them, not by the CRM's ids."""
        needle = " ".join(name.split()).casefold()
        # "ab" is in too many names to mean one; two Chinese characters are a whole name (李娜)
        if len(needle) < (2 if any("\u4e00" <= c <= "\u9fff" for c in needle) else 3):
            return None
        person = needle.rsplit(" (", 1)[0] if needle.endswith(")") else needle  # "name (company)" → "name"
        emails = q.contact_emails_named(conn, tenant_id, person) if "lead" in kinds else set()
        found: list[tuple[q.CrmRecordRow, str]] = []
        for kind in kinds:
            rows = q.crm_records_named(conn, tenant_id, kind, needle, emails)
            labels = record_labels(conn, tenant_id, rows)
            found += [(r, labels[r.record_id]) for r in rows]

        def spoken(r: q.CrmRecordRow, label: str) -> tuple[str, str]:
            """The label, and what a rep may say of it: a lead labelled by its contact, "Name (Company)", is also
            just "Name" (a record's own name is said whole: "… Q3 2026 (2)" is not "… Q3 2026")."""
            folded = label.casefold()
            named_by_contact = r.record_type == "lead" and not r.named and folded.endswith(")")
            return folded, folded.rsplit(" (", 1)[0] if named_by_contact else folded

        exact = [(r, label) for r, label in found if needle in spoken(r, label)]
        within = exact or [(r, label) for r, label in found if needle in label.casefold()]
        if not within:
            return None
        if len(within) > 1:
            raise AmbiguousRecordName(text, tuple((f"{r.record_type}:{r.record_id}", label) for r, label in within))
        return self._record_ref(conn, tenant_id, within[0][0])

    def _record_by_id(self, conn: Connection, tenant_id: str, text: str, record_id: str) -> TargetRef | None:
        """The lead or the opportunity with this id; :class:`AmbiguousRecord` when both exist."""
        found = [rec for rec in (q.lead(conn, tenant_id, record_id), q.opportunity(conn, tenant_id, record_id))
                 if rec is not None]
        refs = [self._record_ref(conn, tenant_id, rec) for rec in found]
        if len(refs) > 1:
            raise AmbiguousRecord(text, record_id, tuple((f"{r.kind}:{r.key}", r.label) for r in refs))
        return refs[0] if refs else None

    def _record_ref(self, conn: Connection, tenant_id: str, rec: q.CrmRecordRow) -> TargetRef:
        closed = rec.status in (CLOSED_LEAD if rec.record_type == "lead" else CLOSED_OPPORTUNITY)
        label = record_labels(conn, tenant_id, [rec])[rec.record_id]
        return TargetRef(rec.record_type, rec.record_id, label, closed)  # type: ignore[arg-type]

    def _scope(self, conn: Connection, tenant_id: str, target: TargetRef) -> Scope:
        if target.kind == "contact":
            c = q.contact_by_email(conn, tenant_id, target.key)
            return Scope(target, "contact", (c,) if c else (), None)
        if target.kind == "domain":
            return Scope(target, "domain", tuple(q.contacts_of_domain(conn, tenant_id, target.key)), None)
        if target.kind == "account":
            return Scope(target, "account", tuple(q.contacts_of_account(conn, tenant_id, target.key)), None)
        rec = (q.lead(conn, tenant_id, target.key) if target.kind == "lead"
               else q.opportunity(conn, tenant_id, target.key))
        if rec is None:
            raise TargetNotFound(target.key)
        return self._record_scope(conn, tenant_id, target, rec)

    def _record_scope(self, conn: Connection, tenant_id: str, target: TargetRef, rec: q.CrmRecordRow) -> Scope:
        """A lead's owner with the lead's people; an opportunity's owner and team with its stakeholders."""
        emails = set(rec.external_addresses) | ({rec.contact_email.lower()} if rec.contact_email else set())
        contacts = q.contacts_by_emails(conn, tenant_id, emails) if emails else []
        if not contacts and rec.account_id:
            contacts = q.contacts_of_account(conn, tenant_id, rec.account_id)
        users = set(q.user_ids_by_email(conn, tenant_id, rec.internal_addresses).values())
        if rec.owner_id:
            users.add(rec.owner_id)
        return Scope(target, rec.record_type, tuple(contacts), frozenset(users) if users else None)

    def _config(self, conn: Connection, tenant_id: str) -> HealthConfig:
        return health_config(q.tenant_options(conn, tenant_id), window_days=self.settings.analytics_window_days)

    # --- health --------------------------------------------------------------------------------------------

    def health(self, tenant_id: str, target: TargetRef | str, *, viewer_user_id: str | None = None,
               now: datetime, stored: bool = True) -> HealthView:
        """Score, state, trend, factors and KPIs of ``target`` as of ``now``, computed from the rollups.

        ``viewer_user_id`` adds the viewer's own connection to the target (``HealthView.viewer_connection``).
        ``stored``: serve the view materialised by the latest refresh when the freshness rule of
        :mod:`analytics.stored_views` allows it (then ``computed_at`` is the refresh instant); False: always live.
        """
        return self.health_with_contacts(tenant_id, target, viewer_user_id=viewer_user_id, now=now,
                                         stored=stored)[0]

    def health_with_contacts(self, tenant_id: str, target: TargetRef | str, *, viewer_user_id: str | None = None,
                             now: datetime, stored: bool = True) -> tuple[HealthView, tuple[int, ...]]:
        """:meth:`health` and the contact ids of the target's scope (what :meth:`viewer_connection` takes)."""
        with self.engine.connect() as conn:
            ref = target if isinstance(target, TargetRef) else self._resolve(conn, tenant_id, target)
            left_out = _opted_out_emails(conn, tenant_id)
            found = current_view(conn, tenant_id, ref, now) if stored else None
            if found is not None:
                viewer = self._viewer_connection(conn, tenant_id, found.contact_ids, viewer_user_id, now)
                view = replace(found.view, viewer_connection=viewer)
                return _without_colleagues(view, left_out), found.contact_ids
            scope = self._scope(conn, tenant_id, ref)
            config = self._config(conn, tenant_id)
            ids = [c.contact_id for c in scope.contacts]
            since = now.date() - timedelta(days=health_math.history_days_needed(config))
            rows = q.rollups_for_contacts(conn, tenant_id, ids, since=since, until=now.date())
            window = timedelta(days=config.window_days)
            activities = q.activities_for_contacts(conn, tenant_id, ids, start=now - window,
                                                   end=now + timedelta(days=LOOKAHEAD_DAYS))
            history = q.health_history(conn, tenant_id, _record_type(ref), ref.key)
            viewer = self._viewer_connection(conn, tenant_id, ids, viewer_user_id, now)
        kpis = compute_kpis(activities, scope.people, as_of=now, window_days=config.window_days)
        result = None if ref.closed else health_math.evaluate(daily_counts(rows, scope.user_ids), now.date(),
                                                               config, scope.record_type)
        return _without_colleagues(health_view_of(ref, result, kpis, history, now, viewer), left_out), tuple(ids)

    def viewer_connection(self, tenant_id: str, contact_ids: Sequence[int], viewer_user_id: str,
                          now: datetime) -> ColleagueView | None:
        """The viewer's own connection to these contacts (``HealthView.viewer_connection``; the contacts are
        those :meth:`health_with_contacts` returns)."""
        with self.engine.connect() as conn:
            return self._viewer_connection(conn, tenant_id, contact_ids, viewer_user_id, now)

    def _viewer_connection(self, conn: Connection, tenant_id: str, contact_ids: Sequence[int],
                           viewer_user_id: str | None, now: datetime) -> ColleagueView | None:
        if viewer_user_id is None or not contact_ids:
            return None
        found = wk.edges(q.user_rollups_for_contacts(conn, tenant_id, viewer_user_id, contact_ids, until=now.date()),
                         as_of=now.date())
        return colleague_views(conn, tenant_id, found[:1])[0] if found else None

    # --- who knows whom ------------------------------------------------------------------------------------

    def who_knows(self, tenant_id: str, target: TargetRef | str, *, now: datetime,
                  stored: bool = True) -> WhoKnowsView:
        """Up to five colleagues who know ``target``, strongest first; a two-hop path when nobody does.

        Shared, room and equipment mailboxes and disabled accounts are never offered: nobody can ask them.
        ``stored``: serve the answer materialised by the latest refresh when the serving rule of
        :mod:`analytics.stored_who_knows` allows it (then ``computed_at`` is the refresh instant); False: live.
        """
        with self.engine.connect() as conn:
            ref = target if isinstance(target, TargetRef) else self._resolve(conn, tenant_id, target)
            found = current_answer(conn, tenant_id, ref, now) if stored else None
            if found is not None:
                return found
            scope = self._scope(conn, tenant_id, ref)
            people = [c for c in scope.contacts if not wk.is_automated(c)]
            ids = [c.contact_id for c in people]
            opted_out = q.opted_out_users(conn, tenant_id)
            unavailable = q.unavailable_users(conn, tenant_id)
            rows = q.rollups_for_contacts(conn, tenant_id, ids, until=now.date())
            all_edges = wk.edges(rows, as_of=now.date(), excluded_users=unavailable)
            kept = [e for e in all_edges if e.user_id not in opted_out]
            colleagues = colleague_views(conn, tenant_id, kept[:wk.TOP_N])
            excluded = opted_out | unavailable
            path = None if colleagues else two_hop_path(conn, tenant_id, people, excluded, now)
        return WhoKnowsView(ref, tuple(colleagues), path, len(all_edges) - len(kept), now)

    def known_people(self, tenant_id: str, emails: Sequence[str], names: Sequence[str]) -> list[KnownPerson]:
        """Contacts known by one of ``emails``, or whose display name is one of ``names`` (whole name, ignoring
        case and spacing; every contact of that name is returned, the caller decides what several mean)."""
        wanted = [" ".join(n.split()).lower() for n in names[:MAX_KNOWN_LOOKUPS] if len(n.strip()) > 1]
        with self.engine.connect() as conn:
            rows = {r.contact_id: r for r in q.contacts_by_emails(conn, tenant_id, emails[:MAX_KNOWN_LOOKUPS])}
            for name in dict.fromkeys(wanted):
                named = q.contacts_by_emails(conn, tenant_id, q.contact_emails_named(conn, tenant_id, name))
                rows.update((r.contact_id, r) for r in named if " ".join(r.display_name.split()).lower() == name)
            companies: dict[str, str | None] = {}
            out = []
            for r in rows.values():
                account_id = r.account_id or q.account_of_domain(conn, tenant_id, r.domain)
                if account_id is not None and account_id not in companies:
                    acc = q.account(conn, tenant_id, account_id)
                    companies[account_id] = acc.name if acc is not None else None
                out.append(KnownPerson(r.email, r.display_name if r.display_name != r.email else None,
                                       companies.get(account_id) if account_id is not None else None))
        return sorted(out, key=lambda p: p.email)

    def who_knows_left_out(self, tenant_id: str) -> str:
        """A digest of the users a who-knows answer leaves out now (opted out; unavailable): an answer computed
        under another digest may name someone who has opted out since (what caches key their answers by)."""
        with self.engine.connect() as conn:
            opted_out, unavailable = q.who_knows_left_out(conn, tenant_id)
        return excluded_fingerprint([f"o:{u}" for u in opted_out] + [f"u:{u}" for u in unavailable])

    # --- my records ----------------------------------------------------------------------------------------

    def my_accounts(self, tenant_id: str, user_id: str, now: datetime) -> MyRecordsView:
        """The accounts a user owns or works with (in the analytics window), and their leads and opportunities."""
        since = now.date() - timedelta(days=self.settings.analytics_window_days)
        with self.engine.connect() as conn:
            me = q.users(conn, tenant_id, [user_id]).get(user_id)
            rows = [r for r in q.rollups_for_users(conn, tenant_id, [user_id], since=since) if r.day <= now.date()]
            per_contact: dict[int, tuple[int, datetime | None]] = {}
            for r in rows:
                n, last = per_contact.get(r.contact_id, (0, None))
                at = r.last_at if last is None or (r.last_at is not None and r.last_at > last) else last
                per_contact[r.contact_id] = (n + r.from_us + r.from_them, at)
            contacts = q.contacts_by_ids(conn, tenant_id, list(per_contact))
            domains = q.account_domains(conn, tenant_id)
            per_account: dict[str, tuple[int, datetime | None]] = {}
            for cid, (n, last) in per_contact.items():
                c = contacts.get(cid)
                account_id = c.account_in(domains) if c else None
                if account_id is None:
                    continue
                m, prev = per_account.get(account_id, (0, None))
                per_account[account_id] = (m + n, _later(prev, last))
            all_accounts = {a.account_id: a for a in q.accounts(conn, tenant_id)}
            owned = {a for a, row in all_accounts.items() if row.owner_id == user_id}
            account_ids = sorted(owned | (set(per_account) & set(all_accounts)))
            scores = q.stored_health(conn, tenant_id, "account", account_ids)
            email = me.email if me else None
            # In bulk (a few statements), not a record at a time: a rep's or manager's list has hundreds
            leads = q.crm_records(conn, tenant_id, "lead",
                                  q.lead_ids(conn, tenant_id, owner_id=user_id, member_email=email))
            opps = q.crm_records(conn, tenant_id, "opportunity",
                                 q.opportunity_ids(conn, tenant_id, owner_id=user_id, member_email=email))
            lead_scores = q.stored_health(conn, tenant_id, "lead", [r.record_id for r in leads])
            opp_scores = q.stored_health(conn, tenant_id, "opportunity", [r.record_id for r in opps])
            by_email = {c.email: cid for cid, c in contacts.items()}
            names = {n: a.name for n, a in all_accounts.items()}
            lead_labels = record_labels(conn, tenant_id, leads, names)
            opp_labels = record_labels(conn, tenant_id, opps, names)
        summaries = []
        for account_id in account_ids:
            n, last = per_account.get(account_id, (0, None))
            s = scores.get(account_id)
            summaries.append(AccountSummary(account_id, all_accounts[account_id].name, s.value if s else None,
                                            s.label if s else None, s.trend if s else None, last, n,
                                            account_id in owned))
        summaries.sort(key=lambda a: (-a.interactions, a.name))

        def last_with(rec: q.CrmRecordRow) -> datetime | None:
            emails = set(rec.external_addresses) | ({rec.contact_email.lower()} if rec.contact_email else set())
            out: datetime | None = None
            for e in emails:
                if e in by_email:
                    out = _later(out, per_contact[by_email[e]][1])
            if rec.account_id in per_account:
                out = _later(out, per_account[rec.account_id][1])
            return out

        lead_views = [LeadSummary(r.record_id, lead_labels[r.record_id], r.status, *_score(lead_scores.get(r.record_id)),
                                  last_with(r)) for r in leads]
        lead_views.sort(key=lambda v: (v.status in CLOSED_LEAD, v.label))
        opp_views = [OpportunitySummary(r.record_id, opp_labels[r.record_id], r.account_id, r.stage, r.status, r.amount,
                                        *_score(opp_scores.get(r.record_id)), last_with(r)) for r in opps]
        opp_views.sort(key=lambda v: (v.status in CLOSED_OPPORTUNITY, -(v.amount or 0.0), v.label))
        return MyRecordsView(user_id, tuple(summaries), tuple(lead_views), tuple(opp_views))


def _opted_out_emails(conn: Connection, tenant_id: str) -> frozenset[str]:
    """Addresses of the colleagues who opted out of who knows whom (read at every ask, like who-knows does)."""
    opted_out, _unavailable = q.who_knows_left_out(conn, tenant_id)
    if not opted_out:
        return frozenset()
    return frozenset(u.email.lower() for u in q.users_by_id(conn, tenant_id, opted_out).values())


def _without_colleagues(view: HealthView, emails: frozenset[str]) -> HealthView:
    """``view`` without these colleagues among our side's most contacted: naming who talks most with an account
    tells who knows it, which an opt-out of who knows whom withdraws (their interactions still count)."""
    if not emails or not any(p.email.lower() in emails for p in view.kpis.us.most_contacted):
        return view
    us = replace(view.kpis.us, most_contacted=tuple(p for p in view.kpis.us.most_contacted
                                                    if p.email.lower() not in emails))
    return replace(view, kpis=replace(view.kpis, us=us))


def record_labels(conn: Connection, tenant_id: str, records: Sequence[q.CrmRecordRow],
                  account_names: Mapping[str, str] | None = None) -> dict[str, str]:
    """What each lead or opportunity is called on cards, by record id.

    A record's own name (``q.record_name``: its name or topic, as a field or as free text) is its label. Without
    one a lead is its contact — "Name (Company)" as far as the contact's name and the lead's account are known,
    else the address — and an opportunity its id (both as ``q`` labels it). The contact's and account's names
    are read here, not with every record: the refresh, the stored views and the scoring read records in bulk and
    never show them. ``account_names``: account id → name when the caller has them."""
    out = {r.record_id: r.label for r in records}
    leads = [r for r in records if r.record_type == "lead" and not r.named]
    if not leads:
        return out
    emails = {r.contact_email.lower() for r in leads if r.contact_email}
    people = {c.email: c.display_name for c in q.contacts_by_emails(conn, tenant_id, emails)} if emails else {}
    companies = dict(account_names) if account_names is not None else {
        a: acc.name for a in {r.account_id for r in leads if r.account_id}
        if (acc := q.account(conn, tenant_id, a)) is not None}
    for r in leads:
        person = people.get((r.contact_email or "").lower())
        out[r.record_id] = lead_label(r, person, companies.get(r.account_id or ""))
    return out


def lead_label(rec: q.CrmRecordRow, person: str | None, company: str | None) -> str:
    """"Name (Company)" for a lead without a name of its own; the address stands for an unknown name, and a
    company known only by its id (an import without account names) is left out."""
    address = rec.contact_email or rec.record_id
    who = person.strip() if person and person.strip() and person.strip().lower() != address.lower() else address
    if company and company != rec.account_id:
        return f"{who} ({company})"
    return who


def two_hop_hop(conn: Connection, tenant_id: str, targets: Sequence[q.ContactRow], excluded: Collection[str],
                now: datetime, known: Mapping[int, Sequence[wk.Edge]] | None = None) -> wk.Hop | None:
    """Colleague → someone linked to the target (shared activities, else the same company) → target: the best
    hop leaving out the ``excluded`` users (opted out, unavailable). ``known``: contacts' edges as of ``now``
    with nobody left out, strongest first (a materialisation has them), used instead of reading their rollups."""
    if not targets:
        return None
    target_ids = {c.contact_id for c in targets}
    shared = q.co_participants(conn, tenant_id, target_ids)
    top = sorted(shared.items(), key=lambda kv: (-kv[1], kv[0]))[:TWO_HOP_CANDIDATES]
    candidates = [c for c in q.contacts_by_ids(conn, tenant_id, [cid for cid, _ in top]).values()
                  if not wk.is_automated(c)]
    hop = _best_hop(conn, tenant_id, candidates, shared, "shared interactions", excluded, now, known or {})
    if hop is None:
        tenant_domains = q.tenant_domains(conn, tenant_id)
        company: list[q.ContactRow] = []
        for domain in sorted({c.domain for c in targets} - FREE_MAIL_DOMAINS - tenant_domains):
            company.extend(c for c in q.contacts_of_domain(conn, tenant_id, domain)
                           if c.contact_id not in target_ids and not wk.is_automated(c))
        hop = _best_hop(conn, tenant_id, company[:SAME_COMPANY_CANDIDATES], {}, "same company", excluded, now,
                        known or {})
    return hop


def two_hop_path(conn: Connection, tenant_id: str, targets: Sequence[q.ContactRow], excluded: Collection[str],
                 now: datetime) -> IntroPathView | None:
    """:func:`two_hop_hop` as the answer shows it (the colleague's name and email from the directory)."""
    hop = two_hop_hop(conn, tenant_id, targets, excluded, now)
    if hop is None:
        return None
    colleague = colleague_views(conn, tenant_id, [hop.edge])[0]
    return IntroPathView(colleague, hop.via.display_name, hop.via.email, hop.link,
                         hop.relation)  # type: ignore[arg-type]


def _best_hop(conn: Connection, tenant_id: str, vias: Sequence[q.ContactRow], links: dict[int, int],
              relation: str, excluded: Collection[str], now: datetime,
              known: Mapping[int, Sequence[wk.Edge]]) -> wk.Hop | None:
    if not vias:
        return None
    by_contact: dict[int, list[q.RollupRow]] = {}
    unknown = [c.contact_id for c in vias if c.contact_id not in known]
    for r in q.rollups_for_contacts(conn, tenant_id, unknown, until=now.date()) if unknown else ():
        by_contact.setdefault(r.contact_id, []).append(r)
    hops = []
    for via in vias:
        if via.contact_id in known:  # leaving users out removes their edges and changes no other
            first = next((e for e in known[via.contact_id] if e.user_id not in excluded), None)
        else:
            found = wk.edges(by_contact.get(via.contact_id, []), as_of=now.date(), excluded_users=excluded)
            first = found[0] if found else None
        if first is not None:
            hops.append(wk.Hop(first, via, links.get(via.contact_id, 0), relation))
    return wk.best_hop(hops)


def health_view_of(ref: TargetRef, result: health_math.HealthResult | None, kpis: KpiView,
                   history: Sequence[q.StoredScore], now: datetime,
                   viewer: ColleagueView | None = None) -> HealthView:
    """A health answer from its parts (``result`` None: a closed record, not computed). Live answers and the
    views materialised after a refresh (:mod:`analytics.health_views`) are both built here."""
    points = tuple(HealthPoint(h.computed_at, h.value, h.label) for h in history)
    if result is None:
        return HealthView(ref, None, "Not computed", "Not enough info", None, (), kpis, points, now, viewer)
    factors = tuple(
        FactorView(f.name, round(f.value, 4), round(f.weight, 4), round(f.points, 1),
                   result.changes.get(f.name), f.explanation)
        for f in result.factors)
    return HealthView(ref, result.score, result.state, result.trend,  # type: ignore[arg-type]
                      result.previous_score, factors, kpis, points, now, viewer)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _score(s: q.StoredScore | None) -> tuple[float | None, str | None, str | None]:
    return (s.value, s.label, s.trend) if s else (None, None, None)


def _record_type(ref: TargetRef) -> str:
    """The ``score.record_type`` a target's health is stored under."""
    return ref.kind
