"""Every card the bot can send validates against the vendored Adaptive Card 1.5 schema."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft6Validator

from bot.cards import relationships as rc
from bot.cards.render import help_card, notice_card
from bot.conversation import signing
from bot.conversation.i18n import t
from tests.bot.fakes import CLOSED, FABRIKAM, JANE, REP, TENANT, health, my_records, who_knows

SCHEMA = json.loads(resources.files("bot.cards").joinpath("schema", "adaptive-card-1.5.json").read_text("utf-8"))
VALIDATOR = Draft6Validator(SCHEMA)


def _sign(verb: str, args: dict[str, Any]) -> dict[str, Any]:
    return signing.sign(b"k", verb=verb, tenant_id=TENANT, user_id=REP, args=args)


def all_cards() -> list[tuple[str, dict[str, Any]]]:
    cards: list[tuple[str, dict[str, Any]]] = []
    for lang in ("en", "zh"):
        cards += [
            (f"help-{lang}", help_card(lang, [t("help_health", lang), t("help_who", lang)])),
            (f"help-empty-{lang}", help_card(lang, [])),
            (f"notice-{lang}", notice_card(t("action_unknown", lang), lang)),
            (f"health-{lang}", rc.render_health(health(FABRIKAM), lang)),
            (f"health-closed-{lang}", rc.render_health(health(CLOSED), lang)),
            (f"who-{lang}", rc.render_who_knows(who_knows(JANE), lang, _sign, requester_id=REP)),
            (f"who-path-{lang}", rc.render_who_knows(who_knows(JANE, nobody=True, path=True), lang, _sign,
                                                     requester_id=REP)),
            (f"who-none-{lang}", rc.render_who_knows(who_knows(JANE, nobody=True), lang, _sign, requester_id=REP)),
            (f"intro-request-{lang}", rc.render_intro_request("Rob", "Jane", lang, _sign("intro.accept", {}),
                                                              _sign("intro.decline", {}))),
            (f"intro-draft-{lang}", rc.render_intro_draft("Cho", "Rob", "Jane Doe", lang)),
        ]
        cards += [(f"mine-{w}-{lang}", rc.render_my_records(my_records(), w, lang))
                  for w in ("accounts", "leads", "opportunities")]
    return cards


@pytest.mark.parametrize("name,card", all_cards(), ids=[n for n, _ in all_cards()])
def test_card_is_valid_adaptive_card_1_5(name: str, card: dict[str, Any]) -> None:
    errors = sorted(VALIDATOR.iter_errors(card), key=str)
    assert not errors, f"{name}: {errors[0].message} at {list(errors[0].absolute_path)}"
    assert card["version"] == "1.5"
    json.dumps(card)  # plain JSON values only


def test_the_validator_rejects_an_invalid_card() -> None:
    bad = help_card("en", [])
    bad["body"][0]["colour"] = "red"  # misspelt property: the schema forbids extra properties
    assert list(VALIDATOR.iter_errors(bad))
