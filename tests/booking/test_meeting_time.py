"""Meeting times as readers are told them: Babel in their language, their zone, no seconds, DST."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.booking.meeting_time import length_label, meeting_time, moment_text, when_text, zone_label
from bot.conversation.notices import notice_reply

START, END = datetime(2026, 12, 2, 1, 0, tzinfo=UTC), datetime(2026, 12, 2, 1, 30, tzinfo=UTC)


def test_day_start_and_end_in_each_language() -> None:
    assert meeting_time(START, END, "Asia/Tokyo", "en") == \
        "Wednesday, December 2, 2026 · 10:00\u2009\u2013\u200910:30\u202fAM"
    assert meeting_time(START, END, "Asia/Tokyo", "da") == "onsdag den 2. december 2026 · 10.00\u201310.30"
    assert meeting_time(START, END, "Asia/Tokyo", "pt") == \
        "quarta-feira, 2 de dezembro de 2026 · 10:00\u2009\u2013\u200910:30"
    assert meeting_time(START, END, "America/Sao_Paulo", "pt_BR").startswith(
        "terça-feira, 1 de dezembro de 2026 · 22:00")  # the evening before, in São Paulo


def test_zones_and_lengths_in_words() -> None:
    assert [zone_label("Asia/Tokyo", lang) for lang in ("en", "pt", "da")] == [
        "Tokyo time", "horário de Tóquio", "Tokyo-tid"]
    assert zone_label("Europe/Copenhagen", "da") == "København-tid"
    assert zone_label("UTC", "da") == "UTC" and zone_label("Etc/GMT+3", "en") == "Etc/GMT+3"
    assert [length_label(m, lang) for m, lang in ((30, "en"), (90, "da"), (1, "pt"))] == [
        "30 minutes", "90 minutter", "1 minuto"]


def test_times_across_daylight_saving_changes() -> None:
    # Copenhagen leaves summer time on 25 October 2026 at 03:00 (01:00 UTC).
    before = datetime(2026, 10, 24, 7, 0, tzinfo=UTC)  # 09:00 CEST
    after = datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert when_text(before, before.replace(minute=30), "Europe/Copenhagen", "da").endswith(
        "09.00\u201309.30 (København-tid)")
    assert when_text(after, after.replace(minute=30), "Europe/Copenhagen", "da").endswith(
        "09.00\u201309.30 (København-tid)")
    assert moment_text(after, "America/New_York", "en") == \
        "Monday, October 26, 2026 · 4:00\u202fAM (New York time)"


def test_the_hosts_chat_notice_carries_the_visitors_reason() -> None:
    params = {"visitor_name": "Ana", "title": "Intro call", "start": "2026-12-02T09:00:00+00:00"}
    plain = notice_reply("booking_cancelled", params, locale="da", timezone="Europe/Copenhagen").plain_text()
    assert "Ana" in plain and "Begrundelse" not in plain
    told = notice_reply("booking_cancelled", {**params, "reason": "Jeg er syg"}, locale="da",
                        timezone="Europe/Copenhagen").plain_text()
    assert told.startswith(plain) and "Begrundelse: Jeg er syg" in told
