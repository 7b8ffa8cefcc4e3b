"""Build and validate the Teams app package (``manifest.json``, ``zh-cn.json``, two icons, zipped).

The manifest comes from ``manifest.template.json`` (placeholders ``{{NAME}}`` in strings; ``"{{COMMAND_LISTS}}"``
stands for the whole generated value), the Chinese strings from ``zh-cn.template.json`` plus the generated
command lists. Validation uses the vendored official schemas (``schema/``, v1.30, MIT) and Teams' icon rules.
"""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft4Validator
from PIL import Image

from appmanifest.commands import ManifestCommand, bot_command_table, command_list
from appmanifest.errors import PackageInvalid
from appmanifest.icons import COLOR_SIZE, OUTLINE_SIZE, color_icon, outline_icon

MANIFEST_SCHEMA = "MicrosoftTeams.schema.json"
LOCALIZATION_SCHEMA = "MicrosoftTeams.Localization.schema.json"
# Teams app ids derived from the bot id are stable, so a rebuilt package updates the installed app.
_APP_NAMESPACE = uuid.UUID("5b0e6a4e-52a9-4c1e-9d0f-7a3c2e1b4d60")
_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HOST = re.compile(r"(?=.{1,253}$)(\*\.)?([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}(:\d+)?")
_SEMVER = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
PERSONAL, SHARED = ["personal"], ["team", "groupChat"]


@dataclass(frozen=True)
class PackageSpec:
    """What varies between deployments."""

    bot_id: str  # the bot's Entra app (client) id; also the SSO app id
    domain: str  # the host the bot is served from, e.g. rapport.contoso.com
    version: str = "1.0.0"
    teams_app_id: str | None = None  # default: derived from bot_id
    developer: str = "Rapport"
    website_url: str | None = None  # default: https://{domain}/
    privacy_url: str | None = None
    terms_url: str | None = None

    def values(self) -> dict[str, str]:
        site = self.website_url or f"https://{self.domain}/"
        return {"VERSION": self.version, "BOT_ID": self.bot_id.lower(), "DOMAIN": self.domain,
                "TEAMS_APP_ID": (self.teams_app_id or str(uuid.uuid5(_APP_NAMESPACE, self.bot_id.lower()))),
                "DEVELOPER": self.developer, "WEBSITE_URL": site, "PRIVACY_URL": self.privacy_url or site,
                "TERMS_URL": self.terms_url or site}


@dataclass(frozen=True)
class BuiltPackage:
    """The zip's bytes and what went into it."""

    data: bytes
    manifest: dict[str, Any]
    localization: dict[str, Any]
    commands: dict[str, list[ManifestCommand]]


@cache
def schema(name: str) -> dict[str, Any]:
    """A vendored schema, loaded with importlib.resources."""
    text = resources.files("appmanifest").joinpath("schema", name).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def command_limit() -> int:
    """Commands per command list allowed by the vendored schema (12 in v1.30)."""
    lists = schema(MANIFEST_SCHEMA)["properties"]["bots"]["items"]["properties"]["commandLists"]
    return int(lists["items"]["properties"]["commands"]["maxItems"])


def _template(name: str) -> Any:
    return json.loads(resources.files("appmanifest").joinpath(name).read_text(encoding="utf-8"))


def _fill(node: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(node, dict):
        return {k: _fill(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, values) for v in node]
    if isinstance(node, str):
        whole = _PLACEHOLDER.fullmatch(node)
        if whole and not isinstance(values[whole.group(1)], str):
            return values[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), node)
    return node


def _lists(commands: list[ManifestCommand]) -> list[dict[str, Any]]:
    entries = [{"title": c.title, "description": c.description} for c in commands]
    return [{"scopes": PERSONAL, "commands": entries}, {"scopes": SHARED, "commands": entries}]


def build_package(spec: PackageSpec) -> BuiltPackage:
    """The app package for ``spec``, validated (raises :class:`PackageInvalid`)."""
    problems = []
    if not _GUID.fullmatch(spec.bot_id):
        problems.append(f"--app-id must be the bot's Entra application (client) id, a GUID: {spec.bot_id!r}")
    if not _HOST.fullmatch(spec.domain):
        problems.append(f"--domain must be a host name such as rapport.contoso.com: {spec.domain!r}")
    if problems:
        raise PackageInvalid(problems)
    table = bot_command_table()
    limit = command_limit()
    commands = {"en": command_list(table, "en", limit=limit), "zh": command_list(table, "zh", limit=limit)}
    manifest = _fill(_template("manifest.template.json"), {**spec.values(), "COMMAND_LISTS": _lists(commands["en"])})
    localization = _template("zh-cn.template.json")
    for i, _scopes in enumerate((PERSONAL, SHARED)):
        for j, c in enumerate(commands["zh"]):
            localization[f"bots[0].commandLists[{i}].commands[{j}].title"] = c.title
            localization[f"bots[0].commandLists[{i}].commands[{j}].description"] = c.description
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        # Teams wants the files at the root of the zip, not in a folder.
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        archive.writestr("zh-cn.json", json.dumps(localization, ensure_ascii=False, indent=2))
        archive.writestr("color.png", color_icon())
        archive.writestr("outline.png", outline_icon())
    data = out.getvalue()
    validate_package(data)
    return BuiltPackage(data, manifest, localization, commands)


def _schema_problems(document: Any, schema_name: str, where: str) -> list[str]:
    validator = Draft4Validator(schema(schema_name), format_checker=Draft4Validator.FORMAT_CHECKER)
    return [f"{where}: {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))]


def _icon_problems(archive: zipfile.ZipFile, name: str, size: int, *, outline: bool) -> list[str]:
    try:
        image = Image.open(io.BytesIO(archive.read(name)))
        image.load()
    except (KeyError, OSError) as err:
        return [f"{name}: {err}"]
    problems = []
    if image.format != "PNG":
        problems.append(f"{name}: not a PNG")
    if image.size != (size, size):
        problems.append(f"{name}: {image.size[0]}×{image.size[1]}, expected {size}×{size}")
    if outline:
        rgba = image.convert("RGBA")
        pixels = list(rgba.getdata())
        if not any(a == 0 for *_, a in pixels):
            problems.append(f"{name}: needs a transparent background")
        if any(a > 0 and (r, g, b) != (255, 255, 255) for r, g, b, a in pixels):
            problems.append(f"{name}: only white and transparent pixels are allowed")
    return problems


def _version_problems(manifest: Mapping[str, Any]) -> list[str]:
    # v1.30's schema only says "must follow semver" in a description; Teams refuses anything but
    # MAJOR.MINOR.PATCH (the pattern earlier schemas enforced), so check it here.
    version = manifest.get("version")
    if isinstance(version, str) and not _SEMVER.fullmatch(version):
        return [f"manifest.json: version: {version!r} is not MAJOR.MINOR.PATCH (e.g. 1.0.1)"]
    return []


def validate_package(data: bytes) -> dict[str, Any]:
    """Check a package against the schemas and icon rules; the manifest, or :class:`PackageInvalid`."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        manifest = json.loads(archive.read("manifest.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as err:
        raise PackageInvalid([f"not an app package: {err}"]) from err
    with archive:
        names = set(archive.namelist())
        problems = _schema_problems(manifest, MANIFEST_SCHEMA, "manifest.json")
        problems += _version_problems(manifest)
        icons = manifest.get("icons", {})
        problems += _icon_problems(archive, icons.get("color", "color.png"), COLOR_SIZE, outline=False)
        problems += _icon_problems(archive, icons.get("outline", "outline.png"), OUTLINE_SIZE, outline=True)
        for language in manifest.get("localizationInfo", {}).get("additionalLanguages", []):
            if language["file"] not in names:
                problems.append(f"{language['file']}: listed in localizationInfo but missing")
                continue
            strings = json.loads(archive.read(language["file"]))
            problems += _schema_problems(strings, LOCALIZATION_SCHEMA, language["file"])
        if any("/" in n for n in names):
            problems.append("files must sit at the root of the zip")
    if problems:
        raise PackageInvalid(problems)
    return dict(manifest)
