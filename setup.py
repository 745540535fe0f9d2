"""Build hook: compile the gettext catalogs (``bot/locales/**/*.po`` -> ``.mo``) into the build.

Everything else about the distribution is in ``pyproject.toml``; setuptools runs this file only to
pick up the ``build_py`` command below (``pip install .``, ``pip wheel .``, ``python -m build``).
Editable installs and source checkouts need no ``.mo``: :func:`bot.i18n.load` compiles a ``.po``
in memory when its ``.mo`` is missing.
"""

from __future__ import annotations

import io
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

LOCALES = Path("bot") / "locales"


def compile_catalogs(source: Path, target: Path) -> list[Path]:
    """Compile every ``<locale>/LC_MESSAGES/<domain>.po`` under ``source`` into the same place
    under ``target``; return the ``.mo`` files written. Fuzzy entries are left out."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        locale, domain = po.parent.parent.name, po.stem
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=locale, domain=domain)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        mo = target / po.relative_to(source).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        mo.write_bytes(buffer.getvalue())
        written.append(mo)
    return written


class BuildWithCatalogs(build_py):
    """``build_py`` that also writes the compiled catalogs next to their ``.po`` files."""

    def run(self) -> None:
        """Build the packages, then compile the catalogs into the build folder."""
        super().run()
        if not getattr(self, "editable_mode", False):
            compile_catalogs(LOCALES, Path(self.build_lib) / LOCALES)


if __name__ == "__main__":
    setup(cmdclass={"build_py": BuildWithCatalogs})
