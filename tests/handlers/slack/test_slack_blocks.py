"""Block Kit rendering of conversation replies, checked against Slack's limits (the fake's checker)."""

from __future__ import annotations

from bot.conversation.reply import Button, Fields, Reply, Section, Text
from bot.handlers.slack.blocks import (
    escape,
    fallback_text,
    home_view,
    message,
    parse_action_id,
    render,
    unfurl,
)


def check_blocks(blocks: object, *, limit: int) -> str | None:
    """What Slack would refuse (the fake's checker, imported here so it stays a pytest plugin)."""
    from tests.fakes.slack import check_blocks as check

    return check(blocks, limit=limit)


def test_every_kind_of_block() -> None:
    reply = Reply((
        Text("Free <b>time</b> & more"),
        Section("Tuesday 3 March", ("09:00-10:30", "14:00-17:00")),
        Fields((("Work", "ok"), ("Home", "access lost"))),
        Button("Open page", url="https://slotbot.example.com/meetings/ulla?a=1&b=2", primary=True),
        Button("Share in channel", action="share_link", value="Book me: https://x.example/m/ulla"),
        Text("after the buttons"),
    ))
    blocks = render(reply)
    assert check_blocks(blocks, limit=50) is None
    assert blocks[0] == {"type": "section",
                         "text": {"type": "mrkdwn", "text": "Free &lt;b&gt;time&lt;/b&gt; &amp; more"}}
    assert blocks[1]["text"]["text"] == "*Tuesday 3 March*\n09:00-10:30\n14:00-17:00"
    assert [f["text"] for f in blocks[2]["fields"]] == ["*Work*\nok", "*Home*\naccess lost"]
    actions = blocks[3]
    assert actions["type"] == "actions" and len(actions["elements"]) == 2
    link, share = actions["elements"]
    assert link["url"] == "https://slotbot.example.com/meetings/ulla?a=1&b=2" and "value" not in link
    assert link["style"] == "primary" and parse_action_id(link["action_id"]) == "open"
    assert parse_action_id(share["action_id"]) == "share_link"
    assert share["value"] == "Book me: https://x.example/m/ulla" and "style" not in share
    assert blocks[4]["text"]["text"] == "after the buttons"


def test_limits_are_kept() -> None:
    long_text = "\n".join(f"line {n} " + "x" * 90 for n in range(100))  # ~10 000 characters
    reply = Reply((
        Text(long_text),
        Fields(tuple((f"Calendar {n}", "ok") for n in range(23))),
        *(Button(f"Disconnect account number {n} " + "y" * 80, action="disconnect", value=str(n))
          for n in range(30)),
    ))
    blocks = render(reply)
    assert check_blocks(blocks, limit=50) is None
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    assert len(texts) == 4 and all(len(t) <= 3000 for t in texts)
    assert "\n".join(texts) == long_text  # cut at line ends, nothing lost
    assert [len(b["fields"]) for b in blocks if "fields" in b] == [10, 10, 3]
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [len(a["elements"]) for a in actions] == [25, 5]
    ids = [e["action_id"] for a in actions for e in a["elements"]]
    assert len(set(ids)) == 30 and {parse_action_id(i) for i in ids} == {"disconnect"}


def test_too_many_blocks_are_cut_with_a_marker() -> None:
    reply = Reply(tuple(Section(f"Day {n}", ("09:00-10:00",)) for n in range(120)))
    blocks = render(reply)
    assert len(blocks) == 50 and blocks[-1]["type"] == "context"
    assert check_blocks(blocks, limit=50) is None
    view = home_view(reply)
    assert view["type"] == "home" and len(view["blocks"]) == 100
    assert check_blocks(view["blocks"], limit=100) is None
    assert check_blocks(unfurl(reply)["blocks"], limit=50) is None


def test_message_text_is_the_escaped_plain_form() -> None:
    reply = Reply((Text("Hi <Ulla> & co"), Button("Page", url="https://x.example/m?a=1&b=2")))
    shaped = message(reply)
    assert shaped["text"] == escape(reply.plain_text())
    assert shaped["text"] == "Hi &lt;Ulla&gt; &amp; co\n\nPage: https://x.example/m?a=1&amp;b=2"
    empty = message(Reply(()))
    assert empty == {"text": "…"} and fallback_text(Reply(())) == "…"


def test_foreign_action_ids_are_not_ours() -> None:
    assert parse_action_id("slotbot:disconnect:3") == "disconnect"
    assert parse_action_id("slotbot:share_link:0") == "share_link"
    for other in ("button-1", "slotbot:", "slotbot:disconnect", "slotbot::1", "xslotbot:open:1"):
        assert parse_action_id(other) is None
