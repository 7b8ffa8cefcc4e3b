"""Found deploying by the book: the Teams package must list the commands ``rapport serve`` answers, including the
score and note commands (it was built from the store features alone, which have neither)."""

from __future__ import annotations

from analytics.settings import Settings
from analytics.store.engine import make_engine
from appmanifest.build import PackageSpec, build_package, command_limit
from bot.app import SERVICE_KEY, create_app
from bot.wiring import production_features

BOT_ID = "a1b2c3d4-0000-4000-8000-00000000b07a"


def _served_commands() -> list[str]:
    """The names of the helped commands of the bot ``rapport serve`` builds (bot/serve.py)."""
    engine = make_engine("sqlite://")
    try:
        settings = Settings(bot_host="127.0.0.1", secret_key="test")
        app = create_app(settings, engine, dev=True, features=production_features(settings, engine))
        return [c.name for c in app[SERVICE_KEY].commands.commands if c.help]
    finally:
        engine.dispose()


def test_the_package_lists_every_command_the_served_bot_answers() -> None:
    served = _served_commands()
    assert {"score", "note"} <= set(served)
    built = build_package(PackageSpec(bot_id=BOT_ID, domain="rapport.contoso.com"))
    for lang in ("en", "zh"):
        assert [c.name for c in built.commands[lang]] == [*served[: command_limit() - 1], "help"], lang
