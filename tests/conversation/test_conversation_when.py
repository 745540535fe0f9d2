"""Time expressions in English, Portuguese and Danish: fixed ``now`` and zones, DST weeks included."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.conversation.daytime import find_duration, normalize
from bot.conversation.when import parse_when

CPH = "Europe/Copenhagen"
NYC = "America/New_York"
SAO = "America/Sao_Paulo"
# Thursday 26 March 2026, 10:00 in Copenhagen; summer time starts Sunday 29 March at 02:00.
THU = datetime(2026, 3, 26, 10, 0, tzinfo=ZoneInfo(CPH))


def local(zone: str, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


# (language, text, start, end, minutes): all in Copenhagen, now = THU.
CASES = [
    ("en", "when am I free tomorrow afternoon?", "2026-03-27 12:00", "2026-03-27 18:00", None),
    ("en", "tomorrow morning", "2026-03-27 06:00", "2026-03-27 12:00", None),
    ("en", "this afternoon", "2026-03-26 12:00", "2026-03-26 18:00", None),
    ("en", "tonight", "2026-03-26 18:00", "2026-03-26 23:00", None),
    ("en", "next week", "2026-03-30 00:00", "2026-04-06 00:00", None),
    ("en", "this week", "2026-03-26 10:00", "2026-03-30 00:00", None),
    ("en", "tuesday next week", "2026-03-31 00:00", "2026-04-01 00:00", None),
    ("en", "friday 2-5pm", "2026-03-27 14:00", "2026-03-27 17:00", None),
    ("en", "friday 11-2pm", "2026-03-27 11:00", "2026-03-27 14:00", None),
    ("en", "friday 9-11am", "2026-03-27 09:00", "2026-03-27 11:00", None),
    ("en", "between 10 and noon on monday", "2026-03-30 10:00", "2026-03-30 12:00", None),
    ("en", "after 3pm tomorrow", "2026-03-27 15:00", "2026-03-28 00:00", None),
    ("en", "before 11 on friday", "2026-03-27 00:00", "2026-03-27 11:00", None),
    ("en", "tomorrow at 3pm", "2026-03-27 15:00", "2026-03-27 16:00", None),
    ("en", "tomorrow at 3pm for 30 minutes", "2026-03-27 15:00", "2026-03-27 15:30", 30),
    ("en", "in the next 3 days", "2026-03-26 10:00", "2026-03-30 00:00", None),
    ("en", "over the next two weeks", "2026-03-26 10:00", "2026-04-10 00:00", None),
    ("en", "the next 2 working days", "2026-03-26 10:00", "2026-03-31 00:00", None),
    ("en", "free for 45 minutes on friday", "2026-03-27 00:00", "2026-03-28 00:00", 45),
    ("en", "an hour on friday", "2026-03-27 00:00", "2026-03-28 00:00", 60),
    ("en", "half an hour tomorrow morning", "2026-03-27 06:00", "2026-03-27 12:00", 30),
    ("en", "1h30 on monday", "2026-03-30 00:00", "2026-03-31 00:00", 90),
    ("en", "find a time the day after tomorrow", "2026-03-28 00:00", "2026-03-29 00:00", None),
    ("en", "good morning! am I free today?", "2026-03-26 10:00", "2026-03-27 00:00", None),
    ("en", "3 april", "2026-04-03 00:00", "2026-04-04 00:00", None),
    ("en", "this weekend", "2026-03-28 00:00", "2026-03-30 00:00", None),
    ("pt_BR", "amanhã à tarde", "2026-03-27 12:00", "2026-03-27 18:00", None),
    ("pt_BR", "quando estou livre amanhã de manhã?", "2026-03-27 06:00", "2026-03-27 12:00", None),
    ("pt_BR", "próxima semana", "2026-03-30 00:00", "2026-04-06 00:00", None),
    ("pt_BR", "semana que vem", "2026-03-30 00:00", "2026-04-06 00:00", None),
    ("pt_BR", "esta semana", "2026-03-26 10:00", "2026-03-30 00:00", None),
    ("pt_BR", "terça da próxima semana", "2026-03-31 00:00", "2026-04-01 00:00", None),
    ("pt_BR", "sexta 14h-17h", "2026-03-27 14:00", "2026-03-27 17:00", None),
    ("pt_BR", "das 14h às 17h na sexta", "2026-03-27 14:00", "2026-03-27 17:00", None),
    ("pt_BR", "depois das 15h amanhã", "2026-03-27 15:00", "2026-03-28 00:00", None),
    ("pt_BR", "nos próximos 3 dias", "2026-03-26 10:00", "2026-03-30 00:00", None),
    ("pt_BR", "por 45 minutos na sexta", "2026-03-27 00:00", "2026-03-28 00:00", 45),
    ("pt_BR", "uma hora e meia amanhã", "2026-03-27 00:00", "2026-03-28 00:00", 90),
    ("pt_BR", "reunião de 1h depois de amanhã", "2026-03-28 00:00", "2026-03-29 00:00", 60),
    ("pt_BR", "hoje à noite", "2026-03-26 18:00", "2026-03-26 23:00", None),
    ("pt_BR", "2/4", "2026-04-02 00:00", "2026-04-03 00:00", None),
    ("da", "i morgen eftermiddag", "2026-03-27 12:00", "2026-03-27 18:00", None),
    ("da", "hvornår er jeg ledig i morgen?", "2026-03-27 00:00", "2026-03-28 00:00", None),
    ("da", "i morgen tidlig", "2026-03-27 06:00", "2026-03-27 12:00", None),
    ("da", "i eftermiddag", "2026-03-26 12:00", "2026-03-26 18:00", None),
    ("da", "i aften", "2026-03-26 18:00", "2026-03-26 23:00", None),
    ("da", "næste uge", "2026-03-30 00:00", "2026-04-06 00:00", None),
    ("da", "denne uge", "2026-03-26 10:00", "2026-03-30 00:00", None),
    ("da", "tirsdag i næste uge", "2026-03-31 00:00", "2026-04-01 00:00", None),
    ("da", "fredag kl. 14-17", "2026-03-27 14:00", "2026-03-27 17:00", None),
    ("da", "efter kl. 15 i morgen", "2026-03-27 15:00", "2026-03-28 00:00", None),
    ("da", "de næste 3 dage", "2026-03-26 10:00", "2026-03-30 00:00", None),
    ("da", "i 45 minutter på fredag", "2026-03-27 00:00", "2026-03-28 00:00", 45),
    ("da", "en time i overmorgen", "2026-03-28 00:00", "2026-03-29 00:00", 60),
    ("da", "2. april", "2026-04-02 00:00", "2026-04-03 00:00", None),
]


@pytest.mark.parametrize(("language", "text", "start", "end", "minutes"), CASES)
def test_expressions(language: str, text: str, start: str, end: str, minutes: int | None) -> None:
    when = parse_when(text, language=language, timezone=CPH, now=THU)
    assert (when.start, when.end) == (local(CPH, start), local(CPH, end)), text
    assert when.duration_minutes == minutes
    assert when.explicit and when.daily is None
    assert when.start.tzinfo is not None and when.end.tzinfo is not None


@pytest.mark.parametrize(("language", "text"), [
    ("en", "from monday to wednesday afternoons"),
    ("pt_BR", "de segunda a quarta à tarde"),
    ("da", "fra mandag til onsdag eftermiddag"),
])
def test_hours_on_every_day_of_a_longer_window(language: str, text: str) -> None:
    when = parse_when(text, language=language, timezone=CPH, now=THU)
    assert (when.start, when.end) == (local(CPH, "2026-03-30 00:00"), local(CPH, "2026-04-02 00:00"))
    assert when.daily == (time(12), time(18))


@pytest.mark.parametrize(("language", "text", "minutes"), [
    ("en", "when am I free?", None),
    ("en", "am I free for 45 minutes?", 45),
    ("pt_BR", "quando estou livre por 45 minutos?", 45),
    ("da", "hvornår er jeg ledig i 45 minutter?", 45),
    ("da", "hvornår er jeg ledig?", None),
])
def test_nothing_said_about_time_is_the_rest_of_today_and_three_working_days(
    language: str, text: str, minutes: int | None
) -> None:
    when = parse_when(text, language=language, timezone=CPH, now=THU)
    # Thursday: the rest of today, then Friday, Monday and Tuesday.
    assert not when.explicit
    assert (when.start, when.end) == (THU, local(CPH, "2026-04-01 00:00"))
    assert when.duration_minutes == minutes


def test_default_window_follows_the_working_days_given() -> None:
    when = parse_when("free?", language="en", timezone=CPH, now=THU, workdays=(0, 2))
    # The next three days out of Monday and Wednesday: Mon 30, Wed 1, Mon 6.
    assert when.end == local(CPH, "2026-04-07 00:00")


def test_a_week_across_the_start_of_summer_time_in_copenhagen() -> None:
    now = datetime(2026, 3, 19, 10, 0, tzinfo=ZoneInfo(CPH))
    for language, text in (("en", "next week"), ("pt_BR", "próxima semana"), ("da", "næste uge")):
        when = parse_when(text, language=language, timezone=CPH, now=now)
        assert when.start == local(CPH, "2026-03-23 00:00")
        assert when.end == local(CPH, "2026-03-30 00:00")
        assert when.start.utcoffset() == timedelta(hours=1)
        assert when.end.utcoffset() == timedelta(hours=2)
        # Elapsed time (aware datetimes of one zone subtract as wall time, so compare in UTC).
        assert when.end.astimezone(UTC) - when.start.astimezone(UTC) == timedelta(days=7, hours=-1)
        assert when.end.astimezone(UTC) == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)


def test_a_week_across_the_end_of_daylight_time_in_new_york() -> None:
    now = datetime(2026, 10, 29, 10, 0, tzinfo=ZoneInfo(NYC))  # Thursday; clocks go back Sun 1 Nov
    when = parse_when("this week", language="en", timezone=NYC, now=now)
    assert when.start == now and when.end == local(NYC, "2026-11-02 00:00")
    assert when.end.astimezone(UTC) == datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
    sunday = parse_when("sunday afternoon", language="en", timezone=NYC, now=now)
    assert sunday.start.astimezone(UTC) == datetime(2026, 11, 1, 17, 0, tzinfo=UTC)  # EST, -05:00
    friday = parse_when("friday afternoon", language="en", timezone=NYC, now=now)
    assert friday.start.astimezone(UTC) == datetime(2026, 10, 30, 16, 0, tzinfo=UTC)  # EDT, -04:00


def test_sao_paulo_has_no_daylight_time_and_parses_portuguese() -> None:
    now = datetime(2026, 10, 29, 10, 0, tzinfo=ZoneInfo(SAO))
    when = parse_when("amanhã à tarde", language="pt_BR", timezone=SAO, now=now)
    assert when.start.astimezone(UTC) == datetime(2026, 10, 30, 15, 0, tzinfo=UTC)
    week = parse_when("semana que vem", language="pt_BR", timezone=SAO, now=now)
    assert week.end.astimezone(UTC) - week.start.astimezone(UTC) == timedelta(days=7)


def test_a_part_of_the_day_already_over_means_tomorrow() -> None:
    evening = datetime(2026, 3, 26, 19, 0, tzinfo=ZoneInfo(CPH))
    when = parse_when("afternoon", language="en", timezone=CPH, now=evening)
    assert when.start == local(CPH, "2026-03-27 12:00")


def test_a_past_day_stays_in_the_past() -> None:
    when = parse_when("yesterday", language="en", timezone=CPH, now=THU)
    assert when.end <= THU


def test_other_languages_are_understood_whatever_the_speaker_speaks() -> None:
    when = parse_when("i morgen eftermiddag", language="en", timezone=CPH, now=THU)
    assert when.start == local(CPH, "2026-03-27 12:00")


@pytest.mark.parametrize(("text", "minutes"), [
    ("for 45 minutes", 45), ("30 min", 30), ("a 30-minute call", 30), ("2 hours", 120),
    ("2.5 hours", 150), ("an hour and a half", 90), ("meia hora", 30), ("por 1 hora", 60),
    ("i 2 timer", 120), ("en halv time", 30), ("halvanden time", 90), ("find a time", None),
    ("at 15h", None), ("3 days", None),
])
def test_meeting_lengths(text: str, minutes: int | None) -> None:
    assert find_duration(normalize(text))[0] == minutes


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.sampled_from(["en", "pt_BR", "da"]))
def test_any_text_gives_an_ordered_aware_window(text: str, language: str) -> None:
    when = parse_when(text, language=language, timezone=CPH, now=THU)
    assert when.start.tzinfo is not None and when.end.tzinfo is not None
    assert when.start < when.end
    if when.end > THU:
        assert when.start >= THU
    if when.duration_minutes is not None:
        assert 5 <= when.duration_minutes <= 8 * 60
