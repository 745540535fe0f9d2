"""The local demo's data: the data folder, its key, the demo host and its sample calendar.

Served by ``bot.cli.demo`` (``slotbot demo``).
"""
