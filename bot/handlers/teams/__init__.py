"""Slotbot's Microsoft Teams channel, on the same conversation core as Slack and the web chat.

Start at ``listeners.py`` (what each activity turns into). The pieces it uses: ``sdk.py`` (the
Bot Framework SDK, botbuilder 4.17.1, behind one module: authentication, the adapter, the
connector), ``signing_keys.py`` and ``bot_token.py`` (the keys inbound tokens are checked with,
the bot's own token, neither fetched on a blocking call), ``answers.py`` (messages and button
presses), ``extension.py`` (the message extension and link unfurling), ``cards.py`` (Adaptive
Cards from conversation replies), ``people.py`` (Teams users as speakers), ``references.py``
(conversation references, for notices), ``channel.py`` (the running parts), ``texts.py`` (the
channel's own sentences), ``package.py`` (the Teams app package), ``demo.py`` and ``preview.py``
(the preview page of ``slotbot demo``).
"""
