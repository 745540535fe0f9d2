"""axe-core in a Playwright page: inject it, run it, keep the serious and critical violations.

``.ci/run`` installs axe-core from the npm registry into ``.ci/node/node_modules/axe-core``
(``npm install --prefix .ci/node axe-core@4``); :data:`AXE_SCRIPT` is its ``axe.min.js``.
:func:`load_axe` reads it; without it the test is skipped, except when the ``CI`` environment
variable is set: then it fails (as ``tests.support.browser`` does for Chromium).

:func:`serious_violations` runs axe with its default rules (every WCAG 2 A/AA rule and the best
practices; none disabled) on the page and its frames, and returns the violations of impact
``serious`` or ``critical``. :func:`describe` prints them: rule id, impact, help and each target.
The pages' Content-Security-Policy forbids inline scripts, so axe is evaluated through the
DevTools protocol (``page.evaluate``), which the policy does not govern.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.paths import ROOT

if TYPE_CHECKING:
    from playwright.async_api import Frame, Page

AXE_SCRIPT = ROOT / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")
SHOWN_TARGETS = 8  # elements named per violation (the rest are counted)
RUN = "async () => JSON.stringify((await axe.run(document, {resultTypes: ['violations']})).violations)"


@dataclass(frozen=True)
class Violation:
    """One axe rule a page breaks, with the elements (CSS selectors) that break it."""

    page: str
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        shown = "; ".join(self.targets[:SHOWN_TARGETS])
        more = len(self.targets) - SHOWN_TARGETS
        return f"{self.page}: {self.rule} ({self.impact}) {self.help}: {shown}" + (
            f" (and {more} more)" if more > 0 else "")


def load_axe() -> str:
    """The text of ``axe.min.js``; skips the test when it is not installed, fails it when ``CI``
    is set."""
    if not AXE_SCRIPT.is_file():
        problem = (f"{AXE_SCRIPT} is missing (npm install --no-save --prefix .ci/node axe-core@4, "
                   "as .ci/run does)")
        if os.environ.get("CI"):
            pytest.fail(f"the accessibility check needs axe-core in CI: {problem}")
        pytest.skip(problem)
    return AXE_SCRIPT.read_text(encoding="utf-8")


async def _inject(frame: Frame, source: str) -> None:
    if not await frame.evaluate("() => typeof window.axe !== 'undefined'"):
        await frame.evaluate(source)


async def serious_violations(page: Page, source: str, name: str) -> list[Violation]:
    """The serious and critical violations axe finds on ``page`` (frames included), as ``name``."""
    import json

    for frame in page.frames:
        if not frame.is_detached():
            await _inject(frame, source)
    found: list[dict[str, Any]] = json.loads(await page.evaluate(RUN))
    return [
        Violation(
            page=name, rule=str(item["id"]), impact=str(item["impact"]), help=str(item["help"]),
            targets=tuple(" ".join(str(part) for part in node["target"]) for node in item["nodes"]),
        )
        for item in found
        if item.get("impact") in SERIOUS
    ]


def describe(violations: list[Violation]) -> str:
    """One line per violation (page, rule, impact, help, targets)."""
    return "\n".join(str(v) for v in violations) or "none"
