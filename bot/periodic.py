"""One background round, run every few seconds while the app runs (feed refresh, calendar sync).

:class:`Periodic` is started and stopped by the app (``bot/app.py`` cleanup contexts); a round
that fails (the database away for a moment) is logged and the next one runs as planned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Periodic:
    """Runs ``round`` every ``seconds`` in one task named ``name``, until stopped."""

    def __init__(self, name: str, seconds: float, round_: Callable[[], Awaitable[object]]) -> None:
        self._name = name
        self._seconds = seconds
        self._round = round_
        self._task: asyncio.Task[None] | None = None

    async def run_forever(self) -> None:
        """Sleep, run a round, again, until cancelled."""
        while True:
            await asyncio.sleep(self._seconds)
            try:
                await self._round()
            except Exception:  # the database away for a moment: try again next time
                log.exception("%s round failed", self._name)

    def start(self) -> None:
        """Start the task (on the running loop); starting twice starts it once."""
        if self._task is None:
            self._task = asyncio.create_task(self.run_forever(), name=self._name)

    async def stop(self) -> None:
        """Stop the task and wait for it."""
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
