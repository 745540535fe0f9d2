"""iCalendar (.ics) reading and writing: parse once, expand any window quickly; write events.

Reading backs the local calendar, ICS-feed and CalDAV calendars and ``slotbot free``. Start with
:func:`bot.calendar.ics.parse.parse_ics` and the two methods of the
:class:`bot.calendar.ics.expand.IcsCalendar` it returns::

    from bot.calendar.ics.errors import IcsError
    from bot.calendar.ics.parse import parse_ics

    calendar = parse_ics(data)                                  # bytes or str; raises IcsError
    blocks = calendar.busy_blocks(start, end, zone)             # list[BusyBlock] for providers
    intervals = calendar.busy_intervals(start, end, zone)       # [(epoch_s, epoch_s)] for the engine

Writing: :func:`bot.calendar.ics.write.event_to_ics` (written events and e-mailed invitations).

One module per idea, importers use them directly (nothing is re-exported here):

* ``parse``      the file read with ``icalendar`` into Slotbot's event records (DTEND/DURATION)
* ``zones``      TZID / VTIMEZONE / Windows names, floating times, wall clock to instants
* ``recurrence`` RRULE rules, their instances near a window (old unbounded rules jump close)
* ``expand``     a window's occurrences as BusyBlocks or engine intervals; ``show_as``
* ``write``      iCalendar text for events Slotbot writes
* ``errors``     ``IcsError``, raised by every stage: a calendar that cannot be read is unknown,
  not free

Underscored names (``_Rule``, ``_Zones``...) are shared between these modules, not outside them.

Not handled (knowingly): ``RANGE=THISANDFUTURE`` (treated as a single-instance override), EXRULE
(ignored, which only ever adds busy time), declined invitations (an .ics feed does not say whose
calendar it is), RSCALE (non-Gregorian rules raise IcsError).
"""
