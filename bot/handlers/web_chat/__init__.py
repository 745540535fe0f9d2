"""The web chat channel: the signed-in host's chat page and the website widget for visitors.

Start with :mod:`bot.handlers.web_chat.chat` (HTTP for both). This package holds what the handlers
share and keep thin: :mod:`.render` turns a conversation :class:`~bot.conversation.reply.Reply`
into JSON blocks (rendered with ``textContent`` by ``static/chat.js`` and ``static/widget.js``, and
by the ``chat_blocks.html`` template when JavaScript is off), :mod:`.speaker` maps a signed-in user
to a :class:`~bot.conversation.speaker.Speaker`, :mod:`.visitor` answers a website visitor who
wants to meet a host, and :mod:`.texts` holds the channel's own sentences (gettext domain
``web_chat``).
"""
