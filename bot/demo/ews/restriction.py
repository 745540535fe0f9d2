"""EWS search restrictions (``m:Restriction``) evaluated against items and folders.

Supported: ``IsEqualTo``, ``IsNotEqualTo``, ``IsGreaterThan(OrEqualTo)``, ``IsLessThan(OrEqualTo)``,
``Contains`` (substring or prefix, case-insensitive), ``Exists``, ``And``, ``Or``, ``Not``, on a
``t:FieldURI`` or a ``t:ExtendedFieldURI``. String comparison ignores case, as Exchange's does;
values that read as times compare as times. Anything else is ``ErrorInvalidRequest``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from bot.demo.ews.access import EwsError
from bot.demo.ews.soap import find, local_name, parse_time

Lookup = Callable[[ET.Element], str | None]
"""The value of a field path element (``t:FieldURI``/``t:ExtendedFieldURI``) for one object."""

_COMPARISONS = {
    "IsEqualTo": lambda c: c == 0,
    "IsNotEqualTo": lambda c: c != 0,
    "IsGreaterThan": lambda c: c > 0,
    "IsGreaterThanOrEqualTo": lambda c: c >= 0,
    "IsLessThan": lambda c: c < 0,
    "IsLessThanOrEqualTo": lambda c: c <= 0,
}


def extended_key(path: ET.Element) -> tuple[str, str]:
    """How an ``ExtendedFieldURI`` is stored on an item: (property set or tag, name or id)."""
    set_id = (path.get("PropertySetId") or path.get("DistinguishedPropertySetId") or "").lower()
    name = path.get("PropertyName") or path.get("PropertyId") or path.get("PropertyTag") or ""
    return set_id, name


def _compare(left: str, right: str) -> int:
    try:
        a, b = parse_time(left), parse_time(right)
    except ValueError:
        x, y = left.casefold(), right.casefold()
        return (x > y) - (x < y)
    return (a > b) - (a < b)


def _path_and_constant(node: ET.Element) -> tuple[ET.Element, str]:
    path = next(
        (c for c in node if local_name(c) in ("FieldURI", "ExtendedFieldURI", "IndexedFieldURI")), None
    )
    constant = find(node, "t:FieldURIOrConstant/t:Constant")
    if constant is None:
        constant = find(node, "t:Constant")
    if path is None or constant is None:
        raise EwsError("ErrorInvalidRequest")
    return path, constant.get("Value", "")


def matches(node: ET.Element, lookup: Lookup) -> bool:
    """Whether the object ``lookup`` describes satisfies the restriction element ``node``."""
    kind = local_name(node)
    if kind == "Restriction":
        return all(matches(child, lookup) for child in node)
    if kind == "And":
        return all(matches(child, lookup) for child in node)
    if kind == "Or":
        return any(matches(child, lookup) for child in node)
    if kind == "Not":
        return not all(matches(child, lookup) for child in node)
    if kind == "Exists":
        path = next(iter(node), None)
        return path is not None and lookup(path) is not None
    if kind in _COMPARISONS:
        path, constant = _path_and_constant(node)
        value = lookup(path)
        if value is None:
            return kind == "IsNotEqualTo"
        return bool(_COMPARISONS[kind](_compare(value, constant)))
    if kind == "Contains":
        path, constant = _path_and_constant(node)
        value = (lookup(path) or "").casefold()
        wanted = constant.casefold()
        mode = node.get("ContainmentMode", "Substring")
        return (
            value.startswith(wanted)
            if mode == "Prefixed"
            else (value == wanted if mode == "FullString" else wanted in value)
        )
    raise EwsError("ErrorInvalidRequest")
