"""``slotbot free --caldav``: every calendar of a CalDAV account, through the same provider, the same output.

The command runs as a subprocess against Radicale behind the counting https proxy (in its own
thread, so the blocking subprocess call cannot stall it), the proxy's certificate trusted through
``SSL_CERT_FILE`` and its loopback address allowed by ``SLOTBOT_ALLOWED_PRIVATE_NETWORKS``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.base import TlsFiles
from tests.fakes.caldav import Account, CalDavProxy, Radicale

pytest_plugins = ["tests.fakes.caldav.fixtures"]

WINDOW = ["--from", "2031-03-03", "--days", "1", "--tz", "Europe/Copenhagen", "--duration", "60",
          "--hours", "mon 09:00-13:00", "--now", "2031-03-01T00:00:00+01:00", "--json"]


@pytest.fixture
def proxy(radicale: Radicale, caldav_tls: TlsFiles) -> Iterator[CalDavProxy]:
    with CalDavProxy(radicale.url, tls=caldav_tls) as running:
        yield running


def _event(uid: str, start: str, end: str, extra: str = "") -> str:
    return (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
            f"DTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n")


def _run(tls: TlsFiles, home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SLOTBOT_") and k != "NETRC"}
    base.update({"SSL_CERT_FILE": str(tls.cert), "SLOTBOT_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
                 "HOME": str(home), **env})
    return subprocess.run([sys.executable, "-m", "bot.cli.free", *args], capture_output=True, text=True,
                          timeout=60, check=False, env=base)


def test_reads_every_calendar_and_prints_the_same_json(
    proxy: CalDavProxy, caldav_account: Account, caldav_tls: TlsFiles, tmp_path: Path
) -> None:
    work = caldav_account.mkcalendar("work")
    team = caldav_account.readonly("team")
    caldav_account.put(work, _event("a", "20310303T080000Z", "20310303T090000Z"))
    caldav_account.put(work, _event("b", "20310303T100000Z", "20310303T110000Z", "TRANSP:TRANSPARENT\r\n"))
    caldav_account.put(team, _event("c", "20310303T110000Z", "20310303T113000Z"), as_curator=True)
    url = proxy.base_url + "/"

    done = _run(caldav_tls, tmp_path, "--caldav", url, *WINDOW,
                SLOTBOT_CALDAV_USERNAME=caldav_account.username,
                SLOTBOT_CALDAV_PASSWORD=caldav_account.password)

    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["busy"] == [{"start": "2031-03-03T09:00:00+01:00", "end": "2031-03-03T10:00:00+01:00"},
                                {"start": "2031-03-03T12:00:00+01:00", "end": "2031-03-03T12:30:00+01:00"}]
    assert [s["start"][11:16] for s in document["slots"]] == ["10:00", "11:00"]
    assert caldav_account.password not in done.stdout + done.stderr
    assert {c.path for c in proxy.reports()} == {work, team}

    (tmp_path / ".netrc").write_text(
        f"machine 127.0.0.1 login {caldav_account.username} password {caldav_account.password}\n")
    (tmp_path / ".netrc").chmod(0o600)
    from_netrc = _run(caldav_tls, tmp_path, "--caldav", url, *WINDOW)
    assert from_netrc.returncode == 0, from_netrc.stderr
    assert json.loads(from_netrc.stdout) == document


@pytest.mark.parametrize(("env", "sentence"), [
    ({}, "set SLOTBOT_CALDAV_USERNAME and SLOTBOT_CALDAV_PASSWORD"),
    ({"SLOTBOT_CALDAV_PASSWORD": "Wrong-App-Password-9"}, "did not accept this user name and password"),
    ({"SLOTBOT_ALLOWED_PRIVATE_NETWORKS": ""}, "SLOTBOT_ALLOWED_PRIVATE_NETWORKS"),
    ({"SSL_CERT_FILE": "/dev/null"}, "is not trusted"),
])
def test_each_failure_is_one_line_and_exit_code_2(
    proxy: CalDavProxy, caldav_account: Account, caldav_tls: TlsFiles, tmp_path: Path,
    env: dict[str, str], sentence: str,
) -> None:
    caldav_account.mkcalendar("work")
    sign_in = {"SLOTBOT_CALDAV_USERNAME": caldav_account.username,
               "SLOTBOT_CALDAV_PASSWORD": caldav_account.password} if env else {}

    done = _run(caldav_tls, tmp_path, "--caldav", proxy.base_url + "/", *WINDOW, **{**sign_in, **env})

    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("slotbot free: --caldav: ") and done.stderr.count("\n") == 1, done.stderr
    assert sentence in done.stderr, done.stderr
    assert caldav_account.password not in done.stderr and "Wrong-App-Password-9" not in done.stderr
    if "NETWORKS" in sentence or "set SLOTBOT" in sentence:
        assert not proxy.requests  # nothing reached the server
