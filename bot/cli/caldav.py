"""``slotbot free --caldav URL``: every calendar of a CalDAV account, busy time as Slotbot sees it.

The same provider and checks as the dashboard's CalDAV form. The user name and password come from
``SLOTBOT_CALDAV_USERNAME`` / ``SLOTBOT_CALDAV_PASSWORD`` or, when those are unset, the ``machine``
entry of the URL's host in ``~/.netrc`` (``NETRC`` names another file), never from the command
line. The URL passes the SSRF policy (``SLOTBOT_ALLOWED_PRIVATE_NETWORKS`` allows private
networks); TLS trusts the system store or ``SSL_CERT_FILE`` (plus ``SLOTBOT_EXTRA_CA_FILE``).
Every failure is the form's sentence, which the command prints as one line.
"""

from __future__ import annotations

import asyncio
import netrc
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.availability import Interval, block_intervals
from bot.calendar.base import CalendarError, ConnectionContext
from bot.calendar.caldav.connect import CalDavForm, CalDavRefused, probe
from bot.calendar.caldav.credentials import dump_credentials
from bot.calendar.caldav.provider import caldav_factory
from bot.calendar.http import RetryPolicy
from bot.calendar.ssrf import AddressPolicy
from bot.calendar.tls import trust_context

USERNAME_VARIABLE = "SLOTBOT_CALDAV_USERNAME"
PASSWORD_VARIABLE = "SLOTBOT_CALDAV_PASSWORD"  # noqa: S105 - the name, not a password
TIMEOUT_SECONDS = 20.0


class CalDavFailed(Exception):
    """Reading the account failed; the message is one line for stderr."""


def sign_in(url: str, env: Mapping[str, str]) -> tuple[str, str]:
    """The user name and password: from the environment, else ``~/.netrc`` (:class:`CalDavFailed`)."""
    username, password = env.get(USERNAME_VARIABLE, ""), env.get(PASSWORD_VARIABLE, "")
    if username and password:
        return username, password
    host = urlsplit(url if "://" in url else f"https://{url}").hostname or ""
    path = env.get("NETRC") or str(Path(env.get("HOME") or Path.home()) / ".netrc")
    found = None
    if os.path.exists(path):
        try:
            found = netrc.netrc(path).authenticators(host)
        except (netrc.NetrcParseError, OSError) as exc:
            raise CalDavFailed(f"cannot read {path}: {getattr(exc, 'msg', None) or exc}") from None
    if found is not None and found[0] and found[2]:
        return username or found[0], password or found[2]
    raise CalDavFailed(
        f"set {USERNAME_VARIABLE} and {PASSWORD_VARIABLE} (an app password), or add a machine "
        f"{host or 'HOST'} entry to ~/.netrc; passwords are never read from the command line"
    )


async def _read(form: CalDavForm, policy: AddressPolicy, extra_ca: str | None,
                start: datetime, end: datetime, zone: ZoneInfo) -> list[Interval]:
    try:
        tls = trust_context(extra_ca)
    except OSError as exc:
        raise CalDavFailed(f"SLOTBOT_EXTRA_CA_FILE: cannot read it ({exc.strerror or exc})") from None
    factory = caldav_factory(policy=policy, tls=tls, timeout=TIMEOUT_SECONDS,
                             retry=RetryPolicy(max_retries=1))
    try:
        probed = await probe(form, factory=factory)

        async def nothing(_: str) -> None:
            return None

        provider = factory(ConnectionContext(connection_id=0, account_email=form.username,
                                             credentials=dump_credentials(probed.credentials),
                                             save_credentials=nothing, options={"timezone": zone.key}))
        ids = [calendar.href for calendar in probed.calendars]
        answers = await provider.busy(start=start, end=end, calendar_ids=ids)
        intervals: list[Interval] = []
        for calendar in probed.calendars:
            answer = answers[calendar.href]
            if answer.error is not None:
                raise CalDavFailed(f"the calendar {calendar.name!r} could not be read: {answer.error}")
            intervals.extend(block_intervals(answer.blocks, zone))
        return intervals
    except (CalDavRefused, CalendarError) as exc:
        raise CalDavFailed(str(exc)) from None
    finally:
        await factory.close()


def caldav_busy(*, url: str, start: datetime, end: datetime, zone: ZoneInfo,
                env: Mapping[str, str] | None = None) -> list[Interval]:
    """Busy intervals of every calendar of the account at ``url`` in ``[start, end)``.

    Raises :class:`CalDavFailed` with the one line to print.
    """
    env = os.environ if env is None else env
    username, password = sign_in(url, env)
    try:
        policy = AddressPolicy.parse(env.get("SLOTBOT_ALLOWED_PRIVATE_NETWORKS", ""))
    except ValueError as exc:
        raise CalDavFailed(f"SLOTBOT_ALLOWED_PRIVATE_NETWORKS: {exc}") from None
    form = CalDavForm(server="other", username=username, password=password, url=url)
    return asyncio.run(_read(form, policy, env.get("SLOTBOT_EXTRA_CA_FILE") or None, start, end, zone))
