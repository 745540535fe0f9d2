"""TeamsSettings: the bot's registration and endpoints, from the environment."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError
from tests.conftest import TEST_KEY

BASE = {"SLOTBOT_SECRET_KEY": TEST_KEY}
BOT = {**BASE, "TEAMS_APP_ID": "app-id", "TEAMS_APP_PASSWORD": "bot-password-123456", "TEAMS_TENANT_ID": "t1"}


def test_off_without_an_app_id_and_the_bot_framework_defaults() -> None:
    teams = Settings.from_env(BASE).teams
    assert not teams.enabled
    assert teams.openid_metadata_url == "https://login.botframework.com/v1/.well-known/openidconfiguration"
    assert teams.token_issuer == teams.oauth_scope == "https://api.botframework.com"


def test_single_tenant_authority_and_overrides() -> None:
    teams = Settings.from_env(BOT).teams
    assert teams.enabled and teams.authority == "https://login.microsoftonline.com/t1"
    teams = Settings.from_env({**BOT, "TEAMS_LOGIN_URL": "https://127.0.0.1:9/t1/",
                               "TEAMS_OAUTH_SCOPE": "https://api.botframework.us/",
                               "TEAMS_CA_BUNDLE": "/etc/ca.pem"}).teams
    assert teams.authority == "https://127.0.0.1:9/t1"
    assert teams.oauth_scope == "https://api.botframework.us" and teams.ca_bundle == "/etc/ca.pem"


@pytest.mark.parametrize(("env", "variable"), [
    ({**BASE, "TEAMS_APP_ID": "app-id", "TEAMS_TENANT_ID": "t1"}, "TEAMS_APP_PASSWORD"),
    ({**BASE, "TEAMS_APP_ID": "app-id", "TEAMS_APP_PASSWORD": "x"}, "TEAMS_TENANT_ID"),
    ({**BOT, "TEAMS_OPENID_METADATA_URL": "login.botframework.com"}, "TEAMS_OPENID_METADATA_URL"),
    ({**BOT, "TEAMS_TOKEN_ISSUER": "api"}, "TEAMS_TOKEN_ISSUER"),
    ({**BOT, "TEAMS_LOGIN_URL": "ftp://x"}, "TEAMS_LOGIN_URL"),
])
def test_bad_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert str(info.value).startswith(variable + " ")


def test_the_password_is_a_secret() -> None:
    settings = Settings.from_env(BOT)
    assert "bot-password-123456" not in repr(settings)
    assert "bot-password-123456" in settings.secret_values()
