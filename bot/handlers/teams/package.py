"""The Teams app package: ``manifest.json`` (schema 1.22) and two icons, zipped, for a deployment.

:func:`build_manifest` is the one definition of Slotbot's Teams app: the bot in personal, team
and group-chat scopes with its command suggestions, the message extension (a ``pages`` search
command, and a link handler that unfurls meeting links on the deployment's host and its custom
domains, also for users who have not installed the app) and the valid domains. Schema 1.22 is
the current version in Microsoft's manifest documentation. :func:`icons` draws ``color.png``
(192x192, full colour) and ``outline.png`` (32x32, white on transparent) with the standard library
(zlib + struct). :func:`package` zips the three files; ``slotbot teams-package`` writes it, and
``appPackage/`` at the repository root is its output for ``https://slotbot.example.com``.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

SCHEMA_VERSION = "1.22"
SCHEMA = f"https://developer.microsoft.com/json-schemas/teams/v{SCHEMA_VERSION}/MicrosoftTeams.schema.json"
ACCENT = (0x23, 0x58, 0xC4)
SCOPES = ["personal", "team", "groupChat"]
MAX_DOMAINS = 16
COMMANDS = (  # what users see as suggestions (title <= 32, description <= 128 characters)
    ("when am I free this week?", "Your free time across every connected calendar"),
    ("share my link", "Your booking link, ready to share in this conversation"),
    ("connect google", "Connect a Google or Microsoft 365 calendar (connect microsoft)"),
    ("calendars", "Your calendars and whether Slotbot can read them"),
    ("pages", "Your scheduling pages"),
    ("settings", "Your settings, through a sign-in link for you only"),
    ("help", "Everything Slotbot can do"),
)
DESCRIPTION = (
    "Ask Slotbot \"when am I free this week?\" in your own words, in English, Portuguese or Danish: "
    "it reads every calendar you connect (Google, Microsoft 365, Exchange) and answers with the "
    "times that are free in all of them. Share your booking link in any chat; guests pick a time on "
    "your scheduling page and the meeting lands in your calendar. Only busy events block time, and "
    "a calendar Slotbot cannot read counts as unknown, never as free. In a channel, @mention "
    "Slotbot: whatever is meant for you alone comes to your chat with it."
)
_HOST = re.compile(r"^(?:\*\.)?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class PackageError(ValueError):
    """An argument Teams would refuse; ``str()`` is one sentence."""


def _https(url: str, option: str) -> str:
    """``url`` without a trailing slash, if Teams can call it (https, a host, no query)."""
    cleaned = url.strip().rstrip("/")
    parts = urlsplit(cleaned)
    if (parts.scheme, bool(parts.hostname), parts.query, parts.fragment) != ("https", True, "", ""):
        raise PackageError(f"{option} must be a plain https:// URL (Teams calls only https), not {url!r}")
    return cleaned


def _domain(domain: str) -> str:
    """A bare host name (no scheme, port or path), as messageHandlers and validDomains want."""
    if not _HOST.match(domain.strip().lower()):
        raise PackageError(f"--domain must be a bare domain like meet.example.com, not {domain!r}")
    return domain.strip().lower()


def build_manifest(base_url: str, app_id: str, *, domains: tuple[str, ...] = (), version: str = "1.0.0",
                   privacy_url: str = "", terms_url: str = "") -> dict[str, Any]:
    """The manifest for the bot ``app_id`` (its Azure Bot's app id) served at ``base_url``.

    ``domains``: custom domains of scheduling pages, unfurled besides ``base_url``'s host.
    """
    base = _https(base_url, "--base-url")
    if not _GUID.match(app_id.strip()):
        raise PackageError(f"--app-id must be the bot's Microsoft app id (a GUID), not {app_id!r}")
    app_id = app_id.strip().lower()
    host = urlsplit(base).hostname or ""
    hosts = list(dict.fromkeys([host, *map(_domain, domains)]))
    if len(hosts) > MAX_DOMAINS:
        raise PackageError(f"Teams accepts at most {MAX_DOMAINS} domains")
    return {
        "$schema": SCHEMA,
        "manifestVersion": SCHEMA_VERSION,
        "version": version,
        "id": app_id,
        "developer": {
            "name": "Slotbot",
            "websiteUrl": base + "/",
            "privacyUrl": _https(privacy_url, "--privacy-url") if privacy_url else base + "/",
            "termsOfUseUrl": _https(terms_url, "--terms-url") if terms_url else base + "/",
        },
        "name": {"short": "Slotbot", "full": "Slotbot: meeting scheduling in chat"},
        "description": {"short": "Find free time across your calendars and share meeting links.",
                        "full": DESCRIPTION},
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [{
            "botId": app_id,
            "scopes": SCOPES,
            "supportsFiles": False,
            "isNotificationOnly": False,
            "commandLists": [{"scopes": SCOPES, "commands": [
                {"title": title, "description": description} for title, description in COMMANDS]}],
        }],
        "composeExtensions": [{
            "botId": app_id,
            "commands": [{
                "id": "pages", "type": "query", "context": ["compose", "commandBox"],
                "title": "Scheduling pages", "description": "Pick one of your pages to share",
                "initialRun": True,
                "parameters": [{"name": "query", "title": "Page", "description": "Search your pages",
                                "inputType": "text"}],
            }],
            "messageHandlers": [{"type": "link",
                                 "value": {"domains": hosts, "supportsAnonymizedPayloads": True}}],
        }],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": hosts,
    }


def manifest_json(manifest: dict[str, Any]) -> str:
    """``manifest`` as indented JSON text with a final newline."""
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


# -- icons --------------------------------------------------------------------------------------

Pixel = tuple[int, int, int, int]


def png(width: int, height: int, pixel: Callable[[int, int], Pixel]) -> bytes:
    """An 8-bit RGBA PNG whose pixel (x, y) is ``pixel(x, y)``."""
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))


def _calendar(size: int, x: int, y: int) -> str:
    """What (x, y) of a calendar glyph drawn on a ``size`` square is: ring, edge, band, day, first
    (the first day) or '' (background). Drawn on a 32-unit grid, scaled."""
    u = size / 32
    if not (5 * u <= x < 27 * u and 7 * u <= y < 27 * u):
        ring = (9 * u <= x < 11 * u or 21 * u <= x < 23 * u) and 4 * u <= y < 9 * u
        return "ring" if ring else ""
    if x < 7 * u or x >= 25 * u or y >= 25 * u:
        return "edge"
    if y < 12 * u:
        return "band"
    column, row = int((x - 7 * u) // (4.5 * u)), int((y - 13 * u) // (4 * u))
    inside = (x - 7 * u) % (4.5 * u) < 3 * u and y >= 13 * u and (y - 13 * u) % (4 * u) < 2.6 * u
    if not inside or row > 2:
        return ""
    return "first" if (column, row) == (0, 0) else "day"


def color_icon(size: int = 192) -> bytes:
    """The full-colour icon: a white calendar on Slotbot's blue, the first day booked (amber)."""
    colours: dict[str, Pixel] = {"": (*ACCENT, 255), "first": (0xF2, 0xA9, 0x00, 255)}
    return png(size, size, lambda x, y: colours.get(_calendar(size, x, y), (255, 255, 255, 255)))


def outline_icon(size: int = 32) -> bytes:
    """The outline icon: the calendar's frame, white on transparency."""
    def pixel(x: int, y: int) -> Pixel:
        return (255, 255, 255, 255 if _calendar(size, x, y) in ("ring", "edge", "band") else 0)

    return png(size, size, pixel)


def icons() -> dict[str, bytes]:
    """``color.png`` (192x192) and ``outline.png`` (32x32)."""
    return {"color.png": color_icon(), "outline.png": outline_icon()}


def package(manifest: dict[str, Any]) -> bytes:
    """The app package: a zip of ``manifest.json`` and the icons at its root."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", manifest_json(manifest))
        for name, data in icons().items():
            archive.writestr(name, data)
    return buffer.getvalue()
