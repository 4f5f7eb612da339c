"""Replies as Telegram messages: text plus an inline keyboard whose presses name their
question and the conversation that asked it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from conversations.messages import Button, Reply

# Telegram refuses callback_data longer than 64 bytes.
MAX_CALLBACK_BYTES = 64
# Short labels (scales, yes/no) sit side by side; longer ones get a row each.
SHORT_LABEL = 4
PER_ROW = 6


@dataclass(frozen=True)
class Press:
    """What a pressed button means: its question, its value and its conversation."""

    question: str
    value: str
    # None on keyboards sent before buttons carried their conversation.
    conversation: int | None = None


def question_digest(question: str) -> str:
    """A short, stable stand-in for a question id too long to fit in callback_data."""
    return hashlib.sha1(question.encode()).hexdigest()[:10]


def callback_data(question: str, value: str, index: int,
                  conversation: int | None = None) -> str:
    """'[conversation~]question:value', or '[conversation~]#digest:index' past 64 bytes."""
    # Program question ids are [a-z][a-z0-9_]*: never a '~', ':' or '#' to confuse.
    head = f"{conversation}~" if conversation is not None else ""
    plain = f"{head}{question}:{value}"
    if len(plain.encode()) <= MAX_CALLBACK_BYTES:
        return plain
    return f"{head}#{question_digest(question)}:{index}"


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The reply's buttons as an inline keyboard (None for a plain message)."""
    if not reply.buttons or reply.question is None:
        return None
    keys = [InlineKeyboardButton(b.label, callback_data=callback_data(
        reply.question, b.value, i, reply.conversation)) for i, b in enumerate(reply.buttons)]
    if all(len(b.label) <= SHORT_LABEL for b in reply.buttons):
        rows = [keys[i:i + PER_ROW] for i in range(0, len(keys), PER_ROW)]
    else:
        rows = [[key] for key in keys]
    return InlineKeyboardMarkup(rows)


def read_press(data: str | None, questions: Iterable[tuple[str, tuple[Button, ...]]]
               ) -> Press | None:
    """Decode callback_data; `questions` resolves the compact '#digest:index' form."""
    if not data or ":" not in data:
        return None
    conversation = None
    prefix, tilde, rest = data.partition("~")
    if tilde and prefix.isdigit() and ":" not in prefix:
        conversation, data = int(prefix), rest
    head, _, tail = data.partition(":")
    if not head.startswith("#"):
        return Press(question=head, value=tail, conversation=conversation) \
            if head and tail else None
    if not tail.isdigit():
        return None
    for question, buttons in questions:
        if question_digest(question) == head[1:] and int(tail) < len(buttons):
            return Press(question=question, value=buttons[int(tail)].value,
                         conversation=conversation)
    return None


def answered(text: str, label: str) -> str:
    """The question message once answered: the question, then the chosen value."""
    return f"{text}\n\n✓ {label}"
