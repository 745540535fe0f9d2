"""The dashboard's page editor form: its fields for a stored page and their checked values.

The editor posts one flat form with indexed fields, so it works without JavaScript (the script
only adds and removes rows):

* lengths: ``length_15`` ... ``length_90`` switches, ``lengths_other`` ("20, 120") and the hidden
  ``lengths_order`` (the stored order, so the first length stays first);
* weekly hours: ``day_mon`` ("Available on Monday") and ranges ``mon_start_<n>``/``mon_end_<n>``
  (``<input type="time">``; an end of 00:00 is midnight, stored as ``24:00``);
* overrides: ``override_date_<n>`` with ``override_start_<n>``/``override_end_<n>`` or
  ``override_off_<n>`` (unavailable all day); several rows may share a date (several ranges); a
  row without a date is dropped;
* questions: ``question_<n>`` and ``question_required_<n>``, in the order of ``<n>``;
* location ``location_kind``/``location_value``, reminders ``reminder_1440``/``reminder_60``/
  ``reminder_15`` and ``remind_host``, ``colour`` (``#rrggbb``).

:func:`parse_page_form` is pure and collects every problem, each with the field it belongs to
(:attr:`PageSettingsError.fields`), so the editor shows it beside that field.
:func:`page_form` is its inverse for a stored page: loading a page and posting it unchanged stores
the same rules, lengths and questions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from bot.pages.location import NEEDS_VALUE, LocationKind
from bot.plain_text import many_lines, one_line
from bot.rules import DAY_NAMES, RulesError, format_range, parse_range, rules_from_json
from storage.models import SchedulingPage

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
LANGUAGE_CHOICES = ("", "en", "pt", "da")
MINUTE_FIELDS = {
    "buffer_before": (0, 240), "buffer_after": (0, 240), "notice": (0, 60 * 24 * 30),
    "horizon_days": (1, 730), "max_per_day": (1, 100), "increment": (5, 480),
}
OPTIONAL_FIELDS = ("max_per_day", "increment")
COMMON_LENGTHS = (15, 30, 45, 60, 90)
REMINDER_CHOICES = (1440, 60, 15)
"""Minutes before a meeting a page can remind at (24 hours, 1 hour, 15 minutes)."""
DEFAULT_COLOUR = "#2358c4"
"""The accent a page without its own colour uses (slotbot.css ``--accent``)."""
DAY_LABELS = dict(zip(DAY_NAMES, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                  "Saturday", "Sunday"), strict=True))
MAX_QUESTIONS = 10
MAX_ROWS = 200  # rows of one kind a form may post (ranges of a day, override rows, questions)
COLOUR = re.compile(r"^#[0-9a-f]{6}$")
CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::[0-5]\d(?:\.\d+)?)?$")
PHONE = re.compile(r"^\+?[0-9 ().-]{5,32}$")
URL_LIMIT = 1000
ADDRESS_LIMIT = 300


class PageSettingsError(ValueError):
    """Settings that cannot be saved: ``problems`` holds one sentence per problem and ``fields``
    the sentence(s) of each field that has one (the editor shows them beside the field)."""

    def __init__(self, problems: list[str], fields: Mapping[str, str] | None = None) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems
        self.fields = dict(fields or {})


@dataclass(frozen=True, slots=True)
class PageValues:
    """A page's editable values, checked."""

    title: str
    slug: str
    description: str
    durations: list[int]
    rules: dict[str, Any]
    questions: list[dict[str, Any]]
    language: str | None
    enabled: bool
    in_widget: bool
    location_kind: LocationKind = LocationKind.NONE
    location_value: str = ""
    reminders: list[int] = field(default_factory=list)
    remind_host: bool = False
    colour: str | None = None


class _Problems:
    """Problems in the order found, each remembered for its field."""

    def __init__(self) -> None:
        self.sentences: list[str] = []
        self.fields: dict[str, str] = {}

    def add(self, name: str, sentence: str) -> None:
        self.sentences.append(sentence)
        self.fields[name] = f"{self.fields[name]} {sentence}" if name in self.fields else sentence

    def __bool__(self) -> bool:
        return bool(self.sentences)


def _indices(form: Mapping[str, str], prefix: str) -> list[int]:
    """The ``<n>`` of every ``<prefix><n>`` field, in order (at most :data:`MAX_ROWS`)."""
    found = sorted({int(key[len(prefix):]) for key in form
                    if key.startswith(prefix) and key[len(prefix):].isdigit()})
    return found[:MAX_ROWS]


def _clock(text: str) -> str | None:
    """A time field's value as ``HH:MM`` (browsers may add seconds), None when it is not a time."""
    found = CLOCK.match(text.strip())
    return f"{int(found.group(1)):02d}:{found.group(2)}" if found else None


def _range(start: str, end: str) -> str:
    """``start``-``end`` checked (raises :class:`RulesError`); an end of 00:00 is midnight."""
    first, last = _clock(start), _clock(end)
    if first is None or last is None:
        raise RulesError("each range needs a start and an end time like 09:00")
    return format_range(parse_range(f"{first}-{'24:00' if last == '00:00' else last}"))


def _durations(form: Mapping[str, str], problems: _Problems) -> list[int]:
    chosen = {n for n in COMMON_LENGTHS if form.get(f"length_{n}") == "on"}
    for part in (p.strip() for p in form.get("lengths_other", "").split(",")):
        if not part:
            continue
        if not part.isdigit() or not 5 <= int(part) <= 480:
            problems.add("lengths", f"Meeting lengths are minutes from 5 to 480, not {part[:20]!r}.")
        else:
            chosen.add(int(part))
    order = [int(p) for p in form.get("lengths_order", "").split(",") if p.strip().isdigit()]
    durations = sorted(chosen, key=lambda n: (order.index(n) if n in order else len(order), n))
    if not durations and "lengths" not in problems.fields:
        problems.add("lengths", "Offer at least one meeting length.")
    return durations


def _weekly(form: Mapping[str, str], problems: _Problems) -> dict[str, list[str]]:
    weekly: dict[str, list[str]] = {}
    for day in DAY_NAMES:
        if form.get(f"day_{day}") != "on":
            continue
        ranges: list[str] = []
        for n in _indices(form, f"{day}_start_"):
            start, end = form.get(f"{day}_start_{n}", ""), form.get(f"{day}_end_{n}", "")
            if not start.strip() and not end.strip():
                continue
            try:
                ranges.append(_range(start, end))
            except RulesError as exc:
                problems.add(f"hours_{day}", f"{DAY_LABELS[day]}: {exc}.")
        if ranges:
            weekly[day] = ranges
        elif f"hours_{day}" not in problems.fields:
            problems.add(f"hours_{day}", f"{DAY_LABELS[day]} is on: give it hours, or turn it off.")
    return weekly


def _overrides(form: Mapping[str, str], problems: _Problems) -> dict[str, list[str]]:
    overrides: dict[str, list[str]] = {}
    closed: set[str] = set()
    for n in _indices(form, "override_date_"):
        text = form.get(f"override_date_{n}", "").strip()
        if not text:
            continue  # clearing a row's date removes it
        name = f"override_{n}"
        try:
            day = date.fromisoformat(text).isoformat()
        except ValueError:
            problems.add(name, f"{text[:20]!r} is not a date like 2026-12-24.")
            continue
        if form.get(f"override_off_{n}") == "on":
            closed.add(day)
            overrides.setdefault(day, [])
            continue
        try:
            overrides.setdefault(day, []).append(
                _range(form.get(f"override_start_{n}", ""), form.get(f"override_end_{n}", "")))
        except RulesError as exc:
            problems.add(name, f"{day}: {exc} (or tick “Unavailable”).")
    for day in sorted(closed):
        if overrides[day]:
            problems.add("overrides", f"{day} is both unavailable and given hours: choose one.")
    return overrides


def _questions(form: Mapping[str, str], problems: _Problems) -> list[dict[str, Any]]:
    questions = []
    for n in _indices(form, "question_"):
        label = one_line(form.get(f"question_{n}", ""))[:200]
        if label:
            questions.append({"label": label, "required": form.get(f"question_required_{n}") == "on"})
    if len(questions) > MAX_QUESTIONS:
        problems.add("questions", f"Ask at most {MAX_QUESTIONS} questions.")
    return questions


def _location(form: Mapping[str, str], problems: _Problems) -> tuple[LocationKind, str]:
    try:
        kind = LocationKind(form.get("location_kind", ""))
    except ValueError:
        problems.add("location_kind", "Choose a location from the list.")
        return LocationKind.NONE, ""
    if kind not in NEEDS_VALUE:
        return kind, ""
    value = one_line(form.get("location_value", ""))
    if kind is LocationKind.LINK:
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname or " " in value or len(value) > URL_LIMIT:
            problems.add("location_value", "Paste the meeting's link as a full https:// address "
                         f"(at most {URL_LIMIT} characters).")
    elif kind is LocationKind.PHONE:
        if not PHONE.match(value) or sum(c.isdigit() for c in value) < 5:
            problems.add("location_value", "Give your phone number with its country code, "
                         "like +45 12 34 56 78.")
    elif not value or len(value) > ADDRESS_LIMIT:
        problems.add("location_value", f"Give the address (at most {ADDRESS_LIMIT} characters).")
    return kind, value


def _colour(form: Mapping[str, str], problems: _Problems) -> str | None:
    value = form.get("colour", "").strip().lower() or DEFAULT_COLOUR
    if not COLOUR.match(value):
        problems.add("colour", "Pick a colour like #2358c4.")
        return None
    return None if value == DEFAULT_COLOUR else value


def parse_page_form(form: Mapping[str, str]) -> PageValues:
    """Check the page form; raises :class:`PageSettingsError` listing every problem."""
    problems = _Problems()
    title = one_line(form.get("title", ""))
    if not title or len(title) > 200:
        problems.add("title", "Give the page a title (at most 200 characters).")
    slug = form.get("slug", "").strip().lower()
    if not SLUG.match(slug):
        problems.add("slug", "The page address may use a-z, 0-9 and dashes (at most 64).")
    description = many_lines(form.get("description", ""))
    if len(description) > 2000:
        problems.add("description", "The description is too long (at most 2000 characters).")
    durations = _durations(form, problems)
    rules: dict[str, Any] = {"weekly": _weekly(form, problems), "overrides": _overrides(form, problems)}
    for name, (low, high) in MINUTE_FIELDS.items():
        text = form.get(name, "").strip()
        if not text and name in OPTIONAL_FIELDS:
            rules[name] = None
            continue
        if not text.isdigit() or not low <= int(text) <= high:
            label = name.replace("_", " ").capitalize()
            problems.add(name, f"{label} must be a whole number from {low} to {high}.")
            continue
        rules[name] = int(text)
    questions = _questions(form, problems)
    language = form.get("language", "")
    if language not in LANGUAGE_CHOICES:
        problems.add("language", "Choose a language from the list.")
    kind, value = _location(form, problems)
    reminders = [n for n in REMINDER_CHOICES if form.get(f"reminder_{n}") == "on"]
    colour = _colour(form, problems)
    if not problems:
        try:
            rules_from_json(rules, timezone="UTC", durations=durations)
        except RulesError as exc:
            problems.add("rules", f"{exc}.")
    if problems:
        raise PageSettingsError(problems.sentences, problems.fields)
    return PageValues(title, slug, description, durations, rules, questions, language or None,
                      form.get("enabled") == "on", form.get("in_widget") == "on", kind, value,
                      reminders, form.get("remind_host") == "on", colour)


def _split(stored: str) -> tuple[str, str]:
    start, _, end = stored.partition("-")
    return start, "00:00" if end == "24:00" else end


def _on(value: bool) -> str:
    return "on" if value else ""


def page_form(page: SchedulingPage | None) -> dict[str, str]:
    """The form's fields for an existing page (or the defaults of a new one)."""
    rules: Mapping[str, Any] = (page.rules or {}) if page is not None else {"notice": 240}
    form: dict[str, str] = {"title": "", "slug": "", "description": "", "language": "",
                            "enabled": "on", "in_widget": "", "location_kind": "",
                            "location_value": "", "remind_host": "", "colour": DEFAULT_COLOUR,
                            **{f"reminder_{n}": "" for n in REMINDER_CHOICES}}
    durations: list[int] = [30]
    if page is not None:
        durations = [int(d) for d in page.durations or [30]]
        form.update({
            "title": page.title, "slug": page.slug, "description": page.description,
            "language": page.language or "", "enabled": _on(page.enabled),
            "in_widget": _on(page.in_widget), "location_kind": page.location_kind or "",
            "location_value": page.location_value or "", "remind_host": _on(page.remind_host),
            "colour": page.colour or DEFAULT_COLOUR,
        })
        for n, question in enumerate(page.questions or []):
            form[f"question_{n}"] = str(question.get("label", ""))
            form[f"question_required_{n}"] = _on(bool(question.get("required")))
        for n in page.reminders or []:
            form[f"reminder_{n}"] = "on"
    for n in COMMON_LENGTHS:
        form[f"length_{n}"] = _on(n in durations)
    form["lengths_other"] = ", ".join(str(d) for d in durations if d not in COMMON_LENGTHS)
    form["lengths_order"] = ",".join(str(d) for d in durations)
    weekly = rules.get("weekly", {d: ["09:00-17:00"] for d in DAY_NAMES[:5]})
    for day in DAY_NAMES:
        ranges = weekly.get(day) or []
        form[f"day_{day}"] = _on(bool(ranges))
        for n, stored in enumerate(ranges or ["09:00-17:00"]):
            form[f"{day}_start_{n}"], form[f"{day}_end_{n}"] = _split(stored)
    n = 0
    for day_text, ranges in (rules.get("overrides") or {}).items():
        for stored in ranges or [None]:
            form[f"override_date_{n}"] = day_text
            form[f"override_off_{n}"] = _on(stored is None)
            form[f"override_start_{n}"], form[f"override_end_{n}"] = _split(stored or "-")
            n += 1
    defaults = {"buffer_before": 0, "buffer_after": 0, "notice": 0, "horizon_days": 60}
    for name in MINUTE_FIELDS:
        value = rules.get(name, defaults.get(name))
        form[name] = "" if value is None else str(value)
    return form


@dataclass(frozen=True, slots=True)
class DayRows:
    """One weekday in the editor: its switch and range rows (``(n, start, end)``)."""

    name: str
    label: str
    on: bool
    ranges: list[tuple[int, str, str]]
    next: int  # the index a new range row takes


@dataclass(frozen=True, slots=True)
class EditorRows:
    """The editor's repeated rows for a (stored or posted) form, with spare empty rows for
    browsers without JavaScript: two ranges a day, two override dates, three questions."""

    days: list[DayRows]
    overrides: list[tuple[int, str, str, str, bool]]  # n, date, start, end, unavailable
    questions: list[tuple[int, str, bool]]  # n, label, required
    next_override: int
    next_question: int


def _spare(found: Iterable[int], rows: int) -> tuple[list[int], int]:
    """``found`` plus empty indices up to ``rows`` rows (at least one spare when ``rows`` > 0)."""
    taken = list(found)
    after = max(taken, default=-1) + 1
    extra = max(rows - len(taken), 0)
    return taken + list(range(after, after + extra)), after + extra


def editor_rows(form: Mapping[str, str]) -> EditorRows:
    """The rows :file:`page_edit.html` shows for ``form``."""
    days = []
    for day in DAY_NAMES:
        indices, following = _spare(_indices(form, f"{day}_start_"), 2)
        days.append(DayRows(day, DAY_LABELS[day], form.get(f"day_{day}") == "on", [
            (n, form.get(f"{day}_start_{n}", ""), form.get(f"{day}_end_{n}", "")) for n in indices],
            following))
    found = _indices(form, "override_date_")
    indices, next_override = _spare(found, len(found) + 2)
    overrides = [(n, form.get(f"override_date_{n}", ""), form.get(f"override_start_{n}", ""),
                  form.get(f"override_end_{n}", ""), form.get(f"override_off_{n}") == "on")
                 for n in indices]
    found = [n for n in _indices(form, "question_") if form.get(f"question_{n}", "").strip()]
    indices, next_question = _spare(found, min(max(len(found) + 3, 3), MAX_QUESTIONS))
    questions = [(n, form.get(f"question_{n}", ""), form.get(f"question_required_{n}") == "on")
                 for n in indices]
    return EditorRows(days, overrides, questions, next_override, next_question)
