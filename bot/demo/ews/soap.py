"""SOAP for EWS: reading a request envelope safely and writing responses the way Exchange does.

Requests are parsed with defusedxml (no DTDs, no entities). Responses are written as text with
the prefixes Exchange uses (``s:`` envelope, ``m:`` messages, ``t:`` types, ``h:`` the header's
``ServerVersionInfo``), so what a client sees matches a real server byte for byte where it matters.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast
from xml.sax.saxutils import escape, quoteattr

from defusedxml import ElementTree as SafeET  # type: ignore[import-untyped]

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"
NAMESPACES = {"s": SOAP, "m": M, "t": T, "e": E}


class BadRequest(ValueError):
    """The request is not a SOAP envelope EWS can read."""


@dataclass(frozen=True)
class ServerVersion:
    """The build a server reports in ``ServerVersionInfo`` (default: Exchange 2016 CU23)."""

    major: int = 15
    minor: int = 1
    build: int = 2507
    revision: int = 6
    version: str = "V2017_07_11"


@dataclass(frozen=True)
class Envelope:
    """A parsed request: the operation (first element in the Body), its element, and its header."""

    operation: str
    body: ET.Element
    header: ET.Element | None

    def requested_version(self) -> str | None:
        """The ``RequestServerVersion`` the client asked for, if any."""
        if self.header is None:
            return None
        found = self.header.find(q("t:RequestServerVersion"))
        return None if found is None else found.get("Version")

    def time_zone_context(self) -> str | None:
        """The Windows zone id of the ``TimeZoneContext`` header, if any."""
        if self.header is None:
            return None
        found = self.header.find(f"{q('t:TimeZoneContext')}/{q('t:TimeZoneDefinition')}")
        return None if found is None else found.get("Id")


def q(name: str) -> str:
    """``t:Subject`` as ElementTree's ``{namespace}Subject``."""
    prefix, _, local = name.partition(":")
    return f"{{{NAMESPACES[prefix]}}}{local}"


def parse_envelope(raw: bytes) -> Envelope:
    """Read a SOAP request; :class:`BadRequest` if it is not one."""
    try:
        root = cast(ET.Element, SafeET.fromstring(raw, forbid_dtd=True))
    except Exception as error:  # defusedxml raises its own errors as well as ParseError
        raise BadRequest(f"not XML: {error}") from None
    if root.tag != q("s:Envelope"):
        raise BadRequest("not a SOAP envelope")
    body = root.find(q("s:Body"))
    if body is None or len(body) == 0:
        raise BadRequest("empty SOAP body")
    operation = body[0]
    local = operation.tag.rpartition("}")[2]
    if operation.tag != f"{{{M}}}{local}":
        raise BadRequest(f"unknown element {operation.tag}")
    return Envelope(operation=local, body=operation, header=root.find(q("s:Header")))


def text_of(element: ET.Element | None, path: str, default: str = "") -> str:
    """The text at ``path`` below ``element`` (prefixed names, ``/``-separated), or ``default``."""
    if element is None:
        return default
    found = element.find("/".join(q(part) for part in path.split("/")))
    return default if found is None or found.text is None else found.text.strip()


def find(element: ET.Element | None, path: str) -> ET.Element | None:
    """The element at ``path`` below ``element`` (prefixed names, ``/``-separated)."""
    if element is None:
        return None
    return element.find("/".join(q(part) for part in path.split("/")))


def find_all(element: ET.Element | None, path: str) -> list[ET.Element]:
    """Every element at ``path`` below ``element``."""
    if element is None:
        return []
    return element.findall("/".join(q(part) for part in path.split("/")))


def local_name(element: ET.Element) -> str:
    """An element's name without its namespace."""
    return element.tag.rpartition("}")[2]


def parse_time(value: str) -> dt.datetime:
    """An xs:dateTime as an aware UTC datetime (a value without offset is read as UTC)."""
    value = value.strip()
    parsed = dt.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def utc_text(value: dt.datetime) -> str:
    """A UTC instant as Exchange writes it (``2025-03-03T09:00:00Z``)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- writing -------------------------------------------------------------------------------------


class Node:
    """An XML element to write: a prefixed name, attributes, text or children."""

    __slots__ = ("attrs", "children", "name", "text")

    def __init__(
        self, name: str, text: str | None = None, children: Iterable[Node | None] = (), **attrs: str
    ) -> None:
        self.name = name
        self.text = text
        self.attrs = attrs
        self.children = [c for c in children if c is not None]

    def add(self, *children: Node | None) -> Node:
        """Append children (None is skipped); returns self."""
        self.children.extend(c for c in children if c is not None)
        return self

    def render(self) -> str:
        """The element as XML text."""
        attrs = "".join(f" {k.replace('__', ':')}={quoteattr(v)}" for k, v in self.attrs.items())
        if self.text is None and not self.children:
            return f"<{self.name}{attrs}/>"
        inner = escape(self.text or "") + "".join(c.render() for c in self.children)
        return f"<{self.name}{attrs}>{inner}</{self.name}>"


def leaf(name: str, value: str | int | bool | None) -> Node | None:
    """A text element, None when there is no value (booleans as ``true``/``false``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return Node(name, "true" if value else "false")
    return Node(name, str(value))


def _version_header(version: ServerVersion) -> str:
    return (
        f'<s:Header><h:ServerVersionInfo MajorVersion="{version.major}" MinorVersion="{version.minor}" '
        f'MajorBuildNumber="{version.build}" MinorBuildNumber="{version.revision}" '
        f'Version="{version.version}" xmlns:h="{T}" xmlns="{T}" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/></s:Header>'
    )


def envelope(version: ServerVersion, body: Node) -> bytes:
    """A whole response: the ``ServerVersionInfo`` header and ``body`` (an ``m:...Response``)."""
    body.attrs.setdefault("xmlns__m", M)
    body.attrs.setdefault("xmlns__t", T)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP}">{_version_header(version)}'
        '<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xmlns:xsd="http://www.w3.org/2001/XMLSchema">{body.render()}</s:Body></s:Envelope>'
    ).encode()


def success(tag: str, *children: Node | None) -> Node:
    """A ``ResponseClass="Success"`` response message with ``NoError``."""
    return Node(tag, None, [Node("m:ResponseCode", "NoError"), *children], ResponseClass="Success")


def error(tag: str, code: str, text: str, *children: Node | None) -> Node:
    """A ``ResponseClass="Error"`` response message, in Exchange's element order."""
    return Node(
        tag,
        None,
        [
            Node("m:MessageText", text),
            Node("m:ResponseCode", code),
            Node("m:DescriptiveLinkKey", "0"),
            *children,
        ],
        ResponseClass="Error",
    )


def response(operation: str, messages: Iterable[Node]) -> Node:
    """``m:<operation>Response`` holding ``m:ResponseMessages``."""
    return Node(f"m:{operation}Response", None, [Node("m:ResponseMessages", None, messages)])


def fault(
    version: ServerVersion | None, code: str, text: str, *, values: dict[str, str] | None = None
) -> bytes:
    """A SOAP fault as Exchange sends one (HTTP 500), e.g. ``ErrorServerBusy`` with a back-off."""
    extra = ""
    if values:
        inner = "".join(f"<t:Value Name={quoteattr(k)}>{escape(v)}</t:Value>" for k, v in values.items())
        extra = f'<t:MessageXml xmlns:t="{T}">{inner}</t:MessageXml>'
    header = "" if version is None else _version_header(version)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP}">{header}<s:Body><s:Fault>'
        f'<faultcode xmlns:a="{T}">a:{escape(code)}</faultcode>'
        f'<faultstring xml:lang="en-US">{escape(text)}</faultstring>'
        f'<detail><e:ResponseCode xmlns:e="{E}">{escape(code)}</e:ResponseCode>'
        f'<e:Message xmlns:e="{E}">{escape(text)}</e:Message>{extra}</detail>'
        "</s:Fault></s:Body></s:Envelope>"
    ).encode()
