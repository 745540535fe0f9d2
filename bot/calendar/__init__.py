"""Calendar providers behind one Protocol, on one shared plumbing.

Start with ``base.py`` (the Protocol, value types, the ``CalendarError`` family and the window
rule). A provider that talks to a service builds on the shared plumbing and keeps only its own
vocabulary and quirks:

* ``http.py``: the one retry/HTTP policy (``RetryPolicy``: 429/5xx retries, ``Retry-After``,
  status -> error, one forced refresh on a 401);
* ``paging.py``: paged listings with a page bound, next links kept on the service;
* ``tokens.py``: token refresh under a per-connection lock, saved once per change;
* ``threads.py``: the app's one pool for blocking client libraries (timeouts -> ``ProviderTimeout``);
* ``oauth.py``: the connect flow's adapter shape, ``Grant``, ``OAuthError``, the scope check;
* ``ssrf/``: where user-given URLs (Exchange, CalDAV, feeds) may connect, for aiohttp and requests;
* ``tls.py``: the TLS trust for those servers (system store plus an optional extra CA file).

Providers: ``google/`` and ``microsoft/`` (packages split by idea), ``exchange/`` (EWS vocabulary
so far), ``local.py`` (Slotbot's own database), ``ics/`` (iCalendar: parse, zones, recurrence,
expand, write).
"""
