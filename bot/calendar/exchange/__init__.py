"""Microsoft Exchange on-premises (EWS): for now only the free/busy vocabulary (``mapping.py``).

The EWS provider itself (exchangelib in the app's worker threads, GetUserAvailability /
CalendarView) follows, on the shared plumbing of ``bot/calendar/`` (``http.py``, ``threads.py``).
"""
