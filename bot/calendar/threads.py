"""The one thread pool for the synchronous client libraries (google-api-python-client, msal...).

Start here when a provider has to call a blocking library. The app builds one
:class:`WorkerThreads` at start-up, hands it to every provider factory, and shuts it down on exit;
no provider or factory builds a pool of its own. :meth:`WorkerThreads.run` runs one call in the
pool with a deadline, carries the caller's context variables (log context) into the thread, and
turns a missed deadline into :class:`~bot.calendar.base.ProviderTimeout`, the one timeout error of
every provider.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TypeVar

from bot.calendar.base import ProviderTimeout

T = TypeVar("T")

WORKER_THREADS = 32
"""Threads of the app's pool unless configured otherwise.

Each blocking request holds a thread while it waits for the network. The event loop's default
executor has ``min(32, CPUs + 4)`` threads, shared with every other blocking call in the process:
on a 2-CPU machine that is 6, and the 7th concurrent request (a host with many connections, or
several hosts asking at once) waited a whole round trip for a free thread.
"""


class WorkerThreads:
    """A pool of threads for blocking library calls, owned by whoever builds it (the app).

    Threads start when first needed. ``size`` None means no pool of its own: calls then run on
    the event loop's default executor (for code used outside the app, such as a one-off provider
    in a test or a connect flow called without the app's pool).
    """

    def __init__(self, size: int | None = WORKER_THREADS, *, name: str = "slotbot-calendar") -> None:
        self._pool: Executor | None = (
            None if size is None else ThreadPoolExecutor(max_workers=size, thread_name_prefix=name)
        )

    @classmethod
    def loop_default(cls) -> WorkerThreads:
        """Calls on the running loop's default executor (no pool is built)."""
        return cls(None)

    async def run(self, fn: Callable[[], T], *, timeout: float, what: str) -> T:  # noqa: ASYNC109
        """``fn()`` in a worker thread, waiting at most ``timeout`` seconds.

        A missed deadline, or a timeout the library raises itself (a socket timeout), raises
        :class:`ProviderTimeout` naming ``what`` (a short phrase such as "Google: read busy
        times"); the thread is not interrupted and finishes on its own. Every other exception of
        ``fn`` propagates unchanged.
        """
        loop = asyncio.get_running_loop()
        call = functools.partial(contextvars.copy_context().run, fn)
        try:
            return await asyncio.wait_for(loop.run_in_executor(self._pool, call), timeout=timeout)
        except TimeoutError:
            raise ProviderTimeout(f"No answer in time ({what}).") from None

    def shutdown(self) -> None:
        """Stop taking calls; queued calls are cancelled, running ones finish on their own."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
