"""Google Calendar: the consent flow and the provider over Calendar API v3, split by idea.

Where to start:

* ``connect.py``: :class:`~bot.calendar.google.connect.GoogleConnect`, the connect flow's
  adapter, over ``authorization_url`` / ``exchange_code`` / ``revoke`` (google-auth-oauthlib,
  PKCE); ``scopes.py``: the least-privilege ``SCOPES`` and the ``DISCLOSURE`` shown first.
* ``provider.py``: :func:`~bot.calendar.google.provider.google_factory` and
  ``GoogleCalendarProvider`` (calendar list, freeBusy, events) on the shared plumbing
  (``bot/calendar/http.py``, ``paging.py``, ``tokens.py``, ``threads.py``).
* ``credentials.py``: the stored credentials format and google-auth ``Credentials``.
* ``mapping.py``: Google's vocabulary (event resources, freeBusy entries, roles) -> Slotbot's.
* ``client.py``: blocking library calls in the app's threads, Google's error reasons.
"""
