"""The Slack app manifest: manifest.json, `slotbot slack-manifest`, and what the app really uses."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.handlers.slack.manifest import (
    BOT_EVENTS,
    BOT_SCOPES,
    COMMAND,
    EVENTS_PATH,
    REDIRECT_PATH,
    ManifestError,
    build_manifest,
    manifest_json,
)
from tests.support.paths import ROOT


def slotbot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli.main", *args], capture_output=True, text=True,
                          timeout=60, check=False, cwd=ROOT)


def test_repository_manifest_is_the_generated_one() -> None:
    on_disk = (ROOT / "manifest.json").read_text()
    assert on_disk == manifest_json("https://slotbot.example.com")


def test_manifest_is_complete_and_consistent() -> None:
    manifest = build_manifest("https://meet.acme.example/")
    url = "https://meet.acme.example" + EVENTS_PATH
    features, settings = manifest["features"], manifest["settings"]
    assert features["slash_commands"][0]["command"] == COMMAND == "/meet"
    assert features["slash_commands"][0]["url"] == url
    assert settings["event_subscriptions"]["request_url"] == url
    assert settings["interactivity"] == {"is_enabled": True, "request_url": url}
    assert manifest["oauth_config"]["redirect_urls"] == ["https://meet.acme.example" + REDIRECT_PATH]
    assert features["unfurl_domains"] == ["meet.acme.example"]
    assert features["app_home"]["home_tab_enabled"] and features["app_home"]["messages_tab_enabled"]
    assert not features["app_home"]["messages_tab_read_only_enabled"]
    assert settings["token_rotation_enabled"] is True and settings["socket_mode_enabled"] is False
    assert features["bot_user"]["display_name"]
    info = manifest["display_information"]
    assert len(info["name"]) <= 35 and len(info["description"]) <= 140
    assert 175 <= len(info["long_description"]) <= 4000


def test_scopes_are_exactly_what_the_events_and_calls_need() -> None:
    scopes = set(build_manifest("https://x.example")["oauth_config"]["scopes"]["bot"])
    assert scopes == set(BOT_SCOPES)
    # Each subscribed event's scope is granted; nothing grants reading channels or writing DMs.
    needs = {"app_mention": "app_mentions:read", "message.im": "im:history", "link_shared": "links:read"}
    for event in BOT_EVENTS:
        if event in needs:
            assert needs[event] in scopes
    assert not scopes & {"channels:history", "groups:history", "im:write", "chat:write.public",
                         "users:write", "channels:read"}


def test_single_workspace_keeps_rotation_off_and_extra_domains_are_listed() -> None:
    manifest = build_manifest("https://x.example", single_workspace=True,
                              unfurl_domains=("Links.Example.org", "x.example"))
    assert manifest["settings"]["token_rotation_enabled"] is False
    assert manifest["features"]["unfurl_domains"] == ["x.example", "links.example.org"]


@pytest.mark.parametrize("url", ["http://x.example", "x.example", "https://", "ftp://x.example",
                                 "https://x.example/?a=1", "https://u:p@x.example"])
def test_bad_base_urls_are_refused(url: str) -> None:
    with pytest.raises(ManifestError):
        build_manifest(url)


def test_cli_prints_the_manifest_for_the_deployment() -> None:
    result = slotbot("slack-manifest", "--base-url", "https://slotbot.acme.example/",
                     "--unfurl-domain", "book.acme.example")
    assert result.returncode == 0, result.stderr
    manifest = json.loads(result.stdout)
    assert manifest["settings"]["event_subscriptions"]["request_url"] == (
        "https://slotbot.acme.example/slack/events")
    assert manifest["features"]["unfurl_domains"] == ["slotbot.acme.example", "book.acme.example"]


@pytest.mark.parametrize("args", [["--base-url", "http://slotbot.acme.example"],
                                  ["--base-url", "https://x.example", "--unfurl-domain", "https://y.example/"],
                                  []])
def test_cli_bad_input_is_one_line_and_exit_2(args: list[str]) -> None:
    result = slotbot("slack-manifest", *args)
    assert result.returncode == 2
    assert result.stdout == "" and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_cli_help() -> None:
    result = slotbot("slack-manifest", "--help")
    assert result.returncode == 0 and "--base-url" in result.stdout
