"""One turn of the conversation: who asks, when, in which language, and the backend to ask."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.availability import AvailabilityRules
from bot.conversation.backend import Backend, Page
from bot.conversation.speaker import Speaker
from bot.conversation.texts import Gettext, gettext_for
from bot.rules import RulesError, rules_from_json


@dataclass(frozen=True, slots=True)
class Turn:
    """The context every answer is built in."""

    backend: Backend
    speaker: Speaker
    now: datetime
    gettext: Gettext = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "gettext", gettext_for(self.speaker.locale))

    @property
    def locale(self) -> str:
        """The reader's locale."""
        return self.speaker.locale

    @property
    def zone(self) -> ZoneInfo:
        """The reader's zone."""
        return ZoneInfo(self.speaker.timezone)

    @property
    def user_id(self) -> int:
        """The reader's Slotbot user id."""
        return self.speaker.user_id


def page_rules(
    page: Page | None, timezone: str, durations: tuple[int, ...] | None = None
) -> AvailabilityRules:
    """The engine rules of ``page`` (default hours when there is no page or its rules are broken)."""
    lengths = durations or (page.durations if page else (30,))
    if page is not None:
        try:
            return rules_from_json(page.rules, timezone=timezone, durations=lengths)
        except RulesError:
            pass
    return rules_from_json({}, timezone=timezone, durations=lengths)
