"""What may go into an e-mail's headers: one-line values and addresses mail can be sent to.

:func:`header_value` refuses CR and LF (an attempt to add headers) and turns every other line
separator or control character (U+2028, U+2029, U+0085, VT, FF, the file/group/record
separators...) into a space, so a name or page title can never make a message unbuildable.
:func:`mailbox` checks an address the way the SMTP envelope needs it (a dot-atom local part, a
host name of letters, digits and hyphens) and raises :class:`UnusableAddress` otherwise: such a
message can never be sent, so the outbox gives it up at once.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


class HeaderInjection(ValueError):
    """A header value contained a line break."""


class UnusableAddress(ValueError):
    """An address no mail can be sent to (its syntax, not the mailbox's existence)."""


def header_value(value: str, what: str) -> str:
    """``value`` on one line: CR or LF refused, other separators and controls made spaces,
    runs of white space collapsed."""
    if "\r" in value or "\n" in value:
        raise HeaderInjection(f"{what} must be a single line")
    return " ".join(_CONTROL.sub(" ", value).split())


def mailbox(address: str) -> str:
    """``address`` as the SMTP envelope carries it; :class:`UnusableAddress` when it cannot be."""
    local, at, domain = header_value(address, "address").rpartition("@")
    labels = domain.split(".")
    if not at or not _DOT_ATOM.fullmatch(local) or not all(_LABEL.fullmatch(label) for label in labels):
        raise UnusableAddress(f"{address!r} is not an address mail can be sent to")
    return f"{local}@{domain}"
