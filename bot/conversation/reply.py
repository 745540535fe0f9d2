"""Channel-neutral replies: what the bot says, as values each channel renders in its own format.

A :class:`Reply` is a sequence of blocks (:class:`Text`, :class:`Section`, :class:`Fields`,
:class:`Button`). Slack renders them as Block Kit, Teams as Adaptive Cards, the web chat as HTML;
:meth:`Reply.plain_text` is the fallback every channel can show (notifications, screen readers).
Texts are already translated and formatted for the reader; renderers only escape and lay out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Text:
    """A paragraph."""

    text: str


@dataclass(frozen=True, slots=True)
class Section:
    """A heading with lines under it (e.g. a day and its free ranges)."""

    heading: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Fields:
    """Label/value pairs (e.g. a calendar and its health)."""

    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Button:
    """A link (``url``) or an action the channel sends back (``action`` with ``value``)."""

    label: str
    url: str | None = None
    action: str | None = None
    value: str = ""
    primary: bool = False


Block = Text | Section | Fields | Button


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot answers. ``private``: only the asker should see it (ephemeral in channels).

    ``public_text`` is a text the asker may choose to post for everyone (a meeting link).
    """

    blocks: tuple[Block, ...]
    private: bool = True
    public_text: str | None = None

    def plain_text(self) -> str:
        """The reply as plain text, one block per paragraph."""
        parts: list[str] = []
        for block in self.blocks:
            if isinstance(block, Text):
                parts.append(block.text)
            elif isinstance(block, Section):
                parts.append("\n".join((block.heading, *(f"  {line}" for line in block.lines))))
            elif isinstance(block, Fields):
                parts.append("\n".join(f"{label}: {value}" for label, value in block.pairs))
            elif block.url:
                parts.append(f"{block.label}: {block.url}")
        return "\n\n".join(parts)
