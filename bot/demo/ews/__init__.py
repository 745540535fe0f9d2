"""A self-contained Exchange Web Services (EWS) endpoint, faithful enough for exchangelib.

It backs ``slotbot demo --exchange`` and the test double in ``tests/fakes/exchange``: one SOAP
endpoint (``POST /EWS/Exchange.asmx``) over an in-memory organisation of mailboxes, answering
like an on-premises Exchange 2016 behind IIS (NTLM per connection and Basic sign-in, the
``ServerVersionInfo`` header, Exchange's response classes, codes and faults).

Modules, one idea each: ``store`` (mailboxes, folders, items, sharing), ``soap`` (parsing and
writing envelopes), ``auth`` (NTLM/Basic), ``access`` (folder references and permissions),
``restriction`` (search filters), ``folders``/``items``/``item_operations``/``availability``
(the operations), ``timezones`` (Windows zones and rules), ``operations`` (dispatch),
``server`` (the aiohttp endpoint and :func:`serve`), ``sample`` (demo data); run
``python -m bot.demo.ews`` for a standalone server.
"""

from bot.demo.ews.server import Call, EwsEndpoint, Running, serve
from bot.demo.ews.soap import ServerVersion
from bot.demo.ews.store import Event, Folder, Mailbox, Store, add_event

__all__ = [
    "Call",
    "Event",
    "EwsEndpoint",
    "Folder",
    "Mailbox",
    "Running",
    "ServerVersion",
    "Store",
    "add_event",
    "serve",
]
