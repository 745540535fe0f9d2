"""The house rules of docs/architecture.md, checked on the source: who may import whom.

Read from the files (``ast``), not by importing them, so a violation is reported even in a module
no test imports. Packages are the units: ``bot.booking``, ``bot.handlers.slack``,
``bot.calendar.google``...
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOT = ROOT / "bot"

CHANNEL_LIBRARIES = ("slack_bolt", "slack_sdk", "botbuilder", "botframework", "aiohttp")
"""What only the edges (handlers, providers, the app) may import."""

CORE_MAY_IMPORT = (
    "bot.conversation",
    "bot.availability",
    "bot.rules",
    "bot.i18n",
    "bot.calendar.base",
)
"""All that the channel-neutral conversation core may import from Slotbot."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[str]:
    """Every absolute module name ``path`` imports (``from a import b`` yields ``a`` and ``a.b``)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def _unit(module: str) -> str:
    """The package a module belongs to, for the cycle check."""
    parts = module.split(".")
    if parts[0] != "bot":
        return parts[0]
    depth = 3 if len(parts) >= 3 and parts[1] in ("handlers", "calendar") else 2
    return ".".join(parts[:depth])


def _is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    return (ROOT / relative).with_suffix(".py").exists() or (ROOT / relative / "__init__.py").exists()


def test_the_conversation_core_imports_nothing_above_it() -> None:
    found = [
        (_module_name(path), name)
        for path in _modules(BOT / "conversation")
        for name in _imports(path)
        if name.startswith(("bot.", "storage")) and _is_module(name)
        and not name.startswith(CORE_MAY_IMPORT)
    ]
    assert found == []


@pytest.mark.parametrize("folder", ["conversation", "scheduling", "availability.py", "rules.py"])
def test_the_core_imports_no_channel_library(folder: str) -> None:
    target = BOT / folder
    paths = [target] if target.is_file() else _modules(target)
    found = [
        (_module_name(path), name)
        for path in paths
        for name in _imports(path)
        if name.split(".")[0] in CHANNEL_LIBRARIES
    ]
    assert found == []


def test_the_availability_engine_is_pure() -> None:
    names = set(_imports(BOT / "availability.py"))
    assert {n.split(".")[0] for n in names} <= {
        "__future__", "bisect", "collections", "dataclasses", "datetime", "enum", "functools",
        "itertools", "math", "operator", "typing", "zoneinfo", "bot"}
    assert all(n.startswith("bot.calendar.base") for n in names if n.startswith("bot"))


def test_packages_import_each_other_without_cycles() -> None:
    edges: dict[str, set[str]] = {}
    for path in _modules(BOT):
        source = _unit(_module_name(path))
        for name in _imports(path):
            if name.startswith("bot.") and _is_module(name) and (target := _unit(name)) != source:
                edges.setdefault(source, set()).add(target)
    cycles = [cycle for start in sorted(edges) if (cycle := _cycle_from(start, edges))]
    assert cycles == []


def _cycle_from(start: str, edges: dict[str, set[str]]) -> list[str]:
    """A path start -> ... -> start, or [] (depth-first)."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(edges.get(node, ())):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return []


def test_no_module_is_over_about_four_hundred_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for folder in (BOT, ROOT / "storage")
        for path in _modules(folder)
        if "migrations" not in path.parts and (lines := len(path.read_text().splitlines())) > 420
    }
    assert long == {}
