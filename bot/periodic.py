"""One background round, run every few seconds while the app runs (feed refresh, calendar sync).

:class:`Periodic` is started and stopped by the app (``bot/app.py`` cleanup contexts); a round
that fails (the database away for a moment) is logged and the next one runs as planned. Stopping
lets a round that is running finish (up to :data:`STOP_SECONDS`) rather than cutting it off in
the middle of a database call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

STOP_SECONDS = 10.0


class Periodic:
    """Runs ``round`` every ``seconds`` in one task named ``name``, until stopped."""

    def __init__(self, name: str, seconds: float, round_: Callable[[], Awaitable[object]]) -> None:
        self._name = name
        self._seconds = seconds
        self._round = round_
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def run_forever(self) -> None:
        """Wait, run a round, again, until stopped (or cancelled)."""
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._seconds)
            if self._stopping.is_set():
                return
            try:
                await self._round()
            except Exception:  # the database away for a moment: try again next time
                log.exception("%s round failed", self._name)

    def start(self) -> None:
        """Start the task (on the running loop); starting twice starts it once."""
        if self._task is None:
            self._stopping = asyncio.Event()
            self._task = asyncio.create_task(self.run_forever(), name=self._name)

    async def stop(self) -> None:
        """Stop the task: a running round may finish first (within :data:`STOP_SECONDS`)."""
        if self._task is None:
            return
        task, self._task = self._task, None
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_SECONDS)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
