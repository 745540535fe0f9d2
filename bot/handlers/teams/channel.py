"""The Teams channel's running parts: the SDK, references, people, replay memory, background work.

:class:`TeamsChannel` is built by ``bot.handlers.teams.listeners.setup`` when Teams is configured.
It holds the :class:`~.sdk.TeamsSdk` (on the app's shared HTTP session and worker threads), the
conversation references (:class:`~.references.Conversations`), the people cache and the memory
of activity ids already handled (Teams redelivers an activity when an answer was slow: it is
handled once; with PostgreSQL every worker shares that memory).

It does what several handlers share: running the work that follows the HTTP 200
(:meth:`spawn`; shutdown waits for it), sending to a user's 1:1 chat (:meth:`to_personal`,
opening the chat when the bot has none yet) and delivering notices (:meth:`deliver`,
registered on the chat notifier for the channel ``"teams"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterator
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.calendar.threads import WorkerThreads
from bot.conversation.core import Conversation
from bot.conversation.reply import Reply
from bot.handlers.slack.guard import MemorySeenRequests, SeenRequests, shared_seen_requests
from bot.handlers.teams import cards
from bot.handlers.teams.people import People
from bot.handlers.teams.references import Conversations, Reference
from bot.handlers.teams.sdk import ConnectorError, TeamsSdk
from bot.keys import CONVERSATION, ENGINE, HTTP, IDENTITIES, SESSIONS, SETTINGS
from storage.models import ChatIdentity

log = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 10.0
ANSWERS_FIRST = 0.1  # seconds background work waits at most for pending HTTP answers
SEEN_FOR = timedelta(hours=1)  # Teams redelivers within minutes


class TeamsChannel:
    """See the module docstring."""

    def __init__(self, app: web.Application, threads: WorkerThreads) -> None:
        self.app = app
        self.settings = app[SETTINGS].teams
        self.sdk = TeamsSdk(self.settings, lambda: app[HTTP], threads)
        self.conversations = Conversations(app[SESSIONS])
        self.people = People(app[IDENTITIES])
        self._seen = MemorySeenRequests()
        self._shared: SeenRequests | None = shared_seen_requests(app[ENGINE])
        self._known: dict[tuple[str, str], Reference] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._answering = 0
        self._answered = asyncio.Event()
        self._answered.set()

    @property
    def conversation(self) -> Conversation:
        """The channel-neutral conversation core."""
        return self.app[CONVERSATION]

    # -- handled once -----------------------------------------------------------------------------

    async def first_time(self, key: str) -> bool:
        """Whether this worker sees the activity ``key`` for the first time."""
        return not await self._seen.first_seen({"teams:" + key: SEEN_FOR})

    async def claim(self, key: str) -> bool:
        """Whether no other worker handled the activity ``key`` (the shared memory, if any)."""
        if self._shared is None:
            return True
        return not await self._shared.first_seen({"teams:" + key: SEEN_FOR})

    # -- background work --------------------------------------------------------------------------

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around one POST to /api/messages: background work waits while answers are pending."""
        self._answering += 1
        self._answered.clear()
        try:
            yield
        finally:
            self._answering -= 1
            if not self._answering:
                self._answered.set()

    async def after_the_answers(self) -> None:
        """Wait until no HTTP answer is pending (at most :data:`ANSWERS_FIRST`): under a burst of
        activities, every 200 goes out before the slower work of answering them starts."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._answered.wait(), timeout=ANSWERS_FIRST)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` after the HTTP answer; shutdown waits for it, failures are logged."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("teams work failed", exc_info=error)

    async def close(self, app: web.Application) -> None:
        """``on_shutdown``: let answers in progress finish (at most :data:`SHUTDOWN_SECONDS`)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=SHUTDOWN_SECONDS)

    # -- references -------------------------------------------------------------------------------

    async def remember(self, reference: Reference) -> bool:
        """Store ``reference`` unless this worker stored the same lately; whether it is new."""
        key = (reference.tenant_id, reference.conversation_id)
        if self._known.get(key) == reference:
            return False
        new = await self.conversations.remember(reference)
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[key] = reference
        return new

    def forget_known(self, reference: Reference) -> None:
        """Drop the cached reference of a conversation the app left."""
        self._known.pop((reference.tenant_id, reference.conversation_id), None)

    async def personal_chat(self, tenant_id: str, user_id: str, via: Reference | None = None
                            ) -> Reference | None:
        """The user's 1:1 chat with the bot, opened through ``via`` (or any chat of the tenant)."""
        found = await self.conversations.personal(tenant_id, user_id)
        if found is not None:
            return found
        via = via or await self.conversations.any_in(tenant_id)
        if via is None:
            return None
        conversation_id = await self.sdk.open_personal(via, user_id)
        opened = Reference(service_url=via.service_url, conversation_id=conversation_id,
                           tenant_id=tenant_id, bot_id=via.bot_id, bot_name=via.bot_name,
                           user_id=user_id)
        await self.remember(opened)
        return opened

    async def to_personal(self, tenant_id: str, user_id: str, activity: dict[str, Any],
                          via: Reference | None = None) -> bool:
        """Send ``activity`` to the user's 1:1 chat; whether there was one to send to."""
        chat = await self.personal_chat(tenant_id, user_id, via)
        if chat is None:
            return False
        await self.sdk.send_to(chat, activity)
        return True

    # -- notices ----------------------------------------------------------------------------------

    async def deliver(self, identity: ChatIdentity, reply: Reply) -> None:
        """Send a notice to a Teams user's 1:1 chat, proactively.

        Raises on errors worth retrying (the outbox retries with backoff); a user the bot cannot
        reach any more (app removed, user gone, no conversation known) is logged and skipped.
        """
        try:
            sent = await self.to_personal(identity.tenant, identity.external_id, cards.message(reply))
        except ConnectorError as exc:
            if not exc.permanent:
                raise
            log.warning("teams notice dropped", extra={"status": exc.status, "tenant": identity.tenant})
            return
        if not sent:
            log.warning("teams notice skipped: no conversation with the user",
                        extra={"tenant": identity.tenant})
