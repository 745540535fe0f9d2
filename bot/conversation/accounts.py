"""Calendar accounts in chat: connect, calendars and their health, settings, disconnect.

Connecting and settings never happen in chat itself: the answer carries a one-time link that
signs the user in to their dashboard (single use, 15 minutes) and leads to the provider's consent
page. Passwords are never asked for in chat.
"""

from __future__ import annotations

from datetime import timedelta

from bot.conversation.backend import Account, NotConnected
from bot.conversation.reply import Block, Button, Reply, Section, Text
from bot.conversation.texts import provider_label, reason_text
from bot.conversation.turn import Turn, page_rules

LINK_NOTE_MINUTES = 15


async def connect_buttons(turn: Turn, only: str = "") -> list[Block]:
    """One button per configured calendar service (or just ``only``), each a fresh sign-in link."""
    _ = turn.gettext
    blocks: list[Block] = []
    for service in turn.backend.services():
        if not service.enabled or (only and service.kind != only):
            continue
        url = await turn.backend.login_link(turn.user_id, f"/dashboard/connect/{service.kind}")
        label = _("Connect {service}").format(service=provider_label(service.kind, _))
        blocks.append(Button(label, url=url, primary=not blocks))
    return blocks


async def settings_button(turn: Turn) -> Button:
    """A button opening the user's settings through a fresh sign-in link."""
    return Button(turn.gettext("Open settings"), url=await turn.backend.login_link(turn.user_id))


def _link_note(turn: Turn) -> Text:
    return Text(turn.gettext(
        "The link signs you in once and works for {minutes} minutes; don't share it."
    ).format(minutes=LINK_NOTE_MINUTES))


async def connect(turn: Turn, provider: str) -> Reply:
    """Connect Google, Microsoft 365, Exchange or CalDAV: a sign-in link to the service's connect page.

    Exchange and CalDAV (iCloud, Fastmail, Nextcloud...: ``other``) connect with a password, so their
    links lead to a form on the dashboard: the password is never asked for (or accepted) in chat.
    An ICS feed's address is a secret too (it grants read access): it is pasted on its form, not here.
    """
    _ = turn.gettext
    services = {s.kind: s for s in turn.backend.services()}
    blocks: list[Block] = []
    if provider == "other" and "caldav" in services:
        blocks.append(Text(_(
            "iCloud, Fastmail, Nextcloud and other CalDAV calendars connect with your user name and an "
            "app password, which you type on a secure page, never here in chat.")))
        provider = "caldav"
    elif provider == "feed" and "feed" in services:
        blocks.append(Text(_(
            "A calendar feed (an ICS or webcal address, such as a shared or holiday calendar) is read "
            "only: Slotbot counts its busy times. Its address is a secret, so paste it on the secure "
            "page, not here in chat.")))
    elif provider in ("other", "feed"):
        blocks.append(Text(_(
            "I can't connect that calendar on this Slotbot server: Google Calendar, Microsoft 365 and "
            "Exchange work here.")))
        provider = ""
    elif (provider == "exchange" and provider not in services) or (
            provider in services and not services[provider].enabled):
        return Reply((Text(_("{service} is not set up on this Slotbot server yet. Ask your "
                             "administrator to set it up.").format(
            service=provider_label(provider, _))),))
    buttons = await connect_buttons(turn, provider if provider in services else "")
    if not buttons:
        return Reply((*blocks, Text(_("No calendar service is set up on this Slotbot server yet. "
                                      "Ask your administrator to set up Google or Microsoft 365."))))
    host = await turn.backend.host(turn.user_id)
    if not blocks:
        blocks.append(Text(_("Connect your calendar: you will see what Slotbot reads and writes "
                             "before you agree.")))
    if provider == "exchange":
        blocks.append(Text(_("Exchange signs in with your e-mail address and password, which you "
                             "type on a secure page, never here in chat.")))
    blocks.extend(buttons)
    blocks.append(_link_note(turn))
    if host is not None and not host.email:
        blocks.append(Text(_("I don't know your e-mail address yet, and I need it for invitations: "
                             "add it to your chat profile first.")))
    return Reply(tuple(blocks))


async def settings(turn: Turn) -> Reply:
    """A one-time link to the dashboard."""
    _ = turn.gettext
    return Reply((
        Text(_("Here are your settings: calendars, which ones are checked, and where bookings go.")),
        await settings_button(turn),
        _link_note(turn),
    ))


def _calendar_line(turn: Turn, account: Account, problems: dict[int, str]) -> list[str]:
    _ = turn.gettext
    lines = []
    for calendar in account.calendars:
        if account.status == "needs_reauth":
            state = _("needs reconnecting")
        elif account.status == "inactive" or not calendar.active:
            state = _("access lost")
        elif calendar.id in problems:
            state = _("could not be read just now ({reason})").format(reason=problems[calendar.id])
        elif not calendar.checks_conflicts:
            state = _("not checked for conflicts")
        else:
            state = _("OK, checked for conflicts")
        if calendar.is_default:
            state = _("{state}; new bookings go here").format(state=state)
        lines.append(f"{calendar.name}: {state}")
    return lines or [_("no calendars found yet")]


async def calendars(turn: Turn) -> Reply:
    """Every connected account and calendar with its health, checked now."""
    _ = turn.gettext
    accounts = await turn.backend.accounts(turn.user_id)
    if not accounts:
        return Reply((Text(_("You have no calendar connected yet.")), *await connect_buttons(turn)))
    pages = await turn.backend.pages(turn.user_id)
    rules = page_rules(pages[0] if pages else None, turn.speaker.timezone)
    probe = await turn.backend.availability(
        turn.user_id, start=turn.now, end=turn.now + timedelta(days=1), now=turn.now, rules=rules,
        duration_minutes=rules.durations[0],
    )
    problems = {p.calendar_id: reason_text(p.reason, _) for p in probe.problems}
    blocks: list[Block] = [Text(_("Your calendars:"))]
    for account in accounts:
        heading = f"{provider_label(account.provider, _)} · {account.email}"
        blocks.append(Section(heading, tuple(_calendar_line(turn, account, problems))))
    troubled = problems or any(
        a.status != "active" or not all(c.active for c in a.calendars) for a in accounts
    )
    if troubled:
        blocks.append(Text(_("While a calendar can't be read, nobody can book you. Reconnect or "
                             "remove it in your settings.")))
    blocks.append(await settings_button(turn))
    return Reply(tuple(blocks))


async def disconnect_menu(turn: Turn) -> Reply:
    """The connected accounts, each with a "disconnect" button."""
    _ = turn.gettext
    accounts = await turn.backend.accounts(turn.user_id)
    if not accounts:
        return Reply((Text(_("No calendar account is connected.")),))
    blocks: list[Block] = [Text(_("Which account should I disconnect? Its calendars stop being "
                                  "checked and Slotbot forgets its access."))]
    for account in accounts:
        label = _("Disconnect {account}").format(
            account=f"{account.email} ({provider_label(account.provider, _)})")
        blocks.append(Button(label, action="disconnect", value=str(account.id)))
    return Reply(tuple(blocks))


async def disconnect(turn: Turn, value: str) -> Reply:
    """The "disconnect" button: disconnect the account whose id is ``value``."""
    _ = turn.gettext
    try:
        account = await turn.backend.disconnect(turn.user_id, int(value))
    except (ValueError, NotConnected):
        return Reply((Text(_("That calendar account is not connected (any more).")),))
    blocks: list[Block] = [Text(_("Disconnected {account} ({service}). Its calendars are no longer "
                                  "checked.").format(account=account.email,
                                                     service=provider_label(account.provider, _)))]
    if not await turn.backend.accounts(turn.user_id):
        blocks.append(Text(_("You have no calendar connected now: visitors can still ask for a "
                             "time, and you confirm it yourself.")))
    return Reply(tuple(blocks))
