"""Cards for health, who-knows-whom, my records and introductions (pure: views in, AC 1.5 dicts out)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from analytics.views import HealthView, MyRecordsView, WhoKnowsView
from bot.cards.render import card, distinct_labels, text_block
from bot.conversation.i18n import explanation, t, tn, word
from bot.conversation.model import Lang

Signer = Callable[[str, dict[str, Any]], dict[str, Any]]


def _date(at: datetime | None, lang: Lang) -> str:
    return at.strftime("%Y-%m-%d") if at is not None else t("none", lang)


def _num(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _hours(value: float | None, lang: Lang) -> str:
    """``4.7 h`` (``4.7 小时``), or ``–`` alone when there was no reply to time (not ``– h``)."""
    return "–" if value is None else t("hours", lang, value=f"{value:.1f}")


def _facts(rows: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in rows]}


def render_health(view: HealthView, lang: Lang, *, chart_urls: Sequence[str] = ()) -> dict[str, Any]:
    """Score, state, trend, KPIs, the factors that moved the score, and charts (signed URLs) when given."""
    title = t("health_title", lang, label=view.target.label)
    body: list[dict[str, Any]] = [text_block(title, weight="Bolder", size="Medium")]
    if view.state == "Not computed":
        body.append(text_block(t("not_computed", lang), isSubtle=True))
    kpis = view.kpis
    nxt = kpis.next_interaction.at if kpis.next_interaction else None
    last = kpis.last_interaction
    body.append(_facts([
        (t("score", lang), _num(view.score)),
        (t("state", lang), word(view.state, lang)),
        (t("trend", lang), word(view.trend, lang)),
        # The KPIs read the window only: an older last interaction is not "none" (who-knows shows its date).
        (t("last", lang), t("aside", lang, value=_date(last.at, lang), detail=word(last.kind, lang)) if last
         else t("none_in_window", lang, days=kpis.window_days)),
        (t("next", lang), _date(nxt, lang)),
        (t("interactions", lang, days=kpis.window_days), str(kpis.total_interactions)),
        (t("emails", lang), f"{kpis.us.emails_sent} / {kpis.them.emails_sent}"),
        (t("response", lang), f"{_hours(kpis.us.avg_first_response_hours, lang)} / "
                              f"{_hours(kpis.them.avg_first_response_hours, lang)}"),
    ]))
    if view.factors:
        body.append(text_block(t("factors", lang), weight="Bolder", spacing="Medium"))
        for f in view.factors[:4]:
            points = f"{f.points:.1f}" if f.change is None else t("aside", lang, value=f"{f.points:.1f}",
                                                                     detail=f"{f.change:+.1f}")
            body.append(text_block(f"**{word(f.name, lang)}** {points} — "
                                   f"{explanation(f.explanation, lang)}", size="Small"))
    if view.viewer_connection is not None:
        vc = view.viewer_connection
        body.append(text_block(t("your_connection", lang, level=word(vc.level, lang), strength=vc.strength),
                               isSubtle=True))
    body += [{"type": "Image", "url": url, "altText": title, "size": "Stretch"} for url in chart_urls]
    return card(lang, title, body)


def render_who_knows(view: WhoKnowsView, lang: Lang, sign: Signer, *, requester_id: str) -> dict[str, Any]:
    """Up to five colleagues, strongest first, each with an "ask for an intro" button (not for oneself)."""
    label = view.target.label
    title = t("who_title", lang, label=label)
    body: list[dict[str, Any]] = [text_block(title, weight="Bolder", size="Medium")]
    actions: list[dict[str, Any]] = []
    for c in view.colleagues:
        body.append(text_block(f"**{c.name}** — " + t("strength", lang, level=word(c.level, lang),
                                                         strength=c.strength,
                                                         kind=word(c.last_interaction_type or "", lang),
                                                         when=_date(c.last_interaction_at, lang))))
        if c.user_id != requester_id and len(actions) < 5:
            actions.append(_intro_button(view, c.user_id, c.name, lang, sign))
    if not view.colleagues:
        if view.path is not None:
            p = view.path
            body.append(text_block(t("who_path", lang, colleague=p.colleague.name, via=p.via_name or p.via_email,
                                     relation=word(p.via_relation, lang), label=label)))
            if p.colleague.user_id != requester_id:
                actions.append(_intro_button(view, p.colleague.user_id, p.colleague.name, lang, sign))
        else:
            body.append(text_block(t("who_none", lang, label=label)))
    if view.excluded_opted_out:
        body.append(text_block(tn("who_opted_out", lang, view.excluded_opted_out), isSubtle=True, size="Small"))
    return card(lang, title, body, actions=actions)


def _intro_button(view: WhoKnowsView, colleague_id: str, name: str, lang: Lang, sign: Signer) -> dict[str, Any]:
    args = {"colleague_id": colleague_id, "colleague_name": name, "kind": view.target.kind,
            "key": view.target.key, "label": view.target.label}
    return {"type": "Action.Execute", "title": t("ask_intro", lang, name=name), "verb": "intro.request",
            "data": sign("intro.request", args)}


MY_RECORDS_SHOWN = 15
_CLOSED = frozenset({"qualified", "disqualified", "closed", "won", "lost"})


def _health(score: float | None, state: str | None, lang: Lang) -> str:
    return f"{_num(score)} {word(state or '', lang)}".rstrip()


def _record_row(status: str, where: str, score: float | None, state: str | None, last: datetime | None,
                lang: Lang) -> str:
    """An open record's stage (or status), health and last interaction; a closed one's outcome instead of the
    health it no longer has."""
    if status in _CLOSED:
        return f"{word(status, lang)} · {_date(last, lang)}"
    return f"{word(where, lang)} · {_health(score, state, lang)} · {_date(last, lang)}"


def render_my_records(view: MyRecordsView, what: str, lang: Lang, *, team: bool = False) -> dict[str, Any]:
    """One of the user's lists (accounts, leads or opportunities), healthiest first (open leads and opportunities
    before closed ones, which have no health: they show their outcome); ``team``: a manager's, with their reporting
    chain's records. A longer list says how many it leaves out."""
    title = t(f"mine_team_{what}" if team else f"mine_{what}", lang)
    rows: list[tuple[str, str]] = []
    if what == "accounts":
        items = sorted(view.accounts, key=lambda a: (a.score is None, -(a.score or 0.0), a.name))
        rows = [(a.name, f"{_health(a.score, a.state, lang)} · {word(a.trend or '', lang)} · "
                         f"{_date(a.last_interaction_at, lang)}") for a in items]
    elif what == "leads":
        leads = sorted(view.leads, key=lambda x: (x.status in _CLOSED, x.score is None, -(x.score or 0.0), x.label))
        labels = distinct_labels([(x.label, x.lead_id) for x in leads])
        rows = [(label, _record_row(x.status, x.status, x.score, x.state, x.last_interaction_at, lang))
                for label, x in zip(labels, leads, strict=True)]
    else:
        opps = sorted(view.opportunities,
                      key=lambda x: (x.status in _CLOSED, x.score is None, -(x.score or 0.0), x.label))
        labels = distinct_labels([(x.label, x.opportunity_id) for x in opps])
        rows = [(label, _record_row(x.status, x.stage or x.status, x.score, x.state, x.last_interaction_at, lang))
                for label, x in zip(labels, opps, strict=True)]
    body: list[dict[str, Any]] = [text_block(title, weight="Bolder", size="Medium")]
    body.append(_facts(rows[:MY_RECORDS_SHOWN]) if rows else text_block(t("mine_none", lang), isSubtle=True))
    if len(rows) > MY_RECORDS_SHOWN:
        body.append(text_block(t("mine_more", lang, shown=MY_RECORDS_SHOWN, total=len(rows)), isSubtle=True,
                               size="Small"))
    return card(lang, title, body)


def render_intro_request(requester: str, label: str, lang: Lang, accept: dict[str, Any],
                         decline: dict[str, Any]) -> dict[str, Any]:
    """Sent to the colleague: Accept / Decline (each action signed for the colleague)."""
    text = t("intro_request", lang, requester=requester, label=label)
    return card(lang, text, [text_block(text)], actions=[
        {"type": "Action.Execute", "title": t("accept", lang), "verb": "intro.accept", "data": accept,
         "style": "positive"},
        {"type": "Action.Execute", "title": t("decline", lang), "verb": "intro.decline", "data": decline},
    ])


def render_intro_draft(colleague: str, requester: str, label: str, lang: Lang) -> dict[str, Any]:
    """Sent to the requester when the colleague accepts: an introduction they can forward."""
    title = t("intro_draft_title", lang, name=colleague, label=label)
    draft = t("intro_draft", lang, target_first=label.split(" ")[0], requester=requester, org=label)
    return card(lang, title, [
        text_block(title, weight="Bolder"),
        {"type": "Input.Text", "id": "draft", "isMultiline": True, "value": draft, "label": title},
        text_block(t("intro_draft_hint", lang, name=colleague), isSubtle=True, size="Small"),
    ])
