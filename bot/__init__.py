"""Slotbot: meeting scheduling that lives in chat.

Start with ``bot/app.py`` (the web application) and ``bot/cli.py`` (the command line);
``docs/architecture.md`` is the map.
"""
