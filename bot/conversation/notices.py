"""Notices: what the bot tells a user unprompted (bookings, calendars), rendered for one reader.

:func:`notice_reply` turns a notice name and its parameters (all strings; instants as ISO-8601
UTC) into a :class:`~bot.conversation.reply.Reply` in the reader's language and zone. The names
and parameters are the contract of :mod:`bot.notices.chat`; an unknown notice or a missing
parameter raises :class:`KeyError`, a malformed instant :class:`ValueError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.conversation import dates
from bot.conversation.reply import Fields, Reply, Text
from bot.conversation.texts import gettext_for, provider_label, reason_text

NOTICES = (
    "booking_created",
    "booking_cancelled",
    "booking_rescheduled",
    "booking_blocked",
    "calendar_lost",
    "calendar_connected",
    "email_undeliverable",
    "meeting_reminder",
)


def _instant(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return moment


class _Render:
    def __init__(self, params: Mapping[str, str], locale: str, timezone: str) -> None:
        self.p = params
        self.locale = locale
        self.zone = ZoneInfo(timezone)
        self._ = gettext_for(locale)

    def when(self, key: str) -> str:
        day, clock = dates.moment(_instant(self.p[key]), self.zone, self.locale)
        return self._("{date} at {time}").format(date=day, time=clock)

    def booking_created(self) -> Reply:
        _ = self._
        if self.p["status"] == "requested":
            head = _(
                "New booking request: {visitor} asked for {title} on {when}. No calendar is "
                "connected, so nothing was added to a calendar: write to {email} to confirm."
            )
        else:
            head = _("New booking: {title} with {visitor} on {when}.")
        text = head.format(
            visitor=self.p["visitor_name"], title=self.p["title"], when=self.when("start"),
            email=self.p["visitor_email"],
        )
        answers = tuple(  # the visitor's answers to the page's questions (JSON pairs; may be absent)
            (str(label), str(answer)) for label, answer in json.loads(self.p.get("answers") or "[]")
        )
        return Reply((
            Text(text),
            Fields(((_("Who"), f"{self.p['visitor_name']} <{self.p['visitor_email']}>"),
                    (_("When"), self.when("start")), *answers)),
        ))

    def booking_cancelled(self) -> Reply:
        text = self._("{visitor} cancelled {title} on {when}.").format(
            visitor=self.p["visitor_name"], title=self.p["title"], when=self.when("start")
        )
        if self.p.get("reason"):  # the visitor's own words, when they gave a reason
            return Reply((Text(text), Text(self._("Their reason: {reason}").format(reason=self.p["reason"]))))
        return Reply((Text(text),))

    def booking_rescheduled(self) -> Reply:
        text = self._("{visitor} moved {title} from {previous} to {when}.").format(
            visitor=self.p["visitor_name"], title=self.p["title"],
            previous=self.when("previous_start"), when=self.when("start"),
        )
        return Reply((Text(text),))

    def booking_blocked(self) -> Reply:
        _ = self._
        if self.p.get("start"):
            head = _("{visitor} ({email}) tried to book {title} on {when}, but booking is paused "
                     "because one of your calendars cannot be read.")
        else:
            head = _("{visitor} ({email}) wanted to book {title}, but booking is paused because "
                     "one of your calendars cannot be read.")
        text = head.format(
            visitor=self.p["visitor_name"], email=self.p["visitor_email"], title=self.p["title"],
            when=self.when("start") if self.p.get("start") else "",
        )
        advice = _("Reconnect or remove that calendar (say “settings”), then get back to them.")
        return Reply((Text(text), Text(advice)))

    def calendar_lost(self) -> Reply:
        _ = self._
        text = _("I can no longer read {calendar} ({reason}). Until this is fixed, nobody can book "
                 "you.").format(calendar=self.p["calendar"], reason=reason_text(self.p["reason"], _))
        advice = _("Say “settings” to reconnect it, or “disconnect” to remove it.")
        return Reply((Text(text), Text(advice)))

    def calendar_connected(self) -> Reply:
        _ = self._
        text = _("Connected {account} ({provider}). I check its main calendar for conflicts; say "
                 "“calendars” to see them all.").format(
            account=self.p["account"], provider=provider_label(self.p["provider"], _)
        )
        return Reply((Text(text),))

    def email_undeliverable(self) -> Reply:
        _ = self._
        if self.p.get("to_host"):
            text = _("I could not deliver the e-mail “{subject}” to you at {recipient}. Please check "
                     "the e-mail address in your profile.")
        else:
            text = _("I could not deliver the e-mail “{subject}” to {recipient}. The booking itself "
                     "stands; please reach them another way.")
        return Reply((Text(text.format(subject=self.p["subject"], recipient=self.p["recipient"])),))

    def meeting_reminder(self) -> Reply:
        text = self._("In {minutes} min: {title} with {visitor} (at {time}).").format(
            minutes=self.p["minutes"], title=self.p["title"], visitor=self.p["visitor_name"],
            time=dates.clock(_instant(self.p["start"]), self.zone, self.locale),
        )
        return Reply((Text(text),))


def notice_reply(notice: str, params: Mapping[str, str], *, locale: str, timezone: str) -> Reply:
    """The reply telling a user about ``notice`` in ``locale``, times shown in ``timezone``."""
    if notice not in NOTICES:
        raise KeyError(f"unknown notice {notice!r}")
    render: Callable[[], Reply] = getattr(_Render(params, locale, timezone), notice)
    return render()

