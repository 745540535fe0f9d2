"""A fake ICS feed host on :class:`tests.fakes.base.FakeServer` (see ``server.py``).

Fixtures (``pytest_plugins = ["tests.fakes.feeds.fixtures"]``): ``feeds_tls`` (a session-wide
certificate for 127.0.0.1 and localhost) and ``feeds`` (a running fake over https on the test's
loop).
"""

from tests.fakes.feeds.server import TOKEN, FakeFeeds, calendar

__all__ = ["TOKEN", "FakeFeeds", "calendar"]
