"""What Slotbot asks of Google (:data:`SCOPES`) and tells the host about it (:data:`DISCLOSURE`).

The connect flow (``connect.py``) requests exactly these scopes and refuses a grant missing any;
stored credentials keep the scopes granted (``credentials.py``).
"""

from __future__ import annotations

SCOPES: tuple[str, ...] = (
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
    "https://www.googleapis.com/auth/calendar.events.freebusy",
    "https://www.googleapis.com/auth/calendar.events.owned",
    "https://www.googleapis.com/auth/calendar.app.created",
)
"""The least-privilege scopes Slotbot asks for, one per job.

* ``calendar.calendarlist.readonly`` ("See the list of Google calendars you're subscribed to"):
  enough for ``calendarList.list``/``get``, which is how the account's calendars, their access
  roles (owner/writer/reader/freeBusyReader) and the primary calendar (whose id is the account's
  e-mail address) are found. Nothing about events.
* ``calendar.events.freebusy`` ("See the availability on Google calendars you have access to"):
  enough for ``freeBusy.query`` on every calendar the account can see, shared ones included,
  and it yields busy intervals only, never titles or guests. (``calendar.freebusy`` is the older
  equivalent; ``calendar.readonly`` would expose every event's details.)
* ``calendar.events.owned`` ("See, create, change, and delete events on Google calendars you
  own"): enough for ``events.insert``/``delete`` on the host's own calendars, where bookings are
  written (S6), without the power over calendars merely shared with the host that
  ``calendar.events`` grants or the calendar/ACL management of ``calendar``.
* ``calendar.app.created`` ("Make secondary Google calendars, and see, create, change, and
  delete events on them"): ``calendars.insert``/``delete`` for the "Slotbot tasks" calendar
  of "Show my open tasks in my calendar", and only calendars Slotbot itself made. A connection
  made before this scope was asked for answers 403 there; the host reconnects to grant it.

No identity scopes (``openid email``) are requested: the account e-mail is the id of the primary
calendar. Consequence: a calendar the host only has *writer* access to cannot be a booking's
target; the dashboard should offer only ``AccessRole.OWNER`` calendars as the default.
"""

DISCLOSURE = (
    "To connect your Google Calendar, Slotbot asks Google for four permissions and uses them "
    "only for scheduling:\n"
    "- See the list of your calendars, so you can choose which ones are checked for conflicts.\n"
    "- See when you are busy in those calendars, including ones shared with you. Slotbot reads "
    "busy times only, not what your events are about or who attends them.\n"
    "- Create and delete events in calendars you own. Slotbot adds a meeting to your default "
    "calendar when someone books time with you (Google e-mails them the invitation) and removes it "
    "if the booking is cancelled. Google words this permission as also letting Slotbot see events "
    "in calendars you own; Slotbot does not read them.\n"
    "- Make a calendar of its own, only if you ask it to show your tasks in your calendar: a "
    "calendar named \u201cSlotbot tasks\u201d with one event per open task.\n"
    "Slotbot never changes or deletes your other events, never shares your calendars, and you can "
    "disconnect at any time from your calendar settings, which also withdraws its access at Google."
)
"""What Slotbot reads and writes, in plain language, shown before the consent screen (S9)."""
