"""The conversation core: one channel-neutral bot behind Slack, Teams and the web chat.

Start with :class:`Conversation`. A channel resolves its user to a :class:`Speaker` (through
:class:`bot.accounts.identities.Identities`), then calls :meth:`Conversation.message` for plain language,
:meth:`Conversation.command` for the ``/meet`` arguments, :meth:`Conversation.action` when a
button is pressed, :meth:`Conversation.unfurl` for a posted link and :meth:`Conversation.home`
for a start screen, and renders the :class:`~bot.conversation.reply.Reply` it gets back.

Intents (:mod:`.intents`) pick the answer: free time (:mod:`.free_time`), the host's own events
of a day (:mod:`.agenda`, titles in private replies only), links and pages
(:mod:`.sharing`), calendar accounts (:mod:`.accounts`), a meeting with a contact
(:mod:`.meeting`), help and language (here). Unknown input
gets a short help, never silence; a question that names a time ("tomorrow afternoon?") is a free
time question. Everything the core needs from the app goes through :class:`.backend.Backend`.
"""

from __future__ import annotations

from datetime import datetime

from babel import Locale

from bot.conversation import accounts, agenda, dates, free_time, meeting, sharing, tasks
from bot.conversation.backend import Backend
from bot.conversation.intents import Intent, command, understand
from bot.conversation.notices import notice_reply as notice_reply
from bot.conversation.reply import Block, Reply, Section, Text
from bot.conversation.speaker import Speaker as Speaker
from bot.conversation.texts import gettext_for, provider_label
from bot.conversation.turn import Turn
from bot.conversation.when import parse_when
from bot.conversation.written import written_language

HOME_BOOKINGS = 5
HOME_TASKS = 5


class Conversation:
    """Answers a speaker's messages, commands and button presses."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def _turn(self, speaker: Speaker, now: datetime) -> Turn:
        return Turn(self._backend, speaker, now)

    async def message(self, speaker: Speaker, text: str, *, now: datetime) -> Reply:
        """Answer a plain-language message (a DM, a mention, the web chat), in the language it is
        written in when that is clearly English, Portuguese or Danish, else in the speaker's."""
        speaker = _in_written_language(speaker, text)
        intent = understand(text)
        if intent.kind == "task":
            intent = Intent("task", text)  # the title keeps the writer's own capitals
        if intent.kind in ("unknown", "greeting") and _names_a_time(speaker, intent.argument, now):
            intent = Intent("free", intent.argument)
        return await self._answer(self._turn(speaker, now), intent, strict=False)

    async def command(self, speaker: Speaker, text: str, *, now: datetime) -> Reply:
        """Answer the arguments of the slash command ("connect google", "free tomorrow"...), in the
        language they are written in when that is clear (as :meth:`message`)."""
        speaker = _in_written_language(speaker, text)
        intent = command(text)
        if intent.kind == "task":
            intent = Intent("task", text)
        if intent.kind == "unknown" and _names_a_time(speaker, intent.argument, now):
            intent = Intent("free", intent.argument)
        return await self._answer(self._turn(speaker, now), intent, strict=True)

    async def action(self, speaker: Speaker, action: str, value: str, *, now: datetime) -> Reply:
        """Answer a pressed button: ``disconnect`` (value: an account id), ``share_link`` (value: the
        text to post; the reply is public), ``connect`` (value: a service), ``settings`` or
        ``schedule_meeting`` (value: a meeting with a contact at a free time, see :mod:`.meeting`)."""
        turn = self._turn(speaker, now)
        if action == "disconnect":
            return await accounts.disconnect(turn, value)
        if action == "share_link":
            return Reply((Text(value),), private=False, public_text=value)
        if action == "connect":
            return await accounts.connect(turn, value)
        if action == "settings":
            return await accounts.settings(turn)
        if action == meeting.ACTION:
            return await meeting.confirm(turn, value)
        return Reply((Text(turn.gettext("That button no longer does anything. Say “help” to see "
                                        "what I can do.")),))

    async def unfurl(self, url: str, *, now: datetime, locale: str) -> Reply | None:
        """A preview of a Slotbot meeting link; None when the URL is not one of ours."""
        return await sharing.unfurl(self._backend, url, now=now, locale=locale)

    async def home(self, speaker: Speaker, *, now: datetime) -> Reply:
        """The start screen: calendars with their health, pages, upcoming bookings, buttons."""
        turn = self._turn(speaker, now)
        _ = turn.gettext
        host = await self._backend.host(speaker.user_id)
        blocks: list[Block] = [Text(_("Hi {name}! Here is your Slotbot.").format(
            name=host.name if host else ""))]
        found = await self._backend.accounts(speaker.user_id)
        lines: list[str] = []
        for account in found:
            label = provider_label(account.provider, _)
            if account.status != "active":
                state = _("needs reconnecting") if account.status == "needs_reauth" else _("access lost")
                lines.append(f"{account.email} ({label}): {state}")
                continue
            for calendar in account.calendars:
                state = _("OK") if calendar.active else _("access lost")
                if calendar.active and not calendar.checks_conflicts:
                    state = _("not checked for conflicts")
                lines.append(f"{calendar.name} ({label}): {state}")
        blocks.append(Section(_("Calendars"), tuple(lines or [_("No calendar connected yet.")])))
        pages = await self._backend.pages(speaker.user_id)
        blocks.append(Section(_("Scheduling pages"), tuple(f"{p.title}: {p.url}" for p in pages)))
        upcoming = await self._backend.upcoming(speaker.user_id, now=now, limit=HOME_BOOKINGS)
        booked = []
        for booking in upcoming:
            when = f"{dates.day(booking.start.astimezone(turn.zone).date(), turn.locale)}, " + dates.hours(
                booking.start, booking.end, turn.zone, turn.locale)
            line = f"{when} · {booking.visitor_name}" + (f" · {booking.title}" if booking.title else "")
            if booking.status == "requested":
                line += " " + _("(request: confirm it yourself)")
            booked.append(line)
        blocks.append(Section(_("Coming up"), tuple(booked or [_("No bookings ahead.")])))
        open_tasks = await self._backend.open_tasks(speaker.user_id, limit=HOME_TASKS)
        if open_tasks:
            blocks.append(Section(_("Tasks"), tuple(tasks.task_line(t, turn) for t in open_tasks)))
        blocks.extend(await accounts.connect_buttons(turn))
        blocks.append(await accounts.settings_button(turn))
        return Reply(tuple(blocks))

    async def _answer(self, turn: Turn, intent: Intent, *, strict: bool) -> Reply:
        kind = intent.kind
        if kind == "free":
            return await free_time.answer(turn, intent.argument)
        if kind == "agenda":
            return await agenda.answer(turn, intent.argument)
        if kind == "schedule":
            return await meeting.answer(turn, intent.argument)
        if kind == "task":
            return await tasks.answer(turn, intent.argument)
        if kind == "connect":
            return await accounts.connect(turn, intent.argument)
        if kind == "link":
            return await sharing.link(turn, intent.argument, strict=strict)
        if kind == "pages":
            return await sharing.pages(turn)
        if kind == "calendars":
            return await accounts.calendars(turn)
        if kind == "settings":
            return await accounts.settings(turn)
        if kind == "disconnect":
            return await accounts.disconnect_menu(turn)
        if kind == "language":
            return await self._language(turn, intent.argument)
        if kind == "help":
            return help_reply(turn.locale)
        if kind == "greeting":
            host = await self._backend.host(turn.user_id)
            return Reply((Text(turn.gettext(
                "Hi {name}! Ask me “when am I free this week?”, or say “help” to see everything I "
                "can do.").format(name=host.name if host else "")),))
        return short_help(turn.locale)

    async def _language(self, turn: Turn, code: str) -> Reply:
        _ = turn.gettext
        if not code:
            return Reply((Text(_("I speak English (en), Portuguese (pt) and Danish (da): say "
                                 "“language pt”, or “language auto” to follow your chat app.")),))
        locale = await self._backend.set_language(turn.user_id, None if code == "auto" else code)
        _ = Turn(self._backend, Speaker(turn.user_id, locale, turn.speaker.timezone), turn.now).gettext
        if code == "auto":
            return Reply((Text(_("OK, I'll follow your chat app's language again.")),))
        name = Locale.parse(locale).get_language_name(locale) or locale
        return Reply((Text(_("OK, from now on I'll talk to you in {language}.").format(language=name)),))


def _in_written_language(speaker: Speaker, text: str) -> Speaker:
    language = written_language(text)
    if language is None or language == speaker.locale:
        return speaker
    return Speaker(speaker.user_id, language, speaker.timezone)


def _names_a_time(speaker: Speaker, text: str, now: datetime) -> bool:
    if not text:
        return False
    return parse_when(text, language=speaker.locale, timezone=speaker.timezone, now=now).explicit


def help_reply(locale: str) -> Reply:
    """Everything the bot can do, with examples."""
    _ = gettext_for(locale)
    return Reply((
        Text(_("Here is what I can do:")),
        Section(_("Ask in your own words, or use /meet:"), (
            _("“when am I free tomorrow afternoon?” — your free time across your calendars"),
            _("“what's on my calendar today?” — your events of a day, for your eyes only"),
            _("“share my link” — your booking link, to post in a conversation"),
            _("“schedule 30 minutes with ana@example.com tomorrow” — a meeting with a contact at "
              "one of your free times"),
            _("“connect google” or “connect microsoft” — connect a calendar"),
            _("“calendars” — your calendars and whether I can read them"),
            _("“pages” — your scheduling pages"),
            _("“settings” — your settings, through a sign-in link for you only"),
            _("“disconnect” — disconnect a calendar account"),
            _("“language pt” — talk to me in English (en), Portuguese (pt) or Danish (da)"),
        )),
    ))


def short_help(locale: str) -> Reply:
    """What unknown input gets: a nudge, never silence."""
    _ = gettext_for(locale)
    return Reply((Text(_("Sorry, I didn't get that. Try “when am I free tomorrow?”, “share my link” "
                         "or “help”.")),))


__all__ = ["Conversation", "Speaker", "help_reply", "notice_reply", "short_help"]
