from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from analytics.query import AmbiguousRecord, PersonalMailDomain, RelationshipQueries
from analytics.relationships.errors import AmbiguousTarget, TargetNotFound
from analytics.settings import Settings
from analytics.store import models

from .builders import add_account, add_users, ext, ingest, mail, meeting, user

ALICE, BOB, ERIN = user("alice"), user("bob"), user("erin")
CAROL, DAVE, ZOE = ext("carol@fabrikam.com"), ext("dave@fabrikam.com"), ext("zoe@fabrikam.com")


@pytest.fixture
def queries(engine: Engine, tenant_id: str, now: datetime) -> RelationshipQueries:
    add_users(engine, tenant_id, "alice", "bob", "erin")
    add_account(engine, tenant_id, "acc-fab", "Fabrikam", "fabrikam.com", owner_id="u-alice")
    add_account(engine, tenant_id, "acc-fa2", "Fabrikam Labs", "fablabs.com")
    batch = []
    for i in range(12):
        t = now - timedelta(days=5 * i + 1)
        batch.append(mail(ALICE, [CAROL], t, conversation=f"c{i}"))
        batch.append(mail(CAROL, [ALICE], t + timedelta(hours=2), conversation=f"c{i}"))
    for i in range(6):
        batch.append(mail(BOB, [CAROL], now - timedelta(days=7 * i + 2)))
    batch.append(meeting(CAROL, [ALICE, DAVE], now - timedelta(days=3), 45))  # Dave: only with Carol + Alice
    batch.append(mail(ERIN, [DAVE], now - timedelta(days=40)))
    batch.append(mail(CAROL, [ZOE], now - timedelta(days=4)))  # an internal-less mail: no rollup
    batch.append(mail(ext("news@fabrikam.com"), [BOB], now - timedelta(days=1), is_bulk=True))
    ingest(engine, tenant_id, batch, now)
    return RelationshipQueries(engine, Settings())


def test_targets_resolve_from_email_domain_and_account_name(queries: RelationshipQueries, tenant_id: str) -> None:
    assert queries.resolve_target(tenant_id, "Carol@Fabrikam.com").kind == "contact"
    assert queries.resolve_target(tenant_id, "fabrikam.com").key == "acc-fab"
    assert queries.resolve_target(tenant_id, "@fabrikam.com").key == "acc-fab"  # a domain written as in addresses
    assert queries.resolve_target(tenant_id, "fabrikam").key == "acc-fab"  # exact name beats "Fabrikam Labs"
    with pytest.raises(AmbiguousTarget) as err:
        queries.resolve_target(tenant_id, "fab")
    assert {c[0] for c in err.value.candidates} == {"acc-fab", "acc-fa2"}
    with pytest.raises(TargetNotFound):
        queries.resolve_target(tenant_id, "nobody@nowhere.example")


def test_health_of_a_contact_has_score_factors_kpis_and_viewer(
    queries: RelationshipQueries, tenant_id: str, now: datetime
) -> None:
    view = queries.health(tenant_id, "carol@fabrikam.com", viewer_user_id="u-bob", now=now)
    assert view.state == "Good" and view.score is not None and view.score >= 60
    assert {f.name for f in view.factors} == {"activity", "recency", "reciprocity", "responsiveness"}
    assert abs(sum(f.points for f in view.factors) - view.score) < 0.5
    assert view.kpis.them.avg_first_response_hours == 2.0
    assert view.kpis.us.emails_sent == 18 and view.kpis.them.emails_sent == 12
    assert view.kpis.them.meetings_organised == 1
    assert view.viewer_connection is not None and view.viewer_connection.user_id == "u-bob"


def test_who_knows_ranks_two_way_colleague_first_and_hides_opted_out(
    engine: Engine, queries: RelationshipQueries, tenant_id: str, now: datetime
) -> None:
    view = queries.who_knows(tenant_id, "carol@fabrikam.com", now=now)
    assert [c.user_id for c in view.colleagues] == ["u-alice", "u-bob"]
    assert view.colleagues[0].two_way and view.colleagues[0].last_interaction_type == "email"
    with engine.begin() as conn:
        conn.execute(models.UserOptOut.__table__.insert().values(
            tenant_id=tenant_id, user_id="u-alice", scope="who_knows", opted_out_at=now))
    view = queries.who_knows(tenant_id, "carol@fabrikam.com", now=now)
    assert [c.user_id for c in view.colleagues] == ["u-bob"]
    assert view.excluded_opted_out == 1


def test_shared_mailboxes_and_disabled_accounts_are_never_offered(
    engine: Engine, queries: RelationshipQueries, tenant_id: str, now: datetime
) -> None:
    u = models.InternalUser.__table__
    with engine.begin() as conn:
        conn.execute(u.update().where(u.c.user_id == "u-alice").values(mailbox_kind="shared"))
        conn.execute(u.update().where(u.c.user_id == "u-bob").values(account_enabled=False))
    view = queries.who_knows(tenant_id, "carol@fabrikam.com", now=now)
    assert view.colleagues == () and view.excluded_opted_out == 0


def test_nobody_knows_zoe_so_a_two_hop_path_goes_through_carol(
    queries: RelationshipQueries, tenant_id: str, now: datetime
) -> None:
    view = queries.who_knows(tenant_id, "zoe@fabrikam.com", now=now)
    assert view.colleagues == ()
    assert view.path is not None
    assert view.path.via_email == "carol@fabrikam.com"
    assert view.path.colleague.user_id == "u-alice"
    assert view.path.via_relation == "shared interactions"


def test_bulk_senders_are_not_known(queries: RelationshipQueries, tenant_id: str, now: datetime) -> None:
    view = queries.who_knows(tenant_id, "news@fabrikam.com", now=now)
    assert view.colleagues == ()


def test_account_health_covers_all_its_contacts_and_my_accounts_lists_it(
    queries: RelationshipQueries, tenant_id: str, now: datetime
) -> None:
    view = queries.health(tenant_id, "Fabrikam", now=now)
    assert view.target.kind == "account"
    assert {p.email for p in view.kpis.them.most_contacted} >= {"carol@fabrikam.com", "dave@fabrikam.com"}
    mine = queries.my_accounts(tenant_id, "u-alice", now)
    assert [(a.account_id, a.owned) for a in mine.accounts] == [("acc-fab", True)]
    assert mine.accounts[0].interactions > 20


def test_closed_opportunity_health_is_not_computed(
    engine: Engine, queries: RelationshipQueries, tenant_id: str, now: datetime
) -> None:
    with engine.begin() as conn:
        conn.execute(models.Opportunity.__table__.insert().values(
            tenant_id=tenant_id, opportunity_id="opp-1", owner_id="u-alice", account_id="acc-fab",
            status="won", created_at=now - timedelta(days=90), fields={"name": "Big deal"}))
    view = queries.health(tenant_id, "opportunity:opp-1", now=now)
    assert (view.state, view.score) == ("Not computed", None)
    assert view.target.label == "Big deal"
    assert view.kpis.us.emails_sent > 0
    assert queries.my_accounts(tenant_id, "u-alice", now).opportunities[0].opportunity_id == "opp-1"


def _add_lead(engine: Engine, tenant_id: str, now: datetime, lead_id: str, email: str | None,
              account_id: str | None = None, fields: dict[str, object] | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(models.Lead.__table__.insert().values(
            tenant_id=tenant_id, lead_id=lead_id, owner_id="u-alice", contact_email=email, account_id=account_id,
            status="open", created_at=now - timedelta(days=10), fields=fields or {}))


def _add_opportunity(engine: Engine, tenant_id: str, now: datetime, opportunity_id: str,
                     fields: dict[str, object] | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(models.Opportunity.__table__.insert().values(
            tenant_id=tenant_id, opportunity_id=opportunity_id, owner_id="u-alice", account_id="acc-fab",
            status="open", created_at=now - timedelta(days=10), fields=fields or {}))


def test_a_free_mail_domain_is_a_personal_provider_not_a_company(
    engine: Engine, queries: RelationshipQueries, tenant_id: str, now: datetime
) -> None:
    ingest(engine, tenant_id, [mail(ALICE, [ext("jo@gmail.com"), ext("al@yahoo.co.uk")], now - timedelta(days=2))],
           now)
    for text in ("gmail.com", "@Gmail.com", "yahoo.co.uk"):  # yahoo.co.uk: the scoring's free-mail list
        with pytest.raises(PersonalMailDomain) as err:
            queries.resolve_target(tenant_id, text)
        assert err.value.domain == text.lower().removeprefix("@")
    with pytest.raises(PersonalMailDomain):
        queries.who_knows(tenant_id, "gmail.com", now=now)
    with pytest.raises(TargetNotFound):  # callers that only know "not found" still get it
        queries.health(tenant_id, "gmail.com", now=now)
    assert queries.resolve_target(tenant_id, "jo@gmail.com").kind == "contact"  # a person's address is fine
    assert queries.resolve_target(tenant_id, "fabrikam.com").kind == "account"


@pytest.mark.parametrize(("domain", "via"), [("webshop.de", "kim@webshop.de"), ("web.de", None)])
def test_a_two_hop_path_through_the_same_company_is_not_taken_through_a_free_mail_provider(
    engine: Engine, queries: RelationshipQueries, tenant_id: str, now: datetime, domain: str, via: str | None
) -> None:
    """Nobody knows Zoe and she shares no activity with anyone: a colleague of hers at the same company is the
    only way in. web.de is a free-mail provider (one list for scoring and who-knows): its users are no company."""
    zoe, kim = ext(f"zoe@{domain}"), ext(f"kim@{domain}")
    batch = [mail(ALICE, [kim], now - timedelta(days=d)) for d in range(1, 20, 4)]
    batch.append(mail(zoe, [], now - timedelta(days=2)))  # Zoe is a known contact, with no rollup
    ingest(engine, tenant_id, batch, now)
    view = queries.who_knows(tenant_id, f"zoe@{domain}", now=now)
    assert view.colleagues == ()
    if via is None:
        assert view.path is None
    else:
        assert view.path is not None and (view.path.via_email, view.path.via_relation) == (via, "same company")


def test_a_bare_record_id_is_the_one_record_that_has_it_and_ambiguous_only_when_both_do(
    engine: Engine, queries: RelationshipQueries, tenant_id: str, now: datetime
) -> None:
    _add_lead(engine, tenant_id, now, "L-000008", "carol@fabrikam.com")
    _add_opportunity(engine, tenant_id, now, "OPP-1")
    _add_lead(engine, tenant_id, now, "X-1", None)
    _add_opportunity(engine, tenant_id, now, "X-1")
    assert queries.resolve_target(tenant_id, "L-000008").kind == "lead"
    assert queries.resolve_target(tenant_id, "OPP-1").kind == "opportunity"
    with pytest.raises(AmbiguousRecord) as err:
        queries.resolve_target(tenant_id, "X-1")
    assert err.value.record_id == "X-1"
    assert [c[0] for c in err.value.candidates] == ["lead:X-1", "opportunity:X-1"]
    assert queries.resolve_target(tenant_id, "lead:X-1").kind == "lead"  # a named kind is never ambiguous
    assert queries.resolve_target(tenant_id, "Fabrikam").key == "acc-fab"  # names still resolve


def test_an_ambiguous_name_carries_every_candidate_sorted_by_name(
    engine: Engine, queries: RelationshipQueries, tenant_id: str
) -> None:
    for i in range(12):
        add_account(engine, tenant_id, f"acc-s{i:02}", f"Systems {chr(ord('L') - i)}")
    with pytest.raises(AmbiguousTarget) as err:
        queries.resolve_target(tenant_id, "systems")
    names = [name for _, name in err.value.candidates]
    assert len(names) == 12 and names == sorted(names)  # the bot says how many more than it shows


def test_leads_are_labelled_by_contact_and_company_and_opportunities_by_a_free_text_name(
    engine: Engine, queries: RelationshipQueries, tenant_id: str, now: datetime
) -> None:
    ingest(engine, tenant_id, [mail(ALICE, [ext("jo@gmail.com")], now - timedelta(days=2))], now)
    _add_lead(engine, tenant_id, now, "L-1", "Carol@Fabrikam.com", "acc-fab")  # contact and account known
    _add_lead(engine, tenant_id, now, "L-2", "jo@gmail.com")  # a free-mail prospect: no company
    _add_lead(engine, tenant_id, now, "L-3", "new@prospect.example", "acc-fa2")  # contact not synced yet
    _add_lead(engine, tenant_id, now, "L-4", "carol@fabrikam.com", "acc-fab", {"topic": "Pilot"})  # own topic
    _add_opportunity(engine, tenant_id, now, "O-1", {"_text": {"name": "Fabrikam - Renewal"}})  # mapped as text
    _add_opportunity(engine, tenant_id, now, "O-2")
    expected = {"L-1": "Carol (Fabrikam)", "L-2": "Jo", "L-3": "new@prospect.example (Fabrikam Labs)",
                "L-4": "Pilot", "O-1": "Fabrikam - Renewal", "O-2": "O-2"}
    for record_id, label in expected.items():
        kind = "lead" if record_id.startswith("L") else "opportunity"
        assert queries.resolve_target(tenant_id, f"{kind}:{record_id}").label == label
        assert queries.resolve_target(tenant_id, record_id).label == label
    mine = queries.my_accounts(tenant_id, "u-alice", now)
    assert {v.lead_id: v.label for v in mine.leads} == {k: v for k, v in expected.items() if k.startswith("L")}
    assert {v.opportunity_id: v.label for v in mine.opportunities} == {"O-1": "Fabrikam - Renewal", "O-2": "O-2"}


def test_crm_rows_carry_the_records_own_name_whether_a_field_or_free_text(
    engine: Engine, tenant_id: str, now: datetime
) -> None:
    from analytics.store import queries_relationships as q

    _add_lead(engine, tenant_id, now, "L-1", "jo@gmail.com", fields={"_text": {"topic": "Web enquiry"}})
    _add_lead(engine, tenant_id, now, "L-2", "al@web.de")
    _add_opportunity(engine, tenant_id, now, "O-1", {"name": "Renewal", "_text": {"name": "ignored"}})
    _add_opportunity(engine, tenant_id, now, "O-2", {"_text": {"name": ""}})
    expected = {"L-1": ("Web enquiry", True), "L-2": ("al@web.de", False), "O-1": ("Renewal", True),
                "O-2": ("O-2", False)}
    with engine.connect() as conn:
        rows = [*q.crm_records(conn, tenant_id, "lead"), *q.crm_records(conn, tenant_id, "opportunity"),
                q.lead(conn, tenant_id, "L-1"), q.lead(conn, tenant_id, "L-2"),
                q.opportunity(conn, tenant_id, "O-1"), q.opportunity(conn, tenant_id, "O-2")]
    for row in rows:
        assert row is not None and (row.label, row.named) == expected[row.record_id], row
