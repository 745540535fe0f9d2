"""What Slotbot asks of Microsoft (:data:`GRAPH_PERMISSIONS`) and tells the host (:data:`DISCLOSURE`).

The connect flow (``connect.py``) and every token request (``provider.py``) ask for
:func:`graph_scopes`; :func:`permission_name` is how granted scopes are compared with them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.settings import MicrosoftSettings

GRAPH_PERMISSIONS: tuple[str, ...] = ("Calendars.ReadWrite", "Calendars.Read.Shared", "User.Read")
"""Delegated Graph permissions Slotbot asks for, least privilege for what it does.

``Calendars.ReadWrite`` is the least permission that lets Slotbot create (and delete) booking
events in the host's own default calendar; it also covers reading the host's own calendars.
``Calendars.Read.Shared`` adds read access to calendars other people shared with the host (without
it ``calendarView`` on a shared calendar is refused). ``User.Read`` gives the account's e-mail
address. msal adds ``openid``, ``profile`` and ``offline_access`` (the refresh token) itself and
refuses them when passed explicitly.
"""

DISCLOSURE = (
    "Connecting Microsoft 365 lets Slotbot:\n"
    "- see the list of your calendars and of the calendars other people share with you;\n"
    "- read the events in the calendars you choose, to know when you are busy (Slotbot only uses "
    "their times and whether they show you as busy, free, tentative or away);\n"
    "- create an event with the visitor invited in your default calendar when someone books a "
    "meeting with you, and delete that event if the booking is cancelled (Microsoft sends the "
    "invitations and cancellations from your mailbox);\n"
    "- read your name and e-mail address.\n"
    "Microsoft's permission for creating events also allows changing events in your own "
    "calendars; Slotbot never changes events it did not create. Slotbot keeps the sign-in it is "
    "given encrypted, and you can disconnect at any time."
)
"""What the host is told before consenting (PRODUCT.md S9)."""


def graph_scopes(settings: MicrosoftSettings) -> list[str]:
    """The Graph permissions as resource-qualified scopes for ``settings.graph_base``'s cloud.

    Qualifying by the Graph origin keeps sovereign clouds right (``graph.microsoft.us`` ...).
    """
    parts = urlsplit(settings.graph_base)
    origin = f"{parts.scheme}://{parts.netloc}"
    return [f"{origin}/{permission}" for permission in GRAPH_PERMISSIONS]


def permission_name(scope: str) -> str:
    """A scope's permission name, lower-cased (``https://graph.microsoft.com/User.Read`` -> ``user.read``)."""
    return scope.rsplit("/", 1)[-1].lower()
