"""Slotbot's Slack channel, behind the thin listeners in ``listeners.py``.

Start at ``listeners.py`` (what each Slack request turns into). The pieces it uses:
``manifest.py`` (the app manifest and its paths and scopes), ``blocks.py`` (Block Kit rendering of
conversation replies), ``guard.py`` (replayed requests, retried events, per-user rate limits),
``install.py`` (the Bolt app: OAuth installs on Slotbot's database or one bot token, and bot tokens
for notices, rotated when they expire) and ``people.py`` (users.info profiles, cached briefly).
"""
