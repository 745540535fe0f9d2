"""What may go into an e-mail's headers: one-line values and addresses mail can be sent to.

:func:`header_value` refuses CR and LF (an attempt to add headers) and turns every other line
separator or control character (U+2028, U+2029, U+0085, VT, FF, the file/group/record
separators...) into a space, so a name or page title can never make a message unbuildable.
:func:`mailbox` checks an address the way the SMTP envelope needs it and raises
:class:`UnusableAddress` otherwise (such a message can never be sent, so the outbox gives it up at
once). Internationalised addresses are supported: the domain is converted to its ASCII form
(IDNA 2008, UTS #46 mapping: ``exämple.com`` -> ``xn--exmple-cua.com``), which every server takes;
a local part in UTF-8 (``évé@``) needs a server offering SMTPUTF8 (RFC 6531), see
:func:`needs_smtputf8`.
"""

from __future__ import annotations

import re

import idna

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u00a0-\U0010ffff-]+"  # RFC 6531: UTF-8 is atext too
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


def mailbox(address: str) -> tuple[str, str]:
    """``address`` as the SMTP envelope carries it: its local part and its ASCII domain;
    :class:`UnusableAddress` when mail can never be sent to it."""
    local, at, domain = header_value(address, "address").rpartition("@")
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii") if domain else ""
    except idna.IDNAError:
        ascii_domain = ""
    labels = ascii_domain.split(".")
    if not at or not _DOT_ATOM.fullmatch(local) or not all(_LABEL.fullmatch(label) for label in labels):
        raise UnusableAddress(f"{address!r} is not an address mail can be sent to")
    return local, ascii_domain


def needs_smtputf8(address: str) -> bool:
    """Whether mail to ``address`` needs SMTPUTF8 (its local part is not ASCII)."""
    return not address.rpartition("@")[0].isascii()
