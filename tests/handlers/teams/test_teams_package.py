"""The Teams app package: appPackage/ is the generated one, the manifest keeps schema 1.22's rules
and matches what the bot handles, the icons are the sizes Teams asks for, `slotbot teams-package`."""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.handlers.teams import extension
from bot.handlers.teams.package import PackageError, build_manifest, icons, manifest_json
from bot.pages.domains import Domains
from tests.support.paths import ROOT

EXAMPLE_APP = "00000000-0000-4000-8000-000000000000"
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def slotbot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "bot.cli.main", *args], capture_output=True, text=True,
                          timeout=60, check=False, cwd=ROOT, env={**os.environ, **(env or {})})


def _pixels(data: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """Width, height and RGBA pixels of a PNG written with filter 0 (as ours are)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks[kind] = body
        position += 12 + length
    width, height, depth, colour, _, _, _ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, colour) == (8, 6)  # 8-bit RGBA
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = 1 + 4 * width
    pixels = [tuple(raw[row * stride + 1 + 4 * x: row * stride + 5 + 4 * x])
              for row in range(height) for x in range(width)]
    assert all(raw[row * stride] == 0 for row in range(height))
    return width, height, pixels


def test_the_checked_in_app_package_is_the_generated_one() -> None:
    folder = ROOT / "appPackage"
    assert sorted(p.name for p in folder.iterdir()) == ["color.png", "manifest.json", "outline.png"]
    assert (folder / "manifest.json").read_text() == manifest_json(
        build_manifest("https://slotbot.example.com", EXAMPLE_APP))
    for name, data in icons().items():
        assert (folder / name).read_bytes() == data, name


def test_icons_are_the_sizes_and_colours_teams_asks_for() -> None:
    width, height, pixels = _pixels(icons()["color.png"])
    assert (width, height) == (192, 192)
    assert all(alpha == 255 for *_, alpha in pixels)  # full colour, opaque
    assert len(set(pixels)) >= 3
    width, height, pixels = _pixels(icons()["outline.png"])
    assert (width, height) == (32, 32)
    assert all(p == (255, 255, 255, 255) or p[3] == 0 for p in pixels)  # white on transparency
    assert any(p[3] == 255 for p in pixels) and any(p[3] == 0 for p in pixels)


def _check_schema_rules(manifest: dict[str, Any]) -> None:
    """The rules of the 1.22 schema that this manifest's fields are subject to."""
    assert manifest["$schema"] == "https://developer.microsoft.com/json-schemas/teams/v1.22/MicrosoftTeams.schema.json"
    assert manifest["manifestVersion"] == "1.22" and re.match(r"^\d+\.\d+\.\d+$", manifest["version"])
    required = ("manifestVersion", "version", "id", "developer", "name", "description", "icons",
                "accentColor")
    assert all(key in manifest for key in required)
    assert GUID.match(manifest["id"]) and re.match(r"^#[0-9a-fA-F]{6}$", manifest["accentColor"])
    developer = manifest["developer"]
    assert len(developer["name"]) <= 32
    assert all(developer[k].startswith("https://") for k in ("websiteUrl", "privacyUrl", "termsOfUseUrl"))
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["name"]["full"]) <= 100
    assert len(manifest["description"]["short"]) <= 80 and len(manifest["description"]["full"]) <= 4000
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    [bot] = manifest["bots"]
    assert bot["botId"] == manifest["id"] and bot["scopes"] == ["personal", "team", "groupChat"]
    [commands] = bot["commandLists"]
    assert 1 <= len(commands["commands"]) <= 10
    assert all(len(c["title"]) <= 32 and len(c["description"]) <= 128 for c in commands["commands"])
    [compose] = manifest["composeExtensions"]
    assert compose["botId"] == manifest["id"]
    [command] = compose["commands"]
    assert command["type"] == "query" and len(command["title"]) <= 32 and len(command["id"]) <= 64
    [handler] = compose["messageHandlers"]
    assert handler["type"] == "link" and handler["value"]["supportsAnonymizedPayloads"] is True
    assert len(manifest["validDomains"]) <= 16
    for domain in [*manifest["validDomains"], *handler["value"]["domains"]]:
        assert "/" not in domain and ":" not in domain


def test_the_manifest_keeps_the_schemas_rules_and_matches_the_bot() -> None:
    manifest = build_manifest("https://meet.acme.example/slotbot/", "5E1F0C2A-0000-4000-8000-7EA450000001",
                              domains=("Book.Acme.example", "meet.acme.example"))
    _check_schema_rules(manifest)
    assert manifest["id"] == "5e1f0c2a-0000-4000-8000-7ea450000001"
    handler = manifest["composeExtensions"][0]["messageHandlers"][0]
    hosts = ["meet.acme.example", "book.acme.example"]
    assert handler["value"]["domains"] == manifest["validDomains"] == hosts
    # The extension's command is the one the bot answers.
    assert manifest["composeExtensions"][0]["commands"][0]["id"] == "pages"
    assert extension.QUERY == "composeExtension/query"
    _check_schema_rules(json.loads((ROOT / "appPackage" / "manifest.json").read_text()))


@pytest.mark.parametrize(("base_url", "app_id", "domains"), [
    ("http://meet.acme.example", EXAMPLE_APP, ()),
    ("https://meet.acme.example/?x=1", EXAMPLE_APP, ()),
    ("https://meet.acme.example", "not-a-guid", ()),
    ("https://meet.acme.example", EXAMPLE_APP, ("https://book.acme.example",)),
    ("https://meet.acme.example", EXAMPLE_APP, tuple(f"d{n}.acme.example" for n in range(16))),
])
def test_what_teams_would_refuse_is_refused(base_url: str, app_id: str, domains: tuple[str, ...]) -> None:
    with pytest.raises(PackageError):
        build_manifest(base_url, app_id, domains=domains)


def test_slotbot_teams_package_writes_the_zip(tmp_path: Path) -> None:
    target = tmp_path / "slotbot.zip"
    done = slotbot("teams-package", "--base-url", "https://meet.acme.example", "--app-id", EXAMPLE_APP,
                   "--domain", "book.acme.example", "--version", "1.2.3", "--output", str(target))
    assert done.returncode == 0, done.stderr
    assert "book.acme.example" in done.stdout
    with zipfile.ZipFile(io.BytesIO(target.read_bytes())) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        assert archive.read("color.png") == icons()["color.png"]
    assert manifest["version"] == "1.2.3"
    assert manifest["validDomains"] == ["meet.acme.example", "book.acme.example"]
    refused = slotbot("teams-package", "--base-url", "http://meet.acme.example", "--app-id", EXAMPLE_APP,
                      "--output", str(tmp_path / "no.zip"))
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "https" in refused.stderr
    assert not (tmp_path / "no.zip").exists()


async def test_custom_domains_come_from_the_database(
        tmp_path: Path, database_url: str, sessions: async_sessionmaker[AsyncSession]) -> None:
    await Domains(sessions).add("book.acme.example")
    target = tmp_path / "slotbot.zip"
    done = slotbot("teams-package", "--base-url", "https://meet.acme.example", "--app-id", EXAMPLE_APP,
                   "--custom-domains", "--output", str(target), env={"DATABASE_URL": database_url})
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(target) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["validDomains"] == ["meet.acme.example", "book.acme.example"]
