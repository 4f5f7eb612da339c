"""A Slack client's command buttons carry the labels of their language, kept in the outbox."""

from __future__ import annotations

from bot.slack.blocks import reply_message
from conversations.messages import Reply
from storage.outbox import payload_of, reply_of


def _labels(reply: Reply) -> list[str]:
    _, blocks = reply_message(reply)
    return [e["text"]["text"] for b in blocks if b.get("block_id") == "commands"
            for e in b["elements"]]


def test_command_buttons_are_labelled_in_the_replys_language_after_the_outbox():
    german = reply_of(payload_of(Reply("Noch offen", commands=("checkin", "skip"),
                                       language="de")))
    assert _labels(german) == ["Jetzt einchecken", "Überspringen"]
    assert _labels(Reply("Still open", commands=("checkin", "skip"))) == ["Check in now", "Skip"]
    assert "language" not in payload_of(Reply("Still open"))  # English rows stay as they were
