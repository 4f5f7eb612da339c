"""Slack answer buttons carry their question and conversation in the actions block's id."""

from __future__ import annotations

from bot.slack.blocks import conversation_of, question_of, reply_message
from conversations.messages import Button, Reply


def test_an_answer_block_names_its_question_and_conversation():
    reply = Reply("How confident?", buttons=tuple(Button(str(n), str(n)) for n in range(30)),
                  question="confidence", conversation=42)
    _, blocks = reply_message(reply)
    ids = [b["block_id"] for b in blocks if b["type"] == "actions"]
    assert len(ids) == 2  # 25 buttons a block
    assert [(question_of(i), conversation_of(i)) for i in ids] == [("confidence", 42)] * 2


def test_blocks_posted_before_buttons_carried_a_conversation_still_name_their_question():
    assert (question_of("q:confidence:0"), conversation_of("q:confidence:0")) == (
        "confidence", None)
