"""Meeting links in chat: share my link, list my pages, and unfurl a Slotbot link someone posted.

"Share my link" answers privately with the link and a ``share_link`` button whose value (also the
reply's ``public_text``) is the sentence to post for everyone. An unfurl shows what the page
offers (title, lengths, the next free times) and is public, so it says nothing a visitor of the
page could not see.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.conversation import dates
from bot.conversation.accounts import settings_button
from bot.conversation.backend import Backend, Page
from bot.conversation.reply import Block, Button, Reply, Section, Text
from bot.conversation.texts import gettext_for
from bot.conversation.turn import Turn, page_rules

UNFURL_DAYS = 14
UNFURL_SLOTS = 3


def _lengths(page: Page, locale: str) -> str:
    return dates.either([dates.minutes(d, locale) for d in page.durations], locale)


def find_page(pages: list[Page], name: str) -> Page | None:
    """The page ``name`` speaks of (slug or title, either way round), or None."""
    wanted = name.strip().lower()
    if not wanted:
        return None
    for page in pages:
        if wanted in (page.slug.lower(), page.title.lower()):
            return page
    words = set(wanted.split())
    for page in pages:
        title = page.title.lower()
        if page.slug.lower() in words or (len(wanted) >= 3 and wanted in title) or title in wanted:
            return page
    return None


async def link(turn: Turn, name: str, *, strict: bool) -> Reply:
    """The link of the default page (or of the page ``name``; ``strict``: say so when not found)."""
    _ = turn.gettext
    pages = await turn.backend.pages(turn.user_id)
    host = await turn.backend.host(turn.user_id)
    if not pages or host is None:
        return Reply((Text(_("You have no scheduling page yet.")),))
    page = find_page(pages, name)
    if page is None and strict and name.strip():
        return Reply((Text(_("I couldn't find a page called “{name}”. Your pages: {pages}.").format(
            name=name.strip(), pages=dates.all_of([p.title for p in pages], turn.locale))),))
    page = page or pages[0]
    if not (host.pages_enabled and page.enabled):
        return Reply((
            Text(_("Your page {title} is switched off, so its link would not work. Switch it on in "
                   "your settings.").format(title=page.title)),
            await settings_button(turn),
        ))
    public = _("Book a time with {name}: {url}").format(name=host.name, url=page.url)
    blocks: list[Block] = [
        Text(_("Your link for {title} ({lengths}): {url}").format(
            title=page.title, lengths=_lengths(page, turn.locale), url=page.url)),
        Button(_("Share in this conversation"), action="share_link", value=public, primary=True),
        Button(_("Open the page"), url=page.url),
    ]
    accounts = await turn.backend.accounts(turn.user_id)
    if any(a.status != "active" or not all(c.active for c in a.calendars) for a in accounts):
        blocks.append(Text(_("Note: nobody can book you while one of your calendars can't be read. "
                             "Say “calendars” to see which.")))
    return Reply(tuple(blocks), public_text=public)


async def pages(turn: Turn) -> Reply:
    """Every page of the user with its link and lengths."""
    _ = turn.gettext
    found = await turn.backend.pages(turn.user_id)
    if not found:
        return Reply((Text(_("You have no scheduling page yet.")),))
    host = await turn.backend.host(turn.user_id)
    blocks: list[Block] = [Text(_("Your scheduling pages:"))]
    for page in found:
        heading = page.title
        if page.is_default:
            heading = _("{title} (shared by default)").format(title=heading)
        lines = [page.url, _lengths(page, turn.locale)]
        if not page.enabled or (host is not None and not host.pages_enabled):
            lines.append(_("switched off"))
        blocks.append(Section(heading, tuple(lines)))
    blocks.append(Text(_("Say “link <page>” to share one of them.")))
    return Reply(tuple(blocks))


async def unfurl(backend: Backend, url: str, *, now: datetime, locale: str) -> Reply | None:
    """A preview of a Slotbot meeting link (None when the URL is not one of ours)."""
    found = await backend.page_at(url)
    if found is None:
        return None
    host, page = found
    _ = gettext_for(locale)
    named = host.name.lower() in page.title.lower()
    title = Text(page.title if named else _("{title} with {name}").format(title=page.title, name=host.name))
    if not (host.pages_enabled and page.enabled):
        return Reply((title, Text(_("This page is not taking bookings right now."))), private=False)
    zone = ZoneInfo(host.timezone)
    rules = page_rules(page, host.timezone)
    first = now.astimezone(zone).date()
    answer = await backend.availability(
        host.user_id,
        start=datetime.combine(first, time(0), zone),
        end=datetime.combine(first + timedelta(days=UNFURL_DAYS), time(0), zone),
        now=now, rules=rules, duration_minutes=rules.durations[0],
    )
    blocks: list[Block] = [title, Text(_lengths(page, locale))]
    slots = answer.result.slots[:UNFURL_SLOTS]
    if slots:
        lines = tuple(
            _("{date} at {time}").format(date=day, time=clock)
            for day, clock in (dates.moment(s.start, zone, locale) for s in slots)
        )
        blocks.append(Section(_("Next free times ({zone}):").format(zone=dates.zone_name(zone, locale)),
                              lines))
    elif answer.complete:
        blocks.append(Text(_("No free times in the next two weeks.")))
    else:
        blocks.append(Text(_("Open the page to see the free times.")))
    blocks.append(Button(_("Book a time"), url=page.url, primary=True))
    return Reply(tuple(blocks), private=False)
