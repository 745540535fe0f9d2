"""iCalendar (.ics) reading and writing: parse once, expand any window quickly; write events.

Reading backs the local calendar, ICS-feed and CalDAV calendars and ``slotbot free``. Start with
:func:`bot.calendar.ics.parse.parse_ics` and the two methods of the
:class:`bot.calendar.ics.expand.IcsCalendar` it returns::

    from bot.calendar.ics.errors import IcsError
    from bot.calendar.ics.parse import parse_ics

    calendar = parse_ics(data)                                  # bytes or str; raises IcsError
    blocks = calendar.busy_blocks(start, end, zone)             # list[BusyBlock] for providers
    intervals = calendar.busy_intervals(start, end, zone)       # [(epoch_s, epoch_s)] for the engine
    calendar.warnings                                           # one line per event skipped or value
                                                                # read leniently: log or print them

Writing: :func:`bot.calendar.ics.write.event_to_ics` (written events and e-mailed invitations).

One module per idea, importers use them directly (nothing is re-exported here):

* ``parse``      the file read into Slotbot's event records (DTEND/DURATION, copies by SEQUENCE)
* ``lines``      the content lines that matter, picked out by one regular expression, repaired
* ``fast``       those lines decoded without icalendar's components (its types for odd values)
* ``zones``      TZID / VTIMEZONE / Windows names, floating times, wall clock to instants, clamping
* ``recurrence`` RRULE rules, their instances near a window (old unbounded rules jump close)
* ``series``     one recurring series in a window: EXDATE, overrides, RANGE=THISANDFUTURE
* ``expand``     a window's occurrences as BusyBlocks or engine intervals; ``show_as``
* ``write``      iCalendar text for events Slotbot writes
* ``errors``     ``IcsError``, raised by every stage: a calendar that cannot be read is unknown,
  not free

Underscored names (``_Rule``, ``_Zones``...) are shared between these modules, not outside them.

Not handled (knowingly): EXRULE (ignored, which only ever adds busy time), declined invitations
(an .ics feed does not say whose calendar it is), RSCALE (non-Gregorian rules raise IcsError),
``X-WR-TIMEZONE`` (floating times stay in the host's zone; see :mod:`bot.calendar.ics.parse`).
Custom VTIMEZONE definitions are cached by icalendar process-wide by TZID: two feeds defining
the same non-IANA TZID differently get the first definition.
"""
