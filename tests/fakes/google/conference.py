"""The fake Google's conferencing: ``conferenceData.createRequest`` on ``events.insert``.

As the real Calendar API (events.insert reference): ``conferenceData`` is read only with the
query parameter ``conferenceDataVersion=1`` (otherwise it is dropped silently); a
``createRequest`` needs a ``requestId`` and a ``conferenceSolutionKey.type`` the calendar allows
(``allowed_conference_types``, ``hangoutsMeet`` by default): another type answers 400
``invalid`` "Invalid conference type value.". A made meeting is ``conferenceData`` with
``createRequest.status.statusCode`` ``success``, a ``conferenceSolution``, a ``conferenceId`` and a
``video`` entry point ``https://meet.google.com/xxx-xxxx-xxx``, and the event's ``hangoutLink``.
A repeated ``requestId`` gets the same meeting. While ``pending`` is above zero, an insert
answers ``statusCode: pending`` without entry points (Google makes the meeting asynchronously)
and the stored event has it complete, so the next ``events.get`` reads the link.
"""

from __future__ import annotations

import copy
import secrets
import string
from collections.abc import Mapping
from typing import Any

from tests.fakes.google.wire import google_error

Answer = tuple[int, dict[str, str], Any]
_MEET_ICON = "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png"


def _meet_code() -> str:
    letters = string.ascii_lowercase
    return "-".join("".join(secrets.choice(letters) for _ in range(n)) for n in (3, 4, 3))


class Conferencing:
    """The meetings the fake Google made, by request id, and the knob for a pending answer."""

    def __init__(self) -> None:
        self.by_request: dict[str, str] = {}  # requestId -> meeting code
        self.pending = 0  # inserts still to answer "pending" (the meeting made asynchronously)
        self.requests: list[dict[str, Any]] = []  # every createRequest accepted, as sent

    def apply(
        self, fields: dict[str, Any], query: Mapping[str, str], allowed: tuple[str, ...]
    ) -> tuple[dict[str, Any] | None, Answer | None]:
        """Put the meeting in ``fields`` (an insert body without id); returns the pending
        ``conferenceData`` the insert answers instead (see :meth:`answer`), and the error answer
        when refused."""
        data = fields.pop("conferenceData", None)
        if query.get("conferenceDataVersion") != "1" or not isinstance(data, Mapping):
            return None, None  # version 0: conferenceData is ignored
        request = data.get("createRequest")
        if not isinstance(request, Mapping):
            return None, None
        kind = (request.get("conferenceSolutionKey") or {}).get("type")
        request_id = request.get("requestId")
        if not request_id or not isinstance(request_id, str):
            return None, (400, {}, google_error(400, "required", "Required conference request id."))
        if kind not in allowed:
            return None, (400, {}, google_error(400, "invalid", "Invalid conference type value."))
        self.requests.append(dict(request))
        code = self.by_request.setdefault(request_id, _meet_code())
        link = f"https://meet.google.com/{code}"
        fields["conferenceData"] = {
            "createRequest": {"requestId": request_id, "conferenceSolutionKey": {"type": kind},
                              "status": {"statusCode": "success"}},
            "entryPoints": [{"entryPointType": "video", "uri": link, "label": link[len("https://"):]}],
            "conferenceSolution": {"key": {"type": kind}, "name": "Google Meet",
                                   "iconUri": _MEET_ICON},
            "conferenceId": code,
        }
        fields["hangoutLink"] = link
        if self.pending <= 0:
            return None, None
        self.pending -= 1
        request_only = copy.deepcopy(fields["conferenceData"]["createRequest"])
        request_only["status"] = {"statusCode": "pending"}
        return {"conferenceData": {"createRequest": request_only}}, None

    @staticmethod
    def answer(event: Mapping[str, Any], pending: Mapping[str, Any] | None) -> dict[str, Any]:
        """The insert's answer: the stored event, or (pending) it without the meeting's link."""
        if pending is None:
            return dict(event)
        return {**{k: v for k, v in event.items() if k != "hangoutLink"}, **pending}
