"""The base of every fake service: an aiohttp app on 127.0.0.1, a free port, plain or TLS.

A fake subclasses :class:`FakeServer`, adds its routes in :meth:`FakeServer.routes` and speaks its
service's wire protocol there. The base gives every fake the same machinery:

* lifecycle: ``await fake.start()`` / ``await fake.stop()`` on the running loop, or
  ``with fake:`` (``start_in_thread()`` / ``stop_in_thread()``) on a loop of its own in a daemon
  thread, for clients that block (google-api-python-client, msal's requests, exchangelib): a
  blocking client on the fake's own loop would deadlock;
* ``tls``: serve https with a self-signed certificate for 127.0.0.1 (:func:`make_tls_files`);
* :attr:`FakeServer.requests`: every request (method, path, query, headers, parsed body, status,
  arrival time);
* :attr:`FakeServer.latency`: seconds before each answer the fake chooses to delay
  (:meth:`FakeServer.pause`);
* scripted failures: :meth:`FakeServer.fail_next` queues answers (a status with an optional
  ``Retry-After``, a delay, or both) for the next requests a predicate picks; the fake takes
  them with :meth:`FakeServer.take_fault` where its service would fail, and renders them in its
  own error vocabulary;
* :meth:`FakeServer.spawn`: the fake's own outgoing calls (webhooks, push notifications) run in the
  background on its loop, from any thread; stopping the fake cancels those still running.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar
from urllib.parse import parse_qsl

from aiohttp import web

from bot.demo.certificate import TlsFiles, make_tls_files

__all__ = ["CALL", "FakeServer", "Fault", "Recorded", "TlsFiles", "make_tls_files", "read_body"]

T = TypeVar("T")


# -- requests and scripted failures ---------------------------------------------------------------


@dataclass
class Recorded:
    """One request a fake received (``body``: a form as a dict, JSON parsed, else text or None)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    status: int = 0
    at: float = 0.0


@dataclass
class Fault:
    """A scripted answer: ``status`` (None: the normal answer) after ``delay`` extra seconds.

    ``detail`` holds the fake's own words for the error (a Google reason, a Graph code...).
    """

    status: int | None
    retry_after: str | None = None
    delay: float = 0.0
    when: Callable[[Recorded], bool] | None = None
    detail: dict[str, str] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        """The headers the scripted answer carries (``Retry-After``)."""
        return {} if self.retry_after is None else {"Retry-After": self.retry_after}


async def read_body(request: web.Request) -> Any:
    """The request body as a fake sees it: a form as a dict, JSON parsed, other text, or None."""
    raw = await request.read()
    if not raw:
        return None
    if request.content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(raw.decode(), keep_blank_values=True))
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


CALL = web.RequestKey("call", Recorded)
"""Where a request's :class:`Recorded` entry is kept (``request[CALL]``), for the fake's handlers."""


class _LoopThread:
    """An event loop in a daemon thread."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, make: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
        async def call() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(timeout=timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


class FakeServer:
    """Base of the fake services (see the module docstring). Subclasses add :meth:`routes`."""

    name = "fake"

    def __init__(self, *, tls: TlsFiles | None = None) -> None:
        self.tls = tls
        self.latency = 0.0
        self.requests: list[Recorded] = []
        self.port = 0
        self._faults: list[Fault] = []
        self._fault_lock = threading.Lock()
        self._runner: web.AppRunner | None = None
        self._own_loop: _LoopThread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._background: set[Any] = set()

    def routes(self, app: web.Application) -> None:
        """Add the service's routes to ``app``."""
        raise NotImplementedError

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> Self:
        """Serve on 127.0.0.1, a free port, on the running event loop."""
        await self._serve()
        return self

    async def stop(self) -> None:
        """Stop serving."""
        await self._close()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        app = web.Application(middlewares=[self._record])
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner,
            "127.0.0.1",
            0,
            ssl_context=None if self.tls is None else self.tls.server_context(),
            backlog=256,
        )
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _close(self) -> None:
        for pending in list(self._background):
            pending.cancel()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    def start_in_thread(self) -> Self:
        """Serve from an event loop of the fake's own, in a daemon thread."""
        self._own_loop = _LoopThread(f"fake-{self.name}")
        self._own_loop.run(self._serve)
        return self

    def stop_in_thread(self) -> None:
        """Stop serving and end the fake's own loop."""
        if self._own_loop is not None:
            own, self._own_loop = self._own_loop, None
            own.run(self._close)
            own.close()

    def run(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run a coroutine on the fake's own loop (thread mode), waiting for its result."""
        assert self._own_loop is not None, "start the fake in its own thread first"
        return self._own_loop.run(make)

    def spawn(self, make: Callable[[], Awaitable[Any]]) -> None:
        """Run a coroutine in the background on the fake's loop, called from that loop or any thread
        (the fake's own outgoing traffic: webhooks, push notifications). Stopping cancels it."""
        loop = self._loop
        assert loop is not None, "start the fake first"

        async def call() -> None:
            await make()

        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        pending: Any = (
            loop.create_task(call()) if running is loop else asyncio.run_coroutine_threadsafe(call(), loop)
        )
        self._background.add(pending)
        pending.add_done_callback(self._background.discard)

    def __enter__(self) -> Self:
        return self.start_in_thread()

    def __exit__(self, *exc: object) -> None:
        self.stop_in_thread()

    @property
    def base_url(self) -> str:
        """``http(s)://127.0.0.1:PORT`` (no trailing slash)."""
        assert self.port, "start the fake first"
        return f"{'http' if self.tls is None else 'https'}://127.0.0.1:{self.port}"

    # -- the request log --------------------------------------------------------------------

    @web.middleware
    async def _record(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        headers = {k.lower(): v for k, v in request.headers.items()}
        call = Recorded(  # the path as sent: ids in it stay percent-encoded
            request.method,
            request.rel_url.raw_path,
            dict(request.query),
            await read_body(request),
            headers,
            at=time.perf_counter(),
        )
        self.requests.append(call)
        request[CALL] = call
        try:
            response = await handler(request)
        except web.HTTPException as answer:
            call.status = answer.status
            raise
        call.status = response.status
        return response

    # -- latency and scripted failures --------------------------------------------------------

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int | None = 500,
        retry_after: float | str | None = None,
        delay: float = 0.0,
        when: Callable[[Recorded], bool] | None = None,
        **detail: str,
    ) -> None:
        """Answer the next ``count`` requests ``when`` picks (all it is asked about if None).

        ``status`` None answers normally, only ``delay`` seconds late (a slow service).
        """
        fault = Fault(status, None if retry_after is None else str(retry_after), delay, when, dict(detail))
        with self._fault_lock:
            self._faults.extend([fault] * count)

    def take_fault(self, call: Recorded) -> Fault | None:
        """The first scripted failure for ``call``, removed from the queue (None: answer normally)."""
        with self._fault_lock:
            for i, fault in enumerate(self._faults):
                if fault.when is None or fault.when(call):
                    del self._faults[i]
                    return fault
        return None

    def clear_faults(self) -> None:
        """Forget every scripted failure still queued."""
        with self._fault_lock:
            self._faults.clear()

    async def pause(self, fault: Fault | None = None, latency: float | None = None) -> None:
        """Wait the fake's ``latency`` (or the one given) plus the fault's delay."""
        seconds = (self.latency if latency is None else latency) + (fault.delay if fault else 0.0)
        if seconds > 0:
            await asyncio.sleep(seconds)
