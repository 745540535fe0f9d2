"""The Slack app manifest: one definition of Slotbot's Slack app, filled in for a deployment.

:func:`build_manifest` is the source of truth for the slash command, the bot scopes (least
privilege: each is needed by one listener, listed in :data:`BOT_SCOPES`), the events, interactivity,
the App Home and the unfurl domains. ``manifest.json`` at the repository root is its output for
``https://slotbot.example.com``; ``slotbot slack-manifest --base-url URL`` prints it for yours, to
paste at https://api.slack.com/apps -> Create New App -> From an app manifest.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

COMMAND = "/meet"
EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"

# Every scope and the reason it is asked for.
BOT_SCOPES: dict[str, str] = {
    "app_mentions:read": "answer @Slotbot mentions (app_mention)",
    "chat:write": "reply in conversations and send notices to a user's App Home messages tab",
    "commands": "the /meet command",
    "im:history": "read direct messages sent to Slotbot (message.im)",
    "links:read": "see meeting links posted in conversations (link_shared)",
    "links:write": "show a meeting link's free slots under it (chat.unfurl)",
    "users:read": "a person's name, time zone and language (users.info)",
    "users:read.email": "a person's e-mail address, so invitations reach them",
}
BOT_EVENTS = (
    "app_home_opened",
    "app_mention",
    "app_uninstalled",
    "link_shared",
    "message.im",
    "tokens_revoked",
)
LONG_DESCRIPTION = (
    "Slotbot connects your Google, Microsoft 365 and Exchange calendars, answers \"when am I free?\" "
    "in plain language (English, Portuguese, Danish) with availability merged across every "
    "calendar, and shares meeting links your guests book on a scheduling page. Only events shown "
    "as busy block time, and a calendar that cannot be read is shown as unknown, never as free. "
    "Type /meet help to start."
)


class ManifestError(ValueError):
    """A base URL or domain Slack would not accept; ``str()`` is one sentence."""


def check_base_url(base_url: str) -> str:
    """``base_url`` without a trailing slash, or :class:`ManifestError` if Slack would refuse it."""
    parts = urlsplit(base_url.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ManifestError(
            f"--base-url must be an https:// URL (Slack sends requests only to https), not {base_url!r}"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ManifestError(f"--base-url must be a plain https://host[/path] URL, not {base_url!r}")
    return base_url.strip().rstrip("/")


def check_domain(domain: str) -> str:
    """A bare host name for ``unfurl_domains`` (no scheme, port or path)."""
    cleaned = domain.strip().lower()
    if not cleaned or any(c in cleaned for c in "/:?#@ ") or "." not in cleaned:
        raise ManifestError(f"--unfurl-domain must be a bare domain like links.example.com, not {domain!r}")
    return cleaned


def build_manifest(
    base_url: str, *, single_workspace: bool = False, unfurl_domains: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The manifest for a deployment at ``base_url`` (https).

    ``single_workspace``: the app runs on one bot token (``SLACK_BOT_TOKEN``), so token rotation,
    which would expire that token, stays off. ``unfurl_domains``: custom domains of scheduling
    pages, besides ``base_url``'s host.
    """
    base = check_base_url(base_url)
    host = urlsplit(base).hostname or ""
    domains = [host] + [d for d in map(check_domain, unfurl_domains) if d != host]
    if len(domains) > 5:
        raise ManifestError("Slack accepts at most 5 unfurl domains")
    events_url = base + EVENTS_PATH
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": "Slotbot",
            "description": "Find free time across your calendars and share meeting links.",
            "long_description": LONG_DESCRIPTION,
            "background_color": "#2358c4",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": "Slotbot", "always_online": True},
            "slash_commands": [
                {
                    "command": COMMAND,
                    "url": events_url,
                    "description": "Free time, meeting links and calendar connections",
                    "usage_hint": "free tomorrow afternoon | link | connect google | calendars | help",
                    "should_escape": False,
                }
            ],
            "unfurl_domains": domains,
        },
        "oauth_config": {
            "redirect_urls": [base + REDIRECT_PATH],
            "scopes": {"bot": sorted(BOT_SCOPES)},
        },
        "settings": {
            "event_subscriptions": {"request_url": events_url, "bot_events": list(BOT_EVENTS)},
            "interactivity": {"is_enabled": True, "request_url": events_url},
            "org_deploy_enabled": False,
            "socket_mode_enabled": False,
            "token_rotation_enabled": not single_workspace,
        },
    }


def manifest_json(
    base_url: str, *, single_workspace: bool = False, unfurl_domains: tuple[str, ...] = ()
) -> str:
    """:func:`build_manifest` as indented JSON text with a final newline."""
    manifest = build_manifest(base_url, single_workspace=single_workspace, unfurl_domains=unfurl_domains)
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
