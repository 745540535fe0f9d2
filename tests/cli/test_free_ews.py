"""``slotbot free --ews``: an Exchange mailbox read through the same provider, the same output.

The command runs as a subprocess against the fake EWS server (TLS, NTLM), with the password in
``SLOTBOT_EWS_PASSWORD``, the fake's certificate trusted through ``SSL_CERT_FILE`` (the system
store's variable) and its loopback address allowed by ``SLOTBOT_ALLOWED_PRIVATE_NETWORKS``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.fakes.base import TlsFiles
from tests.fakes.exchange import DEFAULT_PASSWORD, FakeExchange
from tests.fakes.exchange.client import isolated

pytest_plugins = ["tests.fakes.exchange.fixtures"]

WINDOW = ["--from", "2031-03-03", "--days", "1", "--tz", "Europe/Copenhagen", "--duration", "60",
          "--hours", "mon 09:00-13:00", "--now", "2031-03-01T00:00:00+01:00", "--json"]


@pytest.fixture
def fake(exchange_tls: TlsFiles) -> Iterator[FakeExchange]:
    with isolated(), FakeExchange(exchange_tls) as running:
        yield running


def _run(fake: FakeExchange, tls: TlsFiles, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SLOTBOT_")}
    base.update({"SSL_CERT_FILE": str(tls.cert), "SLOTBOT_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
                 "SLOTBOT_EWS_PASSWORD": DEFAULT_PASSWORD, **env})
    return subprocess.run([sys.executable, "-m", "bot.cli.free", *args], capture_output=True, text=True,
                          timeout=60, check=False, env=base)


def test_reads_the_mailbox_calendar_and_prints_the_same_json(
    fake: FakeExchange, exchange_tls: TlsFiles
) -> None:
    day = datetime(2031, 3, 3, tzinfo=UTC)
    fake.add_event(fake.host.calendar, day.replace(hour=9), day.replace(hour=10))
    fake.add_event(fake.host.calendar, day.replace(hour=11), day.replace(hour=12), show_as="Free")

    done = _run(fake, exchange_tls, "--ews", fake.url, "--ews-email", fake.host.email, *WINDOW)

    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["busy"] == [{"start": "2031-03-03T10:00:00+01:00", "end": "2031-03-03T11:00:00+01:00"}]
    assert [s["start"][11:16] for s in document["slots"]] == ["09:00", "11:00", "12:00"]
    assert DEFAULT_PASSWORD not in done.stdout + done.stderr
    basic = _run(fake, exchange_tls, "--ews", fake.url, "--ews-email", fake.host.email, "--ews-auth", "basic",
                 *WINDOW)
    assert basic.returncode == 0, basic.stderr
    assert json.loads(basic.stdout) == document


@pytest.mark.parametrize(
    ("change", "sentence"),
    [
        ({"SLOTBOT_EWS_PASSWORD": "Wrong-Password-9"}, "did not accept"),
        ({"SLOTBOT_EWS_PASSWORD": ""}, "set SLOTBOT_EWS_PASSWORD"),
        ({"SLOTBOT_ALLOWED_PRIVATE_NETWORKS": ""}, "private or local network address"),
        ({"SLOTBOT_ALLOWED_PRIVATE_NETWORKS": "not-a-network"}, "SLOTBOT_ALLOWED_PRIVATE_NETWORKS"),
        ({"SSL_CERT_FILE": "/nonexistent.pem"}, "certificate is not trusted"),
        ({"URL": "/owa/"}, "Nothing answered as Exchange"),
        ({"URL": "unreachable"}, "could not be reached"),
        ({"AUTH": "kerberos"}, "--ews-auth must be ntlm or basic"),
    ],
)
def test_failures_are_one_line_and_exit_2(
    fake: FakeExchange, exchange_tls: TlsFiles, change: dict[str, str], sentence: str
) -> None:
    url = fake.url
    extra: list[str] = []
    if change.get("URL") == "/owa/":
        url = fake.base_url + "/owa/"
    elif change.get("URL") == "unreachable":
        url = "https://127.0.0.1:9/EWS/Exchange.asmx"
    if "AUTH" in change:
        extra = ["--ews-auth", change["AUTH"]]
    env = {k: v for k, v in change.items() if k not in ("URL", "AUTH")}

    done = _run(fake, exchange_tls, "--ews", url, "--ews-email", fake.host.email, *extra, *WINDOW,
                **env)

    assert done.returncode == 2, done.stdout
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("slotbot free: ")
    assert sentence in lines[0], lines
    assert "Traceback" not in done.stderr and "Wrong-Password-9" not in done.stderr
