"""``slotbot free --ews URL --ews-email ADDRESS``: an Exchange mailbox's busy time, as Slotbot sees it.

The same provider and checks as the dashboard's Exchange form: the password comes from
``SLOTBOT_EWS_PASSWORD`` (never the command line), the URL passes the SSRF policy
(``SLOTBOT_ALLOWED_PRIVATE_NETWORKS`` allows private networks), TLS trusts the system store or
``SSL_CERT_FILE`` (plus ``SLOTBOT_EXTRA_CA_FILE``). The mailbox's primary calendar is read for the
window; every failure is the form's sentence, which the command prints as one line.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.availability import Interval, block_intervals
from bot.calendar.base import CalendarError, ConnectionContext
from bot.calendar.exchange.connect import ExchangeForm, ExchangeRefused, probe
from bot.calendar.exchange.credentials import dump_credentials
from bot.calendar.exchange.provider import exchange_factory
from bot.calendar.http import RetryPolicy
from bot.calendar.ssrf import AddressPolicy, http_adapter_class
from bot.calendar.threads import WorkerThreads
from bot.calendar.tls import trust_context

PASSWORD_VARIABLE = "SLOTBOT_EWS_PASSWORD"  # noqa: S105 - the name, not a password
TIMEOUT_SECONDS = 20.0


class EwsFailed(Exception):
    """Reading the mailbox failed; the message is one line for stderr."""


def _policy(env: Mapping[str, str]) -> AddressPolicy:
    try:
        return AddressPolicy.parse(env.get("SLOTBOT_ALLOWED_PRIVATE_NETWORKS", ""))
    except ValueError as exc:
        raise EwsFailed(f"SLOTBOT_ALLOWED_PRIVATE_NETWORKS: {exc}") from None


async def _read(form: ExchangeForm, policy: AddressPolicy, extra_ca: str | None,
                start: datetime, end: datetime, zone: ZoneInfo) -> list[Interval]:
    threads = WorkerThreads(4, name="slotbot-free-ews")
    try:
        try:
            adapter = http_adapter_class(policy, trust_context(extra_ca))
        except OSError as exc:
            raise EwsFailed(f"SLOTBOT_EXTRA_CA_FILE: cannot read it ({exc.strerror or exc})") from None
        make = exchange_factory(adapter=adapter, threads=threads, timeout=TIMEOUT_SECONDS,
                                retry=RetryPolicy(max_retries=1))
        with tempfile.TemporaryDirectory(prefix="slotbot-free-") as data_dir:
            probed = await probe(form, policy=policy, adapter=adapter, threads=threads,
                                 data_dir=Path(data_dir))

        async def nothing(_: str) -> None:
            return None

        provider = make(ConnectionContext(connection_id=0, account_email=form.email,
                                          credentials=dump_credentials(probed.credentials),
                                          save_credentials=nothing))
        primary = next(folder for folder in probed.calendars if folder.primary)
        answer = (await provider.busy(start=start, end=end, calendar_ids=[primary.id]))[primary.id]
        if answer.error is not None:
            raise EwsFailed(f"the calendar could not be read: {answer.error}")
        return block_intervals(answer.blocks, zone)
    except ExchangeRefused as exc:
        raise EwsFailed(str(exc)) from None
    except CalendarError as exc:
        raise EwsFailed(str(exc)) from None
    finally:
        threads.shutdown()


def ews_busy(
    *, url: str, email: str | None, user: str | None, auth: str | None,
    start: datetime, end: datetime, zone: ZoneInfo, env: Mapping[str, str] | None = None,
) -> list[Interval]:
    """Busy intervals of the mailbox's primary calendar in ``[start, end)`` (:class:`EwsFailed`)."""
    env = os.environ if env is None else env
    if not email:
        raise EwsFailed("--ews-email is required with --ews (the mailbox's e-mail address)")
    password = env.get(PASSWORD_VARIABLE, "")
    if not password:
        raise EwsFailed(
            f"set {PASSWORD_VARIABLE} to the mailbox's password (it is never read from the command line)"
        )
    chosen = {None: "", "ntlm": "NTLM", "basic": "basic"}.get(auth.lower() if auth else None)
    if chosen is None:
        raise EwsFailed(f"--ews-auth must be ntlm or basic, not {auth!r}")
    form = ExchangeForm(email=email, password=password, username=user or "", ews_url=url, auth=chosen)
    return asyncio.run(_read(form, _policy(env), env.get("SLOTBOT_EXTRA_CA_FILE") or None, start, end, zone))
