"""Questions reps asked the demo bot in their own words that used to get the help card or "couldn't find"."""

from __future__ import annotations

import pytest

from tests.bot.fakes import REP
from tests.bot.test_conversation import adapter_for, make_service, say


@pytest.mark.parametrize("text,call", [
    ("who knows someone at fabrikam.com", ("who_knows", "acc-fabrikam")),
    ("Who knows anyone at Fabrikam?", ("who_knows", "acc-fabrikam")),
    ("who knows people from fabrikam.com", ("who_knows", "acc-fabrikam")),
    ("who do we know at Fabrikam", ("who_knows", "acc-fabrikam")),
    ("does anyone know jane@fabrikam.com?", ("who_knows", "jane@fabrikam.com")),
    ("anyone know jane@fabrikam.com", ("who_knows", "jane@fabrikam.com")),
    ("谁认识 Fabrikam 的人", ("who_knows", "acc-fabrikam")),
    ("有谁认识 jane@fabrikam.com", ("who_knows", "jane@fabrikam.com")),
    ("Fabrikam 那边有谁认识？", ("who_knows", "acc-fabrikam")),
    ("how is Fabrikam doing?", ("health", "acc-fabrikam")),
    ("how's fabrikam.com doing", ("health", "acc-fabrikam")),
    ("how are things with Fabrikam going", ("health", "acc-fabrikam")),
])
def test_everyday_phrasings_reach_the_right_query(text: str, call: tuple[str, str]) -> None:
    service, _, relationships, _ = make_service()
    replies = say(adapter_for(service), text)
    assert call in relationships.calls, relationships.calls
    assert replies and replies[0].attachments


def test_small_talk_about_how_things_are_is_not_a_target() -> None:
    service, _, relationships, _ = make_service()
    say(adapter_for(service), "how is it going")
    assert not [c for c in relationships.calls if c[0] == "resolve"]
    assert ("mine", REP) not in relationships.calls
