"""Microsoft 365 calendars: sign-in through msal, calendars and busy time through Graph, by idea.

Where to start:

* ``connect.py``: :class:`~bot.calendar.microsoft.connect.MicrosoftConnect`, the connect flow's
  adapter, over ``start_flow`` / ``complete_flow`` / ``forget``; ``scopes.py``: the delegated
  ``GRAPH_PERMISSIONS`` and the ``DISCLOSURE`` shown first.
* ``provider.py``: :func:`~bot.calendar.microsoft.provider.microsoft_factory` and
  ``MicrosoftCalendarProvider`` on the shared plumbing (``bot/calendar/http.py``, ``paging.py``,
  ``tokens.py``, ``threads.py``); ``graph.py``: Graph requests over aiohttp.
* ``credentials.py``: the stored credentials (account id + msal cache).
* ``msal_http.py``: msal's requests session (timeouts, ``ca_bundle``), ``DiscoveryCache``, the app.
* ``mapping.py``: Graph's (and EWS's) vocabulary -> Slotbot's.

Endpoints come only from :class:`~bot.settings.MicrosoftSettings`: ``authority`` (sovereign
clouds, private authorities in tests) and ``graph_base``.
"""
