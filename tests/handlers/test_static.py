"""Static files: hashed addresses in the pages, cached for a year at the current hash only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.handlers.site import IMMUTABLE, REVALIDATE
from bot.keys import TEMPLATES
from bot.templating import STATIC_DIR, StaticFiles

CSS = (STATIC_DIR / "slotbot.css").read_bytes()


def test_a_changed_file_gets_a_new_address(tmp_path: Path) -> None:
    (tmp_path / "a.css").write_text("body { color: red }")
    before = StaticFiles(tmp_path).url("a.css")
    assert re.fullmatch(r"/static/a\.css\?v=[0-9a-f]{16}", before)
    assert StaticFiles(tmp_path).url("a.css") == before  # same content, same address
    (tmp_path / "a.css").write_text("body { color: blue }")
    after = StaticFiles(tmp_path).url("a.css")
    assert after != before
    with pytest.raises(ValueError, match="no static file"):
        StaticFiles(tmp_path).url("missing.css")


async def test_hashed_address_is_immutable_and_plain_name_revalidates(app_client: Any) -> None:
    client = await app_client()
    start = await (await client.get("/")).text()
    url = client.app[TEMPLATES].static.url("slotbot.css")
    assert f'href="{url}"' in start  # the page links the hashed address
    hashed = await client.get(url)
    assert hashed.status == 200
    assert hashed.headers["Cache-Control"] == IMMUTABLE
    assert "text/css" in hashed.headers["Content-Type"]
    assert await hashed.read() == CSS
    for address in ("/static/widget.js", "/static/slotbot.css?v=0123456789abcdef"):
        plain = await client.get(address)  # customer sites load widget.js by its name; an old hash
        assert plain.status == 200
        assert plain.headers["Cache-Control"] == REVALIDATE
    for missing in ("/static/nothing.css", "/static/..%2Fapp.py", "/static/.hidden"):
        assert (await client.get(missing)).status == 404
