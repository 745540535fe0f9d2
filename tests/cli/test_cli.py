"""The command line: help everywhere, one-line errors with exit 2, migrations, the demo."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.conftest import TEST_KEY

SLOTBOT = [sys.executable, "-m", "bot.cli.main"]


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60,
    prefix: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run ``slotbot args`` (behind ``prefix``, e.g. a privilege dropper) without our settings."""
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLOTBOT_", "DATABASE_URL", "GOOGLE_", "MICROSOFT_", "SLACK_"))
    }
    full_env.update(env or {})
    return subprocess.run(
        [*prefix, *SLOTBOT, *args], env=full_env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    "command", [[], ["serve"], ["demo"], ["db"], ["db", "upgrade"], ["db", "current"], ["genkey"], ["free"]]
)
def test_help_on_every_subcommand(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0
    assert "usage: slotbot" in result.stdout


def test_settings_error_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run("serve", env={"SLOTBOT_SECRET_KEY": TEST_KEY, "SLOTBOT_PORT": "eighty"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "SLOTBOT_PORT" in result.stderr and "Traceback" not in result.stderr


def test_missing_secret_key_is_one_line(tmp_path: Path) -> None:
    result = run("serve", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("slotbot: SLOTBOT_SECRET_KEY is not set")


def test_serve_refuses_unmigrated_database_then_db_upgrade_migrates(tmp_path: Path) -> None:
    env = {"SLOTBOT_SECRET_KEY": TEST_KEY, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/s.db"}
    refused = run("serve", "--port", "0", env=env, cwd=tmp_path)
    assert refused.returncode == 2
    assert "slotbot db upgrade" in refused.stderr and refused.stderr.count("\n") == 1
    upgraded = run("db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "revision" in upgraded.stdout
    current = run("db", "current", env=env, cwd=tmp_path)
    newest = re.search(r"newest: (\S+)", current.stdout)
    assert newest and f"current: {newest.group(1)}" in current.stdout


def test_genkey_prints_a_usable_key(tmp_path: Path) -> None:
    from bot.settings import decode_key

    key = run("genkey").stdout.strip()
    assert len(decode_key(key)) == 32


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SLOTBOT_SECRET_KEY=" + TEST_KEY + "\nSLOTBOT_LOG_LEVEL=LOUD\n")
    result = run("serve", cwd=tmp_path)
    assert result.returncode == 2 and "SLOTBOT_LOG_LEVEL" in result.stderr


def _start_demo(data_dir: Path, cwd: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLOTBOT_")}
    process = subprocess.Popen(
        [*SLOTBOT, "demo", "--data-dir", str(data_dir), "--port", "0", *extra],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        found = re.search(r"Start page:\s+(http://\S+?)/\s*$", line)
        if found:
            return process, found.group(1)
    process.kill()
    raise AssertionError(
        "demo did not print its start page: " + (process.stderr.read() if process.stderr else "")
    )


def test_demo_starts_with_no_configuration_and_answers_healthz(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    process, base = _start_demo(data_dir, tmp_path)
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=10) as response:
            assert response.status == 200
            assert b'"database": "ok"' in response.read()
        with urllib.request.urlopen(base + "/", timeout=10) as response:
            assert b"Slotbot" in response.read()
        assert process.stdout is not None
        welcome = []
        while not welcome or "Data folder:" not in welcome[-1]:
            welcome.append(process.stdout.readline())
            assert welcome[-1], "the demo's welcome ended early"
        text = "".join(welcome)
        caldav = r"Demo CalDAV:\s+https://127\.0\.0\.1:\d+/\s+\(user demo, password \S+\)"
        assert re.search(caldav, text), text
        assert re.search(r"Demo ICS feed:\s+https://127\.0\.0\.1:\d+/calendars/\S+\.ics", text), text
        with urllib.request.urlopen(base + "/demo/free", timeout=10) as response:
            free = response.read().decode()
        assert "Team calendar" in free and "Company events" in free  # merged with the sample calendar
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    key = data_dir / "secret.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert (data_dir / "slotbot.db").exists()
    # A second start reuses the key and the seeded data.
    first_key = key.read_text()
    process, base = _start_demo(data_dir, tmp_path)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=20)
    assert key.read_text() == first_key


async def test_demo_exchange_connects_from_the_dashboard(tmp_path: Path) -> None:
    import aiohttp

    process, base = _start_demo(tmp_path / "data", tmp_path, "--exchange")
    try:
        assert process.stdout is not None
        line = ""
        while "Demo Exchange:" not in line:
            line = process.stdout.readline()
            assert line, "the demo printed no Exchange server"
        found = re.search(r"Demo Exchange:\s+(https://127\.0\.0\.1:\d+/EWS/Exchange\.asmx)\s+"
                          r"\(sign in as (\S+), password (\S+)\)", line)
        assert found, line
        url, email, password = found.groups()
        jar = aiohttp.CookieJar(unsafe=True)  # the demo's host is an IP address
        async with aiohttp.ClientSession(cookie_jar=jar) as browser:
            async with browser.get(base + "/demo/login") as signed_in:
                assert signed_in.status == 200
            async with browser.get(base + "/dashboard/connect/exchange") as form:
                page = await form.text()
            assert f'value="{url}"' in page and f'value="{email}"' in page  # the demo fills them in
            csrf = re.search(r'name="csrf" value="([^"]+)"', page)
            assert csrf
            data = {"csrf": csrf.group(1), "email": email, "password": password, "ews_url": url}
            async with browser.post(base + "/dashboard/connect/exchange", data=data) as connected:
                dashboard = await connected.text()
            assert connected.status == 200 and f"Connected {email}" in dashboard, dashboard
            assert "Team" in dashboard  # the sample mailbox's second calendar
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)


def test_demo_with_unusable_data_dir_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run("demo", "--data-dir", str(blocker / "sub"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("slotbot: cannot create the data folder")


@pytest.mark.parametrize("args", [["--bogus"], ["nonsense"], ["serve", "--port", "x"]])
def test_usage_errors_are_one_line(args: list[str]) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "usage:" not in result.stderr


def test_free_is_a_slotbot_subcommand(tmp_path: Path) -> None:
    from bot.demo.seed import sample_ics

    ics = tmp_path / "demo.ics"
    ics.write_text(sample_ics())
    result = run(
        "free",
        "--ics",
        str(ics),
        "--from",
        "2026-11-23",
        "--days",
        "1",
        "--tz",
        "Europe/Copenhagen",
        "--now",
        "2026-11-01T00:00:00+00:00",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    import json

    body = json.loads(result.stdout)
    assert body["busy"][0] == {"start": "2026-11-23T09:30:00+01:00", "end": "2026-11-23T09:45:00+01:00"}


def test_domain_commands_add_list_remove_with_one_line_errors(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/s.db"}
    assert run("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    added = run("domain", "add", "Meet.Example.com", env=env, cwd=tmp_path)
    assert added.returncode == 0 and "meet.example.com" in added.stdout
    bad = run("domain", "add", "https://meet.example.com/x", env=env, cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "host name only" in bad.stderr
    listed = run("domain", "list", env=env, cwd=tmp_path)
    assert listed.stdout.strip() == "meet.example.com\tactive"
    assert run("domain", "remove", "meet.example.com", env=env, cwd=tmp_path).returncode == 0
    assert run("domain", "list", env=env, cwd=tmp_path).stdout.strip() == "meet.example.com\tremoved"
    unknown = run("domain", "remove", "other.example.com", env=env, cwd=tmp_path)
    assert unknown.returncode == 2 and "not a custom domain" in unknown.stderr
