"""With no SMTP server, the demo shows each e-mail in full (recipient, subject, body with its
manage link, the invitation) on its console; ``serve`` logs one line without the body."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.cli.demo import demo_settings
from bot.keys import OUTBOX, SESSIONS
from bot.notices.email import enqueue_email
from bot.settings import Settings
from storage.db import create_engine, upgrade
from tests.conftest import TEST_KEY

LINK = "http://127.0.0.1:8080/meetings-manage/demo-manage-t0ken-aaaaaaaaaaaaaaaaaaaa"
ICS = ("BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nSUMMARY:Intro call\r\nEND:VEVENT\r\n"
       "END:VCALENDAR\r\n")


async def _mail_once(aiohttp_client: Any, settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    await upgrade(engine)
    await engine.dispose()
    client: TestClient = await aiohttp_client(create_app(settings))
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        enqueue_email(session, to="ana@example.com", to_name="Ana Lima", subject="Booked: Intro call",
                      text=f"Thank you, Ana Lima.\n\nChange or cancel: {LINK}", ics=ICS)
    client.app[OUTBOX].wake()
    await asyncio.sleep(0.5)


async def test_the_demo_prints_each_email_readably(aiohttp_client: Any, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SMTP_HOST", raising=False)
    await _mail_once(aiohttp_client, demo_settings(tmp_path, TEST_KEY, host="127.0.0.1", port=8080))
    shown = capsys.readouterr().out
    assert "To: Ana Lima <ana@example.com>" in shown
    assert "Subject: Booked: Intro call" in shown
    assert f"Change or cancel: {LINK}" in shown
    assert "text/calendar; method=REQUEST" in shown and "SUMMARY:Intro call" in shown


async def test_serve_without_smtp_logs_a_line_without_the_body(
        aiohttp_client: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings.from_env({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/s.db",
                                  "SLOTBOT_SECRET_KEY": TEST_KEY, "SLOTBOT_OUTBOX_POLL_SECONDS": "0.05"})
    with caplog.at_level(logging.INFO, logger="bot.notices.email"):
        await _mail_once(aiohttp_client, settings)
    assert capsys.readouterr().out == ""
    [line] = [r for r in caplog.records if r.name == "bot.notices.email"]
    assert line.levelno == logging.WARNING and "not sent" in line.getMessage()
    logged = line.getMessage() + str(vars(line))
    assert "meetings-manage" not in logged and "Thank you" not in logged and "ana@example.com" not in logged
