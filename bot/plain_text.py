"""Text people type, made fit to keep: on one line, or on several, without control characters.

What a visitor or a host types ends up in e-mail headers, chat notices, calendar events and
pages. Line breaks come in many forms (CR, LF, VT, FF, NEL U+0085, LINE SEPARATOR U+2028,
PARAGRAPH SEPARATOR U+2029, the file/group/record separators), and other control characters
(C0, DEL, C1) mean nothing on a page. :func:`one_line` flattens a single-line field (a title, a
label, an answer); :func:`many_lines` keeps a multi-line field's breaks as ``\\n`` and drops the
rest; :func:`breaks_or_controls` tells whether a field has any (for fields that refuse them).
"""

from __future__ import annotations

import re

LINE_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # C0, DEL, C1, line/paragraph separators
_RUN = re.compile(r" *(?:[\x00-\x1f\x7f-\x9f\u2028\u2029] *)+")  # controls and the spaces around them


def breaks_or_controls(text: str) -> bool:
    """Whether ``text`` holds a line break or any other control character (a tab included)."""
    return CONTROLS.search(text) is not None


def one_line(text: str) -> str:
    """``text`` on one line: each run of line breaks and control characters becomes one space."""
    return _RUN.sub(" ", text).strip()


def many_lines(text: str) -> str:
    """``text`` with every kind of line break as ``\\n``, tabs kept, other control characters gone."""
    lines = LINE_BREAKS.sub("\n", text)
    return CONTROLS.sub(lambda found: found.group() if found.group() in "\n\t" else "", lines).strip()
