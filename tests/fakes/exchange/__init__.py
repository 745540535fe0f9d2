"""A fake on-premises Exchange 2016 (EWS), for exchangelib, on the shared base.

The protocol server is the product's own :mod:`bot.demo.ews` (the ``slotbot demo --exchange``
server); :class:`FakeExchange` mounts it on :class:`tests.fakes.base.FakeServer` and adds the
test knobs:

* state: ``fake.host`` (``host@contoso.example``), ``add_mailbox(email, password, username=,
  name=)``, ``mailbox.add_calendar(name)``, ``fake.add_event(folder, start, end, subject=,
  show_as=, cancelled=, all_day=, my_response=, time_zone=)``, ``owner.share_with(email,
  "reviewer" | "free_busy" | "none")``, ``folder.fault = "ErrorAccessDenied" |
  "ErrorFolderNotFound"``;
* transport: ``FakeExchange(tls=TlsFiles, schemes=("NTLM", "Basic"), version=ServerVersion())``,
  ``latency``, ``fail_next(count, status, retry_after, calendar=, delay=, code=, back_off_ms=,
  page=, operation=)``, ``server_busy(count, back_off_ms=)``;
* observations: ``requests`` (every HTTP request), ``operations(name)`` (authenticated EWS calls),
  ``unauthorized``, ``failed_sign_ins``, ``ntlm_handshakes``, ``max_in_flight``,
  ``invitations``, ``cancellations``, ``url``, ``env()``.

``server.py`` documents what exchangelib raises for each fault. exchangelib blocks: run the fake
with ``with fake:``; :mod:`tests.fakes.exchange.client` builds accounts and isolates exchangelib's
process-wide caches. Fixtures (``pytest_plugins = ["tests.fakes.exchange.fixtures"]``):
``exchange_tls`` (session), ``exchange_fake`` (http), ``exchange_tls_fake`` (https, trusted by
exchangelib).
"""

from tests.fakes.exchange.server import (
    DEFAULT_EMAIL,
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
    EwsCall,
    FakeExchange,
)

__all__ = ["DEFAULT_EMAIL", "DEFAULT_PASSWORD", "DEFAULT_USERNAME", "EwsCall", "FakeExchange"]
