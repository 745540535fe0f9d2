"""Hosts manage their scheduling pages: create, edit, delete, default page, the all-pages switch,
their URL slug and the domain their links use.

:func:`parse_page_form` turns the dashboard's form into page values (pure; every problem is
collected as a sentence, nothing is half-applied). :class:`PageSettings` stores them; the database
guards the invariants (a page slug is unique per host, one default page, a user slug is unique
across every domain) and a clash comes back as a :class:`PageSettingsError` sentence.
Changes take effect at once: nothing about pages is cached.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.pages.public import pages_default_first
from bot.plain_text import many_lines, one_line
from bot.rules import DAY_NAMES, RulesError, format_range, parse_range, rules_from_json
from bot.zones import zone_named
from storage.models import Booking, CustomDomain, SchedulingPage, User

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
LANGUAGE_CHOICES = ("", "en", "pt", "da")
MINUTE_FIELDS = {
    "buffer_before": (0, 240), "buffer_after": (0, 240), "notice": (0, 60 * 24 * 30),
    "horizon_days": (1, 730), "max_per_day": (1, 100), "increment": (5, 480),
}
OPTIONAL_FIELDS = ("max_per_day", "increment")


class PageSettingsError(ValueError):
    """Settings that cannot be saved; ``problems`` holds one sentence per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


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


def _ranges(text: str, where: str, problems: list[str]) -> list[str]:
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            out.append(format_range(parse_range(part)))
        except RulesError as exc:
            problems.append(f"{where}: {exc}.")
    return out


def parse_page_form(form: Mapping[str, str]) -> PageValues:
    """Check the page form; raises :class:`PageSettingsError` listing every problem."""
    problems: list[str] = []
    title = one_line(form.get("title", ""))
    if not title or len(title) > 200:
        problems.append("Give the page a title (at most 200 characters).")
    slug = form.get("slug", "").strip().lower()
    if not SLUG.match(slug):
        problems.append("The page address may use a-z, 0-9 and dashes (at most 64).")
    description = many_lines(form.get("description", ""))
    if len(description) > 2000:
        problems.append("The description is too long (at most 2000 characters).")
    durations: list[int] = []
    for part in (p.strip() for p in form.get("durations", "").split(",")):
        if not part:
            continue
        if not part.isdigit() or not 5 <= int(part) <= 480:
            problems.append(f"Meeting lengths are minutes from 5 to 480, not {part!r}.")
        elif int(part) not in durations:
            durations.append(int(part))
    if not durations and not any("Meeting lengths" in p for p in problems):
        problems.append("Offer at least one meeting length.")
    rules: dict[str, Any] = {
        "weekly": {
            day: ranges
            for day in DAY_NAMES
            if (ranges := _ranges(form.get(f"hours_{day}", ""), day.title(), problems))
        }
    }
    overrides: dict[str, list[str]] = {}
    for line in (item.strip() for item in form.get("overrides", "").splitlines()):
        if not line:
            continue
        day_text, _, hours = line.partition(":")
        try:
            day = date.fromisoformat(day_text.strip())
        except ValueError:
            problems.append(f"{line!r}: start a date line with a date like 2026-12-24.")
            continue
        hours = hours.strip()
        overrides[day.isoformat()] = (
            [] if hours.lower() in ("", "off", "closed") else _ranges(hours, day.isoformat(), problems)
        )
    rules["overrides"] = overrides
    for name, (low, high) in MINUTE_FIELDS.items():
        text = form.get(name, "").strip()
        if not text and name in OPTIONAL_FIELDS:
            rules[name] = None
            continue
        if not text.isdigit() or not low <= int(text) <= high:
            label = name.replace("_", " ").capitalize()
            problems.append(f"{label} must be a whole number from {low} to {high}.")
            continue
        rules[name] = int(text)
    questions = []
    for line in (item.strip() for item in form.get("questions", "").splitlines()):
        if line:
            required = line.endswith("*")
            label = one_line(line.rstrip("*"))[:200]
            if label:
                questions.append({"label": label, "required": required})
    if len(questions) > 10:
        problems.append("Ask at most 10 questions.")
    language = form.get("language", "")
    if language not in LANGUAGE_CHOICES:
        problems.append("Choose a language from the list.")
    if not problems:
        try:
            rules_from_json(rules, timezone="UTC", durations=durations)
        except RulesError as exc:
            problems.append(f"{exc}.")
    if problems:
        raise PageSettingsError(problems)
    return PageValues(title, slug, description, durations, rules, questions, language or None,
                      form.get("enabled") == "on", form.get("in_widget") == "on")


def page_form(page: SchedulingPage | None) -> dict[str, str]:
    """The form's fields for an existing page (or the defaults of a new one)."""
    if page is None:
        return {"title": "", "slug": "", "description": "", "durations": "30",
                **{f"hours_{d}": "09:00-17:00" if d in DAY_NAMES[:5] else "" for d in DAY_NAMES},
                "overrides": "",
                "buffer_before": "0", "buffer_after": "0", "notice": "240", "horizon_days": "60",
                "max_per_day": "", "increment": "", "questions": "", "language": "", "enabled": "on",
                "in_widget": ""}
    rules = page.rules or {}
    weekly = rules.get("weekly", {d: ["09:00-17:00"] for d in DAY_NAMES[:5]})
    form = {
        "title": page.title, "slug": page.slug, "description": page.description,
        "durations": ", ".join(str(d) for d in page.durations),
        **{f"hours_{d}": ", ".join(weekly.get(d, [])) for d in DAY_NAMES},
        "overrides": "\n".join(
            f"{d}: {', '.join(r) or 'off'}" for d, r in rules.get("overrides", {}).items()
        ),
        "questions": "\n".join(q["label"] + ("*" if q.get("required") else "") for q in page.questions or []),
        "language": page.language or "", "enabled": "on" if page.enabled else "",
        "in_widget": "on" if page.in_widget else "",
    }
    defaults = {"buffer_before": 0, "buffer_after": 0, "notice": 0, "horizon_days": 60}
    for name in MINUTE_FIELDS:
        value = rules.get(name, defaults.get(name))
        form[name] = "" if value is None else str(value)
    return form


class PageSettings:
    """Stores a host's pages and profile choices."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def pages(self, user_id: int) -> list[SchedulingPage]:
        """The host's pages, default first."""
        async with self._sessions() as session:
            rows = await session.execute(pages_default_first(user_id))
            return list(rows.scalars())

    async def page(self, user_id: int, page_id: int) -> SchedulingPage | None:
        """One of the host's pages (None for someone else's)."""
        async with self._sessions() as session:
            page = await session.get(SchedulingPage, page_id)
        return page if page is not None and page.owner_id == user_id else None

    async def save(self, user_id: int, page_id: int | None, values: PageValues) -> SchedulingPage:
        """Create (``page_id`` None) or update a page."""
        try:
            async with self._sessions() as session, session.begin():
                if page_id is None:
                    count = await session.scalar(
                        select(func.count())
                        .select_from(SchedulingPage)
                        .where(SchedulingPage.owner_id == user_id)
                    )
                    page = SchedulingPage(owner_id=user_id, is_default=not count)
                    session.add(page)
                else:
                    found = await session.get(SchedulingPage, page_id)
                    if found is None or found.owner_id != user_id:
                        raise PageSettingsError(["That page does not exist."])
                    page = found
                for name in ("title", "slug", "description", "durations", "rules", "questions",
                             "language", "enabled", "in_widget"):
                    setattr(page, name, getattr(values, name))
        except IntegrityError:
            raise PageSettingsError(
                [f"You already have a page at “{values.slug}”; pick another address."]
            ) from None
        return page

    async def delete(self, user_id: int, page_id: int) -> None:
        """Delete a page; its bookings stay (without a page). The next page becomes the default."""
        async with self._sessions() as session, session.begin():
            page = await session.get(SchedulingPage, page_id)
            if page is None or page.owner_id != user_id:
                raise PageSettingsError(["That page does not exist."])
            was_default = page.is_default
            await session.execute(update(Booking).where(Booking.page_id == page_id).values(page_id=None))
            await session.delete(page)
            await session.flush()
            if was_default:
                following = (await session.execute(
                    select(SchedulingPage)
                    .where(SchedulingPage.owner_id == user_id)
                    .order_by(SchedulingPage.id)
                )).scalars().first()
                if following is not None:
                    following.is_default = True

    async def make_default(self, user_id: int, page_id: int) -> None:
        """Make ``page_id`` the page a shared link opens."""
        async with self._sessions() as session, session.begin():
            page = await session.get(SchedulingPage, page_id)
            if page is None or page.owner_id != user_id:
                raise PageSettingsError(["That page does not exist."])
            await session.execute(
                update(SchedulingPage).where(SchedulingPage.owner_id == user_id).values(is_default=False)
            )
            await session.flush()
            page.is_default = True

    async def set_pages_enabled(self, user_id: int, enabled: bool) -> None:
        """Turn all of the host's pages on or off (nothing is deleted)."""
        async with self._sessions() as session, session.begin():
            await session.execute(update(User).where(User.id == user_id).values(pages_enabled=enabled))

    async def set_profile(self, user_id: int, *, slug: str, domain_id: int | None, timezone: str) -> None:
        """Change the user's URL slug (every page follows), link domain and time zone."""
        slug = slug.strip().lower()
        problems = []
        if not SLUG.match(slug):
            problems.append("Your address may use a-z, 0-9 and dashes (at most 64).")
        if zone_named(timezone) is None:
            problems.append(f"{timezone[:64]!r} is not a time zone (use a name like Europe/Copenhagen).")
        if problems:
            raise PageSettingsError(problems)
        try:
            async with self._sessions() as session, session.begin():
                if domain_id is not None:
                    domain = await session.get(CustomDomain, domain_id)
                    if domain is None or not domain.active:
                        raise PageSettingsError(["That domain is not available."])
                await session.execute(
                    update(User).where(User.id == user_id)
                    .values(slug=slug, domain_id=domain_id, timezone=timezone)
                )
        except IntegrityError:
            raise PageSettingsError(
                [f"The address “{slug}” is taken on every domain; pick another."]
            ) from None
