"""Outgoing webhooks of the fakes (Google push channels, Graph change notifications) and a receiver.

:class:`Notifier` is mixed into a fake that calls its clients back: :meth:`Notifier.post` sends one
notification over real HTTP (aiohttp, a short timeout, no proxy from the environment), retrying
with the fake's ``retry_delays`` when the service would, and records every attempt in
``deliveries`` as a :class:`Delivery`. Tests wait for them with :meth:`Notifier.wait_deliveries`
(blocking, for fakes on their own thread) or ``await`` :meth:`Notifier.settle` (fakes on the test's
loop).

:class:`WebhookReceiver` is a small endpoint for the fakes' own tests (or any test that needs the
other side of a webhook): it records every request, answers ``status`` (or a scripted
``fail_next``), and answers Graph's validation handshake (``?validationToken=``) by echoing the
token as ``text/plain`` unless told to answer something else.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from tests.fakes.base import CALL, FakeServer, Recorded

__all__ = ["Delivery", "Notifier", "WebhookReceiver"]


@dataclass
class Delivery:
    """One attempt to deliver a notification: what was sent and how the receiver answered.

    ``status`` is None when no answer came (timeout, connection refused: see ``error``);
    ``kind`` is the fake's word for it (Google's resource state ``sync``/``exists``, Graph's
    ``validation``/``change``/``lifecycle``); ``attempt`` counts from 1 for retries of one message.
    """

    kind: str
    url: str
    headers: dict[str, str]
    body: bytes
    status: int | None
    attempt: int = 1
    answer: str = ""
    answer_type: str = ""
    error: str = ""
    at: float = field(default_factory=time.time)
    key: str = ""  # the channel or subscription id it belongs to


class Notifier:
    """The outgoing-notification half of a fake (see the module docstring)."""

    deliveries: list[Delivery]
    delivery_timeout: float
    retry_delays: tuple[float, ...]

    def _init_notifier(self, *, timeout: float, retry_delays: tuple[float, ...]) -> None:
        self.deliveries = []
        self.delivery_timeout = timeout
        self.retry_delays = retry_delays
        self._sequence_locks: dict[str, asyncio.Lock] = {}

    async def post(
        self,
        url: str,
        *,
        kind: str,
        key: str,
        headers: Mapping[str, str],
        body: bytes = b"",
        ok: Callable[[int], bool],
        retry: Callable[[int | None], bool] = lambda status: False,
        seconds: float | None = None,
        in_order: bool = True,
    ) -> Delivery:
        """POST ``body`` to ``url``; retry after each of ``retry_delays`` while ``retry(status)``.

        ``ok(status)`` tells a delivered answer; ``seconds`` overrides ``delivery_timeout``.
        ``in_order``: deliveries with the same ``key`` go out one after the other, in the order
        they were scheduled. Returns the last attempt.
        """
        lock = self._sequence_locks.setdefault(key, asyncio.Lock()) if in_order else None
        if lock is not None:
            await lock.acquire()
        try:
            delays = (0.0, *self.retry_delays)
            delivery = Delivery(kind, url, dict(headers), body, None)
            for attempt, delay in enumerate(delays, start=1):
                if delay:
                    await asyncio.sleep(delay)
                delivery = await self._attempt(url, kind, key, headers, body, attempt, seconds)
                self.deliveries.append(delivery)
                if delivery.status is not None and ok(delivery.status):
                    break
                if not retry(delivery.status):
                    break
            return delivery
        finally:
            if lock is not None:
                lock.release()

    async def _attempt(
        self,
        url: str,
        kind: str,
        key: str,
        headers: Mapping[str, str],
        body: bytes,
        attempt: int,
        limit: float | None,
    ) -> Delivery:
        seconds = self.delivery_timeout if limit is None else limit
        delivery = Delivery(kind, url, dict(headers), body, None, attempt, key=key)
        try:
            async with (
                aiohttp.ClientSession(trust_env=False) as session,
                session.post(
                    url, data=body, headers=dict(headers), timeout=aiohttp.ClientTimeout(total=seconds)
                ) as response,
            ):
                delivery.answer = await response.text()
                delivery.answer_type = response.content_type
                delivery.status = response.status
        except TimeoutError:
            delivery.error = "timeout"
        except aiohttp.ClientError as exc:
            delivery.error = type(exc).__name__
        return delivery

    def _matching(self, kind: str | None, key: str | None) -> list[Delivery]:
        return [
            d
            for d in list(self.deliveries)
            if (kind is None or d.kind == kind) and (key is None or d.key == key)
        ]

    def wait_deliveries(
        self, count: int, *, kind: str | None = None, key: str | None = None, within: float = 5.0
    ) -> list[Delivery]:
        """Block until at least ``count`` attempts (of ``kind``, for ``key``) were recorded; return them.

        For fakes running on their own thread (``with fake:``); raises AssertionError on timeout.
        """
        deadline = time.monotonic() + within
        while len(found := self._matching(kind, key)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} deliveries after {within}s: {found}")
            time.sleep(0.01)
        return found

    async def settle(
        self, count: int, *, kind: str | None = None, key: str | None = None, within: float = 5.0
    ) -> list[Delivery]:
        """:meth:`wait_deliveries` for fakes on the test's own loop."""
        deadline = time.monotonic() + within
        while len(found := self._matching(kind, key)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} deliveries after {within}s: {found}")
            await asyncio.sleep(0.01)
        return found


class WebhookReceiver(FakeServer):
    """The receiving end of webhooks, for tests: records requests, answers ``status``.

    Knobs: ``status`` (default 200), ``delay`` (seconds before answering), ``fail_next(n,
    status=...)`` (the next answers), ``validation_answer`` (the text answered to a Graph
    validation request instead of the token; None echoes it), ``validation_status``,
    ``validation_content_type``. ``notifications`` are the recorded requests that were not
    validation requests, ``validations`` those that were.
    """

    name = "webhook-receiver"

    def __init__(self, status: int = 200) -> None:
        super().__init__()
        self.status = status
        self.delay = 0.0
        self.validation_answer: str | None = None
        self.validation_status = 200
        self.validation_content_type = "text/plain"

    def routes(self, app: web.Application) -> None:
        """Every path answers."""
        app.router.add_route("*", "/{tail:.*}", self._answer)

    def url(self, path: str = "/hook") -> str:
        """An address on this receiver."""
        return self.base_url + path

    @property
    def notifications(self) -> list[Recorded]:
        """Requests received that were not validation requests."""
        return [r for r in list(self.requests) if "validationToken" not in r.query]

    @property
    def validations(self) -> list[Recorded]:
        """Graph validation requests received."""
        return [r for r in list(self.requests) if "validationToken" in r.query]

    async def _answer(self, request: web.Request) -> web.Response:
        if self.delay:
            await asyncio.sleep(self.delay)
        token = request.query.get("validationToken")
        if token is not None:
            text = token if self.validation_answer is None else self.validation_answer
            return web.Response(
                status=self.validation_status, text=text, content_type=self.validation_content_type
            )
        fault = self.take_fault(request[CALL])
        if fault is not None and fault.status is not None:
            return web.Response(status=fault.status)
        return web.Response(status=self.status)
