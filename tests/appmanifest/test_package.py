"""The Teams app package: valid against the vendored official schema, commands from the bot's own table, icons
of the required sizes; broken packages are refused."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from jsonschema import Draft4Validator
from PIL import Image
from typer.testing import CliRunner

from appmanifest.build import (
    LOCALIZATION_SCHEMA,
    MANIFEST_SCHEMA,
    BuiltPackage,
    PackageSpec,
    build_package,
    command_limit,
    schema,
    validate_package,
)
from appmanifest.commands import bot_command_table
from appmanifest.errors import PackageInvalid
from bot.cli import build_app

BOT_ID = "a1b2c3d4-0000-4000-8000-00000000b07a"


@pytest.fixture(scope="module")
def built() -> BuiltPackage:
    return build_package(PackageSpec(bot_id=BOT_ID, domain="rapport.contoso.com", version="1.2.3"))


def _files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rezip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_the_package_validates_against_the_vendored_official_schemas(built: BuiltPackage) -> None:
    files = _files(built.data)
    assert set(files) == {"manifest.json", "zh-cn.json", "color.png", "outline.png"}
    manifest, strings = json.loads(files["manifest.json"]), json.loads(files["zh-cn.json"])
    assert list(Draft4Validator(schema(MANIFEST_SCHEMA)).iter_errors(manifest)) == []
    assert list(Draft4Validator(schema(LOCALIZATION_SCHEMA)).iter_errors(strings)) == []
    assert manifest["manifestVersion"] == schema(MANIFEST_SCHEMA)["properties"]["manifestVersion"]["const"] == "1.30"
    assert manifest["version"] == "1.2.3"
    assert manifest["bots"][0]["botId"] == BOT_ID
    assert manifest["webApplicationInfo"] == {"id": BOT_ID, "resource": f"api://rapport.contoso.com/botid-{BOT_ID}"}
    # token.botframework.com: the Bot Framework OAuth sign-in link (SSO fallback) must be a valid domain
    assert manifest["validDomains"] == ["rapport.contoso.com", "token.botframework.com"]
    # The Teams app id is derived from the bot id, so rebuilding updates the same app.
    again = build_package(PackageSpec(bot_id=BOT_ID, domain="rapport.contoso.com"))
    assert again.manifest["id"] == manifest["id"] != BOT_ID


def test_commands_come_from_the_bot_command_table_and_route_back_to_their_command(built: BuiltPackage) -> None:
    table = bot_command_table()
    with_help = [c.name for c in table.commands if c.help]
    assert with_help, "the store-backed bot has commands"
    manifest_lists = built.manifest["bots"][0]["commandLists"]
    assert all(len(lst["commands"]) <= command_limit() for lst in manifest_lists)
    for lang in ("en", "zh"):
        commands = built.commands[lang]
        assert [c.name for c in commands] == [*with_help[:command_limit() - 1], "help"]
        for c in commands[:-1]:
            # The title is what Teams puts in the compose box: the bot must understand it as that command.
            # A title ending in a colon ("note:") is a prefix the user completes (the note) before sending.
            found = table.match(c.title + " call Ann on Friday" if c.title.endswith((":", "：")) else c.title)
            assert found is not None and found[0].name == c.name, (lang, c.title)
            assert c.description and "**" not in c.description
        assert table.match(commands[-1].title) is None  # "help" / "帮助": unmatched text gets the help card
    english = [{"title": c.title, "description": c.description} for c in built.commands["en"]]
    assert [lst["commands"] for lst in manifest_lists] == [english, english]
    for i in range(len(manifest_lists)):
        for j, c in enumerate(built.commands["zh"]):
            assert built.localization[f"bots[0].commandLists[{i}].commands[{j}].title"] == c.title


def test_icons_have_the_required_sizes_and_the_outline_is_white_on_transparent(built: BuiltPackage) -> None:
    files = _files(built.data)
    color, outline = Image.open(io.BytesIO(files["color.png"])), Image.open(io.BytesIO(files["outline.png"]))
    assert (color.format, color.size) == ("PNG", (192, 192))
    assert (outline.format, outline.size, outline.mode) == ("PNG", (32, 32), "RGBA")
    pixels = list(outline.getdata())
    assert any(a == 0 for *_, a in pixels) and any(a == 255 for *_, a in pixels)
    assert {(r, g, b) for r, g, b, a in pixels if a} == {(255, 255, 255)}


def test_a_coloured_outline_a_wrong_size_or_too_many_commands_are_refused(built: BuiltPackage) -> None:
    files = _files(built.data)
    tinted = Image.open(io.BytesIO(files["outline.png"])).convert("RGBA")
    tinted.putpixel((16, 16), (255, 0, 0, 255))
    small = Image.open(io.BytesIO(files["color.png"])).resize((96, 96))
    manifest = json.loads(files["manifest.json"])
    manifest["bots"][0]["commandLists"][0]["commands"] *= 4
    cases = {
        "only white and transparent": {"outline.png": _png(tinted)},
        "expected 192×192": {"color.png": _png(small)},
        "is too long": {"manifest.json": json.dumps(manifest).encode()},
    }
    for expected, change in cases.items():
        with pytest.raises(PackageInvalid) as caught:
            validate_package(_rezip({**files, **change}))
        assert any(expected in p for p in caught.value.problems), (expected, caught.value.problems)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_rapport_manifest_build_writes_a_valid_zip(tmp_path: Path) -> None:
    out = tmp_path / "app.zip"
    result = CliRunner().invoke(build_app(), ["manifest", "build", "--app-id", BOT_ID, "--domain",
                                              "rapport.contoso.com", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert validate_package(out.read_bytes())["bots"][0]["botId"] == BOT_ID
    bad = CliRunner().invoke(build_app(), ["manifest", "build", "--app-id", "not-a-guid", "--domain", "x y"])
    assert bad.exit_code != 0


def test_a_version_teams_would_refuse_is_refused(tmp_path: Path) -> None:
    for version in ("1.0", "abc", "01.0.0", "1.0.0-beta"):
        with pytest.raises(PackageInvalid) as caught:
            build_package(PackageSpec(bot_id=BOT_ID, domain="rapport.contoso.com", version=version))
        assert any("MAJOR.MINOR.PATCH" in p for p in caught.value.problems), (version, caught.value.problems)
    assert build_package(PackageSpec(bot_id=BOT_ID, domain="rapport.contoso.com", version="10.0.1"))


def test_an_unwritable_out_path_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "app.zip"
    result = CliRunner().invoke(build_app(), ["manifest", "build", "--app-id", BOT_ID, "--domain",
                                              "rapport.contoso.com", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "cannot write" in result.output
    assert isinstance(result.exception, SystemExit)  # a usage error, not an uncaught OSError
    assert not out.exists()
