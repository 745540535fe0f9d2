"""One SOAP request to one answer: the version check, the operation table and whole-request faults.

The operation is the first element inside the SOAP Body (exchangelib sends no ``SOAPAction``).
Per-folder and per-item failures are values inside a successful response (``ResponseClass="Error"``
messages); a request the server cannot process at all is a SOAP fault with HTTP 500, as Exchange
answers: an unknown operation is ``ErrorInvalidRequest``, an unknown ``RequestServerVersion``
``ErrorInvalidServerVersion``, unreadable XML ``ErrorSchemaValidation``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

from bot.demo.ews.access import Caller, EwsError
from bot.demo.ews.availability import get_server_time_zones, get_user_availability
from bot.demo.ews.folders import find_folder, get_folder
from bot.demo.ews.item_operations import create_item, delete_item, find_item, get_item
from bot.demo.ews.soap import (
    Envelope,
    Node,
    ServerVersion,
    envelope,
    error,
    fault,
    find_all,
    response,
    success,
)

API_VERSIONS = (
    "Exchange2007",
    "Exchange2007_SP1",
    "Exchange2010",
    "Exchange2010_SP1",
    "Exchange2010_SP2",
    "Exchange2013",
    "Exchange2013_SP1",
    "Exchange2015",
    "Exchange2015_SP1",
    "Exchange2016",
)
"""The ``RequestServerVersion`` values an Exchange 2016 server accepts."""


@dataclass(frozen=True)
class Answer:
    """An HTTP status and a SOAP body."""

    status: int
    body: bytes


def convert_id(caller: Caller, request: ET.Element) -> Node:
    """``ConvertId``: ids this server issued come back as they are; anything else is malformed.

    exchangelib's version guess sends ``Id="DUMMY"`` and only needs the ``ServerVersionInfo``
    header of the answer.
    """
    destination = request.get("DestinationFormat", "EwsId")
    messages = []
    for source in find_all(request, "m:SourceIds/t:AlternateId"):
        tag = "m:ConvertIdResponseMessage"
        known = caller.store.item(source.get("Id", "")) or caller.store.folder(source.get("Id", ""))
        if not known:
            messages.append(error(tag, "ErrorInvalidIdMalformed", "Id is malformed."))
            continue
        converted = Node(
            "m:AlternateId",
            Format=destination,
            Id=source.get("Id", ""),
            Mailbox=source.get("Mailbox", caller.email),
            xsi__type="t:AlternateIdType",
        )
        messages.append(success(tag, converted))
    return response("ConvertId", messages)


def _operations(caller: Caller, parsed: Envelope) -> dict[str, Callable[[], Node]]:
    body = parsed.body
    return {
        "ConvertId": lambda: convert_id(caller, body),
        "GetFolder": lambda: get_folder(caller, body),
        "FindFolder": lambda: find_folder(caller, body),
        "FindItem": lambda: find_item(caller, body),
        "GetItem": lambda: get_item(caller, body),
        "CreateItem": lambda: create_item(caller, body, parsed),
        "DeleteItem": lambda: delete_item(caller, body),
        "GetServerTimeZones": lambda: get_server_time_zones(body),
        "GetUserAvailabilityRequest": lambda: get_user_availability(caller, body),
    }


OPERATIONS = (
    "ConvertId",
    "GetFolder",
    "FindFolder",
    "FindItem",
    "GetItem",
    "CreateItem",
    "DeleteItem",
    "GetServerTimeZones",
    "GetUserAvailabilityRequest",
)
"""The operations this server implements (the Body element's name)."""


def answer(caller: Caller, parsed: Envelope, version: ServerVersion) -> Answer:
    """Run the request's operation for ``caller``."""
    requested = parsed.requested_version()
    if requested is not None and requested not in API_VERSIONS:
        text = "The specified server version is invalid."
        return Answer(500, fault(version, "ErrorInvalidServerVersion", text))
    handler = _operations(caller, parsed).get(parsed.operation)
    if handler is None:
        return Answer(500, fault(version, "ErrorInvalidRequest", "The request is invalid."))
    try:
        return Answer(200, envelope(version, handler()))
    except EwsError as failure:
        return Answer(500, fault(version, failure.code, failure.text))
