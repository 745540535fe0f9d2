"""Settings: typed, from the environment only when asked, one clear line per bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError
from tests.conftest import TEST_KEY

BASE = {"SLOTBOT_SECRET_KEY": TEST_KEY}


def test_defaults_and_endpoints_are_settings() -> None:
    settings = Settings.from_env({**BASE, "GOOGLE_CALENDAR_API_BASE": "http://127.0.0.1:9/calendar/v3",
                                  "MICROSOFT_AUTHORITY": "https://127.0.0.1:9/tenant/",
                                  "SLACK_API_BASE": "http://127.0.0.1:9/api",
                                  "SMTP_HOST": "127.0.0.1", "SMTP_PORT": "2525"})
    assert settings.database_url.startswith("sqlite+aiosqlite://")
    assert settings.google.api_base == "http://127.0.0.1:9/calendar/v3/"
    assert settings.microsoft.authority == "https://127.0.0.1:9/tenant"
    assert settings.slack.api_base == "http://127.0.0.1:9/api/"
    assert (settings.smtp.host, settings.smtp.port) == ("127.0.0.1", 2525)
    assert len(settings.secret_key) == 32


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "SLOTBOT_SECRET_KEY"),
        ({"SLOTBOT_SECRET_KEY": "too-short"}, "SLOTBOT_SECRET_KEY"),
        ({**BASE, "SLOTBOT_PORT": "eighty"}, "SLOTBOT_PORT"),
        ({**BASE, "SLOTBOT_PORT": "70000"}, "SLOTBOT_PORT"),
        ({**BASE, "DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({**BASE, "SMTP_TLS": "maybe"}, "SMTP_TLS"),
        ({**BASE, "GOOGLE_TOKEN_URI": "not a url"}, "GOOGLE_TOKEN_URI"),
        ({**BASE, "SLOTBOT_DEFAULT_TIMEZONE": "Mars/Olympus"}, "SLOTBOT_DEFAULT_TIMEZONE"),
        ({**BASE, "SLOTBOT_OLD_SECRET_KEYS": "abc"}, "SLOTBOT_OLD_SECRET_KEYS"),
        ({**BASE, "SLOTBOT_DEMO": "perhaps"}, "SLOTBOT_DEMO"),
        ({**BASE, "SLOTBOT_TRUSTED_PROXIES": "10.0.0.1, proxy.internal"}, "SLOTBOT_TRUSTED_PROXIES"),
        ({**BASE, "SLOTBOT_ALLOWED_PRIVATE_NETWORKS": "10.0.0.0/8, exchange.internal"},
         "SLOTBOT_ALLOWED_PRIVATE_NETWORKS"),
        ({**BASE, "SLOTBOT_ALLOWED_PRIVATE_NETWORKS": "10.0.0.0/33"}, "SLOTBOT_ALLOWED_PRIVATE_NETWORKS"),
        ({**BASE, "SLOTBOT_EXTRA_CA_FILE": "/nonexistent/company-ca.pem"}, "SLOTBOT_EXTRA_CA_FILE"),
        ({**BASE, "SLOTBOT_EXTRA_CA_FILE": "/"}, "SLOTBOT_EXTRA_CA_FILE"),
    ],
)
def test_bad_values_name_the_variable_on_one_line(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    message = str(info.value)
    assert message.startswith(variable + " ")
    assert "expected" in message and "\n" not in message


def test_secret_values_are_not_in_repr() -> None:
    settings = Settings.from_env({**BASE, "GOOGLE_CLIENT_SECRET": "gcs-123456789",
                                  "SLACK_SIGNING_SECRET": "sss-123456789"})
    shown = repr(settings)
    assert "gcs-123456789" not in shown and "sss-123456789" not in shown
    assert "gcs-123456789" in settings.secret_values()


def test_old_keys_are_kept_for_rotation() -> None:
    import base64

    old = base64.b64encode(bytes(32)).decode()
    settings = Settings.from_env({**BASE, "SLOTBOT_OLD_SECRET_KEYS": f" {old} ,"})
    assert settings.secret_keys[1] == bytes(32)


def test_trusted_proxies_are_addresses_and_networks() -> None:
    import ipaddress

    assert Settings.from_env(BASE).trusted_proxies == ()
    settings = Settings.from_env({**BASE, "SLOTBOT_TRUSTED_PROXIES": " 10.0.0.0/8, ::1 ,192.0.2.7"})
    assert settings.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1"), ipaddress.ip_network("192.0.2.7"))


def test_allowed_private_networks_become_the_address_policy() -> None:
    from bot.calendar.ssrf import AddressPolicy

    assert Settings.from_env(BASE).address_policy == AddressPolicy()
    assert not Settings.from_env(BASE).address_policy.permits("10.0.0.5")
    settings = Settings.from_env({**BASE, "SLOTBOT_ALLOWED_PRIVATE_NETWORKS": " 10.0.0.0/8 , fd00::/8 "})
    assert settings.address_policy == AddressPolicy.parse("10.0.0.0/8,fd00::/8")
    assert settings.address_policy.permits("10.0.0.5") and not settings.address_policy.permits("127.0.0.1")


def test_a_bad_private_network_is_named() -> None:
    with pytest.raises(SettingsError, match=r"'exchange\.internal' is not an IP network"):
        Settings.from_env({**BASE, "SLOTBOT_ALLOWED_PRIVATE_NETWORKS": "10.0.0.0/8, exchange.internal"})


def test_the_extra_ca_file_must_hold_certificates(tmp_path: Path) -> None:
    from tests.fakes.base import make_tls_files

    assert Settings.from_env(BASE).extra_ca_file is None
    cert = make_tls_files(tmp_path).cert
    assert Settings.from_env({**BASE, "SLOTBOT_EXTRA_CA_FILE": f" {cert} "}).extra_ca_file == str(cert)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(SettingsError, match=r"^SLOTBOT_EXTRA_CA_FILE is malformed"):
        Settings.from_env({**BASE, "SLOTBOT_EXTRA_CA_FILE": str(junk)})
