"""CalDAV calendars (iCloud, Fastmail, Nextcloud, any CalDAV server) with an app password.

Start with :mod:`bot.calendar.caldav.provider` (:func:`~bot.calendar.caldav.provider.caldav_factory`,
what the app registers as ``caldav``) and :mod:`bot.calendar.caldav.connect` (the dashboard
form's checks). WebDAV is spoken directly (``webdav.py``: aiohttp and defusedxml, about six
request shapes); ``discovery.py`` finds the principal, home and calendars; ``mapping.py`` turns
event resources into BusyBlocks with :mod:`bot.calendar.ics`; ``credentials.py`` is the sealed
JSON. The ``caldav`` library is not used (its dependencies replace urllib3 process-wide).
"""
