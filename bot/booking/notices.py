"""What the visitor and the host are told about a booking, queued in the booking's own transaction.

Each function adds outbox rows to the caller's session, so a message is sent exactly when the
change it describes is committed: the visitor's e-mail (with an iCalendar invitation, update or
cancellation and the manage link) and the host's e-mail and chat notice
(:func:`bot.notices.chat.enqueue_notice`: every chat the host uses gets it). The host is told
the visitor's answers to the page's questions too: in the e-mail, and in the chat notice as the
``answers`` parameter (JSON ``[[question, answer], ...]``). An e-mail that can never be delivered
tells the host instead (a chat notice, and an e-mail when it was the visitor's).

Every message is in its reader's language (the ``emails`` catalog, times through
:mod:`bot.booking.meeting_time`): the visitor's is the one they booked in (``bookings.language``),
the host's their own (``users.locale``). Where the meeting is (``bookings.location``, its video
link ``join_url``) is in both e-mails; the reason a visitor gave for cancelling reaches the host
(e-mail, and the chat notice's ``reason``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.booking.add_to_calendar import invitation
from bot.booking.events import answer_lines
from bot.booking.meeting_time import emails_gettext, moment_text, when_text, where_lines
from bot.notices.addresses import header_value
from bot.notices.chat import enqueue_notice, notice_message
from bot.notices.email import email_message, enqueue_email
from bot.notices.envelope import Message
from storage.models import Booking, User


def _visitor_language(host: User, booking: Booking, *, by_host: bool = False) -> str:
    """The language the visitor is written to in: the one they booked in; for a meeting the host
    scheduled from the contact's record (no language chosen), the host's."""
    return booking.language or (host.locale if by_host else None) or "en"


def _answers(answers: Mapping[str, Any] | None) -> str:
    """The visitor's answers as a paragraph of the host's e-mail (empty: none)."""
    lines = answer_lines(answers)
    return f"\n\n{lines}" if lines else ""


def _paragraphs(*parts: str) -> str:
    return "\n\n".join(part for part in parts if part)


def tell_host(session: AsyncSession, host: User, *, subject: str, text: str) -> None:
    """E-mail the host (when they have an address) once the transaction commits."""
    if host.email:
        enqueue_email(session, to=host.email, to_name=host.display_name, subject=subject, text=text,
                      if_lost=_if_lost(host, host.email, subject))


def _tell_visitor(session: AsyncSession, host: User, booking: Booking, *, subject: str, text: str,
                  ics: str | None = None) -> None:
    """E-mail the visitor once the transaction commits; the host hears if it can never arrive."""
    enqueue_email(session, to=booking.visitor_email, to_name=booking.visitor_name, subject=subject,
                  text=text, ics=ics, if_lost=_if_lost(host, booking.visitor_email, subject))


def _if_lost(host: User, recipient: str, subject: str) -> tuple[Message, ...]:
    """What goes out when the e-mail to ``recipient`` fails for good: a chat notice to the host
    and, when the lost e-mail was someone else's, an e-mail to the host too (in their language)."""
    to_host = recipient == host.email
    params = {"recipient": recipient, "subject": header_value(subject, "subject")}
    if to_host:
        params["to_host"] = "yes"
    told = [notice_message(host.id, "email_undeliverable", params)]
    if host.email and not to_host:
        _ = emails_gettext(host.locale)
        told.append(email_message(
            to=host.email, to_name=host.display_name,
            subject=_("Slotbot could not e-mail {recipient}").format(recipient=recipient),
            text=_paragraphs(
                _("The e-mail “{subject}” to {recipient} could not be delivered, and trying again will "
                  "not help (the address cannot receive mail from here).").format(
                    subject=params["subject"], recipient=recipient),
                _("The booking itself stands; please reach them another way."),
            ),
        ))
    return tuple(told)


def announce_booked(session: AsyncSession, host: User, title: str, booking: Booking, manage: str,
                    *, by_host: bool = False) -> None:
    """A new booking (or, offline, a request): the visitor's confirmation and the host's notice.

    The visitor is written to in their language (``booking.language``), the host in theirs.
    ``by_host``: the host scheduled it from the contact's record, so the contact gets an
    invitation titled ``title`` alone and the host, who did it, is not told.
    """
    requested = booking.status == "requested"
    lang = _visitor_language(host, booking, by_host=by_host)
    _ = emails_gettext(lang)
    when = when_text(booking.start_at, booking.end_at, booking.timezone, lang)
    where = where_lines(booking.location, booking.join_url, lang)
    if by_host:
        _tell_visitor(
            session, host, booking,
            subject=_("Invitation: {title}").format(title=title),
            text=_paragraphs(
                _("Hello {visitor}, {host} invited you to “{title}” on {when}.").format(
                    visitor=booking.visitor_name, host=host.display_name, title=title, when=when),
                where, _("Cancel: {link}").format(link=manage)),
            ics=invitation(host, title, booking, named=False),
        )
        return
    if requested:
        _tell_visitor(
            session, host, booking,
            subject=_("Requested: {title} with {host}").format(title=title, host=host.display_name),
            text=_paragraphs(
                _("Thank you, {visitor}. You asked for {when}. {host} will confirm it.").format(
                    visitor=booking.visitor_name, when=when, host=host.display_name),
                where, _("Change or cancel: {link}").format(link=manage)),
        )
    else:
        _tell_visitor(
            session, host, booking,
            subject=_("Booked: {title} with {host}").format(title=title, host=host.display_name),
            text=_paragraphs(
                _("Thank you, {visitor}. You are booked for {when}.").format(
                    visitor=booking.visitor_name, when=when),
                where, _("Change or cancel: {link}").format(link=manage)),
            ics=invitation(host, title, booking, manage=manage),
        )
    enqueue_notice(session, host.id, "booking_created", {
        "visitor_name": booking.visitor_name, "visitor_email": booking.visitor_email, "title": title,
        "start": iso_utc(booking.start_at), "status": booking.status,
        "answers": json.dumps([[label, str(answer)] for label, answer in (booking.answers or {}).items()
                               if str(answer).strip()], ensure_ascii=False),
    })
    _ = emails_gettext(host.locale)
    host_when = when_text(booking.start_at, booking.end_at, host.timezone, host.locale)
    names = {"visitor": booking.visitor_name, "email": booking.visitor_email, "title": title,
             "when": host_when}
    tell_host(
        session, host,
        subject=(_("{visitor} requested {title}") if requested else _("{visitor} booked {title}")).format(
            **names),
        text=_paragraphs(
            (_("{visitor} <{email}> requested “{title}” for {when}.") if requested
             else _("{visitor} <{email}> booked “{title}” for {when}.")).format(**names),
            where_lines(booking.location, booking.join_url, host.locale),
            _("Note: {note}").format(note=booking.note or _("(none)")) + _answers(booking.answers),
            _("No calendar is connected, so please confirm it yourself.") if requested else "",
        ),
    )


def announce_video_link(session: AsyncSession, host: User, title: tuple[str, bool], booking: Booking) -> None:
    """The calendar made the booking's video meeting (Meet, Teams) after the visitor's confirmation
    went out: send them its link, with the invitation brought up to date (same UID and SEQUENCE)."""
    lang = _visitor_language(host, booking, by_host=not title[1])
    _ = emails_gettext(lang)
    when = when_text(booking.start_at, booking.end_at, booking.timezone, lang)
    _tell_visitor(
        session, host, booking,
        subject=_("Video link: {title} with {host}").format(title=title[0], host=host.display_name),
        text=_paragraphs(
            _("Your meeting on {when} now has its video link.").format(when=when),
            where_lines(booking.location, booking.join_url, lang)),
        ics=invitation(host, title[0], booking, named=title[1]),
    )


def announce_moved(
    session: AsyncSession, host: User, title: str, booking: Booking, previous: datetime, manage: str,
    *, by_host: bool = False,
) -> None:
    """A booking moved to a new time through its manage link (``by_host``: the host moved a meeting
    scheduled from the contact's record; only the contact is told)."""
    lang = _visitor_language(host, booking, by_host=by_host)
    _ = emails_gettext(lang)
    previous_end = previous + (booking.end_at - booking.start_at)
    times = {"host": host.display_name, "title": title,
             "previous": when_text(previous, previous_end, booking.timezone, lang),
             "when": when_text(booking.start_at, booking.end_at, booking.timezone, lang)}
    lead = (_("{host} moved your meeting from {previous} to {when}.") if by_host
            else _("Your meeting moved from {previous} to {when}."))
    link = _("Cancel: {link}") if by_host else _("Change or cancel: {link}")
    _tell_visitor(
        session, host, booking,
        subject=(_("Moved: {title}") if by_host else _("Moved: {title} with {host}")).format(**times),
        text=_paragraphs(lead.format(**times), where_lines(booking.location, booking.join_url, lang),
                         link.format(link=manage)),
        ics=None if booking.status == "requested" else invitation(
            host, title, booking, named=not by_host, manage=None if by_host else manage),
    )
    if by_host:
        return
    enqueue_notice(session, host.id, "booking_rescheduled", {
        "visitor_name": booking.visitor_name, "title": title, "start": iso_utc(booking.start_at),
        "previous_start": iso_utc(previous),
    })
    _ = emails_gettext(host.locale)
    names = {"visitor": booking.visitor_name, "email": booking.visitor_email, "title": title,
             "previous": when_text(previous, previous_end, host.timezone, host.locale),
             "when": when_text(booking.start_at, booking.end_at, host.timezone, host.locale)}
    tell_host(
        session, host,
        subject=_("{visitor} moved {title}").format(**names),
        text=_("{visitor} <{email}> moved “{title}” from {previous} to {when}.").format(**names),
    )


def announce_cancelled(session: AsyncSession, host: User, title: str, booking: Booking, *,
                       by_host: bool = False, named: bool = True) -> None:
    """A booking cancelled through its manage link, or (``by_host``) by the host from the contact's
    record, when only the contact is told. ``named``: the event's title names the visitor. The
    visitor's reason (``booking.cancel_reason``), when they gave one, reaches the host."""
    lang = _visitor_language(host, booking, by_host=by_host)
    _ = emails_gettext(lang)
    when = when_text(booking.start_at, booking.end_at, booking.timezone, lang)
    _tell_visitor(
        session, host, booking,
        subject=(_("Cancelled: {title} with {host}") if named else _("Cancelled: {title}")).format(
            title=title, host=host.display_name),
        text=(_("{host} cancelled your meeting on {when}.") if by_host
              else _("Your meeting on {when} is cancelled.")).format(host=host.display_name, when=when),
        ics=invitation(host, title, booking, cancelled=True, named=named),
    )
    if by_host:
        return
    reason = (booking.cancel_reason or "").strip()
    params = {"visitor_name": booking.visitor_name, "title": title, "start": iso_utc(booking.start_at)}
    if reason:
        params["reason"] = reason
    enqueue_notice(session, host.id, "booking_cancelled", params)
    _ = emails_gettext(host.locale)
    names = {"visitor": booking.visitor_name, "email": booking.visitor_email, "title": title,
             "when": when_text(booking.start_at, booking.end_at, host.timezone, host.locale)}
    tell_host(
        session, host,
        subject=_("{visitor} cancelled {title}").format(**names),
        text=_paragraphs(
            _("{visitor} <{email}> cancelled “{title}” on {when}.").format(**names),
            _("Their reason: {reason}").format(reason=reason) if reason else "",
        ),
    )


def announce_blocked(
    session: AsyncSession, host: User, title: str, name: str, email: str, note: str,
    start: datetime | None, answers: Mapping[str, Any] | None = None,
) -> None:
    """Someone tried to book while a calendar could not be read: tell the host how to fix it."""
    _ = emails_gettext(host.locale)
    when = (moment_text(start, host.timezone, host.locale) if start is not None
            else _("a time to be agreed"))
    enqueue_notice(session, host.id, "booking_blocked", {
        "visitor_name": name, "visitor_email": email, "title": title,
        "start": iso_utc(start) if start is not None else "",
    })
    tell_host(
        session, host,
        subject=_("Slotbot: {visitor} tried to book you").format(visitor=name),
        text=_paragraphs(
            _("{visitor} <{email}> tried to book “{title}” for {when}, but booking is blocked because "
              "one of your calendars cannot be read.").format(visitor=name, email=email, title=title,
                                                              when=when),
            _("Their note: {note}").format(note=note or _("(none)")) + _answers(answers),
            _("To take bookings again, reconnect the calendar or remove the inactive one in your "
              "settings (\"settings\" in chat)."),
        ),
    )


def iso_utc(moment: datetime) -> str:
    """An instant as ISO-8601 in UTC (the form chat notices carry)."""
    return moment.astimezone(UTC).isoformat()
