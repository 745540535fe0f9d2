"""The content lines of iCalendar text that can affect busy time: :func:`_relevant_lines`.

Start with :func:`_relevant_lines`: text in, the unfolded content lines of VCALENDAR, VEVENT and
VTIMEZONE (with STANDARD and DAYLIGHT) that matter for busy time out, as ``(NAME, rest)`` pairs
(``rest`` starts with ``;`` or ``:``), in file order, with BEGIN and END lines. Both ways of
reading events use them: the fast path of :mod:`bot.calendar.ics.fast` and, joined back into
text, plain ``icalendar`` (:func:`_as_text`). Descriptions, attendees, alarms... are skipped by
one regular expression that only stops at the start of a line naming a kept property, so most of
a megabyte feed is never looked at in Python.

The structure is checked here (an END closing the wrong BEGIN, a BEGIN never closed, a kept
property line with no ``:``) and raises :class:`~bot.calendar.ics.errors.IcsError`. Lenient
repairs of what mainstream programs write, applied to the lines both paths see:

* an empty ``RRULE:``, ``RDATE:`` or ``EXDATE:`` (holiday feeds, Google) is dropped;
* spaces inside an RRULE (``BYDAY=MO, TU, WE`` from Exchange) are removed;
* a trailing ``/`` of an RDATE or EXDATE item (a PERIOD without its end) is removed;
* spaces around a TZID (``TZID:Europe/Berlin `` in Thunderbird's VTIMEZONE) are removed, in
  the VTIMEZONE and in ``TZID=`` parameters alike.
"""

from __future__ import annotations

import re

from bot.calendar.ics.errors import IcsError

_KEEP_COMPONENTS = frozenset({"VCALENDAR", "VEVENT", "VTIMEZONE", "STANDARD", "DAYLIGHT"})
_KEEP_PROPERTIES = frozenset({
    "UID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID",
    "STATUS", "TRANSP", "X-MICROSOFT-CDO-BUSYSTATUS", "SEQUENCE", "DTSTAMP", "TZID", "SUMMARY",
    "TZOFFSETFROM", "TZOFFSETTO", "TZNAME", "VERSION", "PRODID", "CALSCALE",
})
_RAW_DURATION = "X-SLOTBOT-RAW-DURATION"  # DURATION kept verbatim: icalendar reads PT24H as P1D
_NAMES = "|".join(sorted(_KEEP_PROPERTIES | {"BEGIN", "END"}, key=lambda n: (-len(n), n)))
# A kept name at the start of a line, the rest of that line, then its folded continuations.
_LINE = re.compile(r"\n(" + _NAMES + r")(?![A-Za-z0-9-])([^\r\n]*)((?:\r?\n[ \t][^\r\n]*)*)")
_LINE_ANY_CASE = re.compile(_LINE.pattern, re.IGNORECASE)
_LOWER_START = re.compile(r"\n[a-z]")
_FOLD = re.compile(r"\r?\n[ \t]")
_TZID_PARAM = re.compile(r'(;TZID=)(?:"\s*([^"]*?)\s*"|\s*([^;:"]*?)\s*)(?=[;:])', re.IGNORECASE)
_LISTS = frozenset({"RDATE", "EXDATE"})
_REPAIRED = frozenset({"DURATION", "TZID", "RRULE", "RDATE", "EXDATE"})  # always through _repaired

Line = tuple[str, str]  # (NAME in upper case, the rest: ";params:value" or ":value")


def _relevant_lines(text: str) -> list[Line]:
    """The unfolded, repaired content lines that can affect busy time (see the module doc)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\n" not in text:
        text = text.replace("\r", "\n")
    text = "\n" + text
    any_case = _LOWER_START.search(text) is not None
    pattern = _LINE_ANY_CASE if any_case else _LINE
    out: list[Line] = []
    append = out.append
    stack: list[str] = []
    skipped = 0  # how many of the open components are left out
    for index, (name, rest, folds) in enumerate(pattern.findall(text)):
        if any_case:
            name = name.upper()
        if folds:
            rest = _FOLD.sub("", rest + folds)
        if name == "BEGIN" or name == "END":
            component = rest[1:].strip().upper()
            if rest[:1] != ":":
                if skipped:
                    continue
                raise _malformed(pattern, text, index, f"{name}{rest!r}")
            if name == "BEGIN":
                stack.append(component)
                if skipped or component not in _KEEP_COMPONENTS:
                    skipped += 1
                    continue
            else:
                if not stack or stack[-1] != component:
                    raise _malformed(pattern, text, index, f"END:{component} does not close "
                                     f"{'BEGIN:' + stack[-1] if stack else 'anything'}")
                stack.pop()
                if skipped:
                    skipped -= 1
                    continue
            append((name, ":" + component))
            continue
        if skipped or not stack:
            continue
        if name in _REPAIRED or (rest[:1] == ";" and (" " in rest or "\t" in rest)):
            line = _repaired(name, rest)
            if line is None:
                continue
            name, rest = line
        first = rest[:1]
        if first != ":" and (first != ";" or ":" not in rest):
            raise _malformed(pattern, text, index, f"{name} has no value")
        append((name, rest))
    if stack:
        raise IcsError(f"malformed iCalendar data: BEGIN:{stack[-1]} is never closed (a truncated file?)")
    return out


def _repaired(name: str, rest: str) -> Line | None:
    """One kept line with the lenient repairs applied, or None to drop it."""
    if rest[:1] == ";" and "TZID=" in rest.upper():
        rest = _TZID_PARAM.sub(_tzid_param, rest)
    if name == "DURATION":
        return _RAW_DURATION, rest
    if name == "TZID":
        return name, rest.strip() if rest[:1] == ":" else rest.rstrip()
    if name == "RRULE" or name in _LISTS:
        head, colon, value = _split(rest)
        if not colon:
            return name, rest
        if name == "RRULE":
            value = "".join(value.split())
        else:
            value = ",".join(item.strip().removesuffix("/") for item in value.split(","))
        if not value.strip(","):
            return None
        return name, head + ":" + value
    return name, rest


def _tzid_param(match: re.Match[str]) -> str:
    quoted, plain = match.group(2), match.group(3)
    return f'{match.group(1)}"{quoted}"' if quoted is not None else f"{match.group(1)}{plain}"


def _split(rest: str) -> tuple[str, str, str]:
    """``(params, ":", value)`` of ``rest``, respecting quoted parameter values."""
    if '"' not in rest:
        return rest.partition(":")
    quoted = False
    for index, char in enumerate(rest):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            return rest[:index], ":", rest[index + 1:]
    return rest, "", ""


def _malformed(pattern: re.Pattern[str], text: str, index: int, what: str) -> IcsError:
    """The error for the ``index``-th match, with its line number (looked up only now)."""
    for number, match in enumerate(pattern.finditer(text)):
        if number == index:
            line = text.count("\n", 0, match.start() + 1)
            return IcsError(f"malformed iCalendar data: line {line}: {what}")
    return IcsError(f"malformed iCalendar data: {what}")


def _as_text(lines: list[Line]) -> str:
    """The lines as iCalendar text again (for plain ``icalendar``)."""
    return "\r\n".join(name + rest for name, rest in lines) + "\r\n"
