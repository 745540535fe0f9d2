"""``slotbot free --ics https://...``: a feed read by its address, as a subprocess, the same JSON.

The fake feed host runs in its own thread over TLS; the command trusts its certificate through
``SSL_CERT_FILE`` (the system store's variable) and reaches its loopback address only because
``SLOTBOT_ALLOWED_PRIVATE_NETWORKS`` allows it. Every failure is one line on stderr, exit code 2,
and never the address (a secret).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fakes.base import TlsFiles
from tests.fakes.feeds import TOKEN, FakeFeeds, calendar

pytest_plugins = ["tests.fakes.feeds.fixtures"]

DAY = datetime(2031, 3, 3, tzinfo=UTC)
WINDOW = ["--from", "2031-03-03", "--days", "1", "--tz", "Europe/Copenhagen", "--duration", "60",
          "--hours", "mon 09:00-13:00", "--now", "2031-03-01T00:00:00+01:00", "--json"]


@pytest.fixture
def fake(feeds_tls: TlsFiles) -> Iterator[FakeFeeds]:
    with FakeFeeds(tls=feeds_tls) as running:
        yield running


def _run(tls: TlsFiles, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SLOTBOT_")}
    base.update({"SSL_CERT_FILE": str(tls.cert), "SLOTBOT_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8", **env})
    return subprocess.run([sys.executable, "-m", "bot.cli.free", *args], capture_output=True, text=True,
                          timeout=60, check=False, env=base)


def test_a_feed_address_gives_the_same_json_as_the_file(
    fake: FakeFeeds, feeds_tls: TlsFiles, tmp_path: Path
) -> None:
    body = calendar((DAY.replace(hour=9), DAY.replace(hour=10)))
    fake.publish("team", body)
    exported = tmp_path / "team.ics"
    exported.write_text(body)

    by_file = _run(feeds_tls, "--ics", str(exported), *WINDOW)
    for url in (fake.feed_url("team"), fake.feed_url("team", scheme="webcal")):
        by_url = _run(feeds_tls, "--ics", url, *WINDOW)
        assert by_url.returncode == 0, by_url.stderr
        assert by_url.stdout == by_file.stdout
    document = json.loads(by_file.stdout)
    assert document["busy"] == [{"start": "2031-03-03T10:00:00+01:00", "end": "2031-03-03T11:00:00+01:00"}]
    assert [s["start"][11:16] for s in document["slots"]] == ["09:00", "11:00", "12:00"]


@pytest.mark.parametrize(("path", "env", "words"), [
    ("/status/404", {}, "no longer has this calendar feed (404)"),
    ("/status/500", {}, "server error (500)"),
    ("/hop/5/team.ics", {}, "redirected more than 5 times"),
    ("/redirect?to=https://169.254.169.254/latest/meta-data/", {}, "private or local network address"),
    ("/huge.ics?bytes=3000000", {"SLOTBOT_FEED_MAX_BYTES": "1048576"}, "larger than 1 MB"),
    (f"/feeds/{TOKEN}/team.ics", {"SLOTBOT_ALLOWED_PRIVATE_NETWORKS": ""},
     "SLOTBOT_ALLOWED_PRIVATE_NETWORKS"),
    (f"/feeds/{TOKEN}/team.ics", {"SSL_CERT_FILE": "/nonexistent.pem"}, "certificate is not trusted"),
    (f"/feeds/{TOKEN}/page.ics", {}, "not an iCalendar file"),
])
def test_a_feed_that_cannot_be_read_is_one_line_and_exit_2(
    fake: FakeFeeds, feeds_tls: TlsFiles, path: str, env: dict[str, str], words: str
) -> None:
    fake.publish("team", calendar())
    fake.publish("page", "<html>Sign in</html>")

    done = _run(feeds_tls, "--ics", fake.url(path), *WINDOW, **env)

    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("slotbot free: ") and words in lines[0], done.stderr
    assert TOKEN not in done.stderr and "127.0.0.1" in done.stderr  # the host, never the address


def test_plain_http_is_refused(feeds_tls: TlsFiles) -> None:
    done = _run(feeds_tls, "--ics", f"http://127.0.0.1:9/feeds/{TOKEN}/team.ics", *WINDOW)
    assert done.returncode == 2 and "https://" in done.stderr and TOKEN not in done.stderr
