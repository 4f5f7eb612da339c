"""Telegram updates in, channel-neutral `Inbound`s to the handler, acknowledgements back out.

The handler is synchronous (SQLAlchemy); it runs in a worker thread (`asyncio.to_thread`)
so a slow database never stalls polling, the outbox drain or other channels on the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from telegram import Bot, Message, Update
from telegram.error import TelegramError

from bot.app import App
from bot.inbound import Inbound
from bot.telegram import answers
from bot.telegram.reachability import mark_reachable
from bot.telegram.render import answered, read_press
from conversations.render import buttons
from storage import conversations as convs
from storage import enrolments
from storage.db import session as new_session

log = logging.getLogger("coachbot.telegram.inbound")

CHANNEL = "telegram"
NON_TEXT_TEXT = "I can only read text here. Please type your answer."
STALE_TOAST = "That question is already answered"

Kind = Literal["text", "press", "edit", "non_text", "ignored"]


@dataclass(frozen=True)
class Incoming:
    """One Telegram update, reduced to what the bot acts on."""

    kind: Kind
    chat: str = ""
    event_id: str = ""
    text: str = ""
    # The client's message (text, edit), or the bot's question message (press).
    message_id: int | None = None
    callback_id: str | None = None
    data: str | None = None
    label: str | None = None


def translate(update: Update) -> Incoming:
    """Sort an update; only private chats with people are served."""
    event_id = f"tg-{update.update_id}"
    query = update.callback_query
    if query is not None:
        message = query.message
        if message is None or message.chat.type != "private":
            return Incoming("ignored", callback_id=query.id)
        # Messages older than 48 h arrive "inaccessible": no text or keyboard, so no edit.
        readable = message if isinstance(message, Message) else None
        markup = readable.reply_markup if readable is not None else None
        label = next((b.text for row in (markup.inline_keyboard if markup else ())
                      for b in row if b.callback_data == query.data), None)
        return Incoming("press", chat=str(message.chat.id), event_id=event_id,
                        text=(readable.text or "") if readable else "",
                        message_id=message.message_id,
                        callback_id=query.id, data=query.data if isinstance(query.data, str)
                        else None, label=label)
    edited = update.edited_message
    if edited is not None:
        if edited.chat.type != "private" or edited.text is None:
            return Incoming("ignored")
        return Incoming("edit", chat=str(edited.chat.id), event_id=event_id, text=edited.text,
                        message_id=edited.message_id)
    message = update.message
    if message is None or message.chat.type != "private" or (
            message.from_user is not None and message.from_user.is_bot):
        return Incoming("ignored")
    # A forwarded message is someone else's words (maybe about someone else): never an answer.
    if message.text is None or message.forward_origin is not None:
        return Incoming("non_text", chat=str(message.chat.id), event_id=event_id,
                        message_id=message.message_id)
    return Incoming("text", chat=str(message.chat.id), event_id=event_id, text=message.text,
                    message_id=message.message_id)


class TelegramAdapter:
    """Acts on translated updates: the handler for people's messages, PTB for acknowledgements."""

    def __init__(self, app: App, *, on_queued: Callable[[], None]) -> None:
        self.app = app
        self.on_queued = on_queued  # wakes the outbox drain
        self._questions = [(q.id, buttons(q)) for program in app.handler.programs.values()
                           for flow in program.flows for q in flow.questions]

    async def handle(self, update: Update, bot: Bot) -> None:
        """React to one update."""
        incoming = translate(update)
        if incoming.kind == "ignored":
            if incoming.callback_id:
                await _quietly(bot.answer_callback_query(incoming.callback_id))
            return
        await asyncio.to_thread(mark_reachable, self.app.db, channel=CHANNEL,
                                address=incoming.chat)
        if incoming.kind == "non_text":
            await _quietly(bot.send_message(chat_id=int(incoming.chat), text=NON_TEXT_TEXT))
        elif incoming.kind == "text":
            await asyncio.to_thread(self._text, incoming)
        elif incoming.kind == "edit":
            await asyncio.to_thread(self._edit, incoming)
        else:
            await self._press(incoming, bot)
        self.on_queued()

    def _text(self, incoming: Incoming) -> None:
        db = self.app.db
        before = answers.before(db, channel=CHANNEL, address=incoming.chat)
        handled = self.app.handler.handle(Inbound(channel=CHANNEL, sender=incoming.chat,
                                                  event_id=incoming.event_id,
                                                  text=incoming.text))
        if handled.outcome == "handled" and incoming.message_id is not None:
            answer = answers.produced(db, before, incoming.text)
            if answer is not None and answer.id is not None:
                answers.remember_source(db, answer.id, answers.source_ref(
                    CHANNEL, incoming.chat, incoming.message_id))

    def _edit(self, incoming: Incoming) -> None:
        assert incoming.message_id is not None
        outcome = self.app.handler.edit(
            Inbound(channel=CHANNEL, sender=incoming.chat, event_id=incoming.event_id,
                    text=incoming.text),
            ref=answers.source_ref(CHANNEL, incoming.chat, incoming.message_id))
        log.info("edited message event=%s outcome=%s", incoming.event_id, outcome)

    async def _press(self, incoming: Incoming, bot: Bot) -> None:
        assert incoming.callback_id is not None
        press = read_press(incoming.data, self._questions)
        accepted = False
        if press is not None:
            accepted = await asyncio.to_thread(self._accept_press, incoming, press.question,
                                               press.value)
        if press is None or accepted is None:
            await _quietly(bot.answer_callback_query(incoming.callback_id, text=STALE_TOAST))
            return
        await _quietly(bot.answer_callback_query(incoming.callback_id))
        if accepted and incoming.message_id is not None and incoming.text:
            # The question now reads as a record of the answer; no keyboard to press again.
            await _quietly(bot.edit_message_text(
                answered(incoming.text, incoming.label or press.value),
                chat_id=int(incoming.chat), message_id=incoming.message_id))

    def _accept_press(self, incoming: Incoming, question: str, value: str) -> bool | None:
        """True if the press answered its question, False if not, None if it was stale."""
        db = self.app.db
        if not self._asking(incoming.chat):
            return None  # nothing is being asked: an old keyboard
        before = answers.before(db, channel=CHANNEL, address=incoming.chat)
        handled = self.app.handler.handle(Inbound(
            channel=CHANNEL, sender=incoming.chat, event_id=incoming.event_id, button=value,
            button_question=question))
        if handled.outcome == "stale":
            return None
        if handled.outcome != "handled" or before is None or before.question != question:
            return False
        return answers.produced(db, before, value) is not None

    def _asking(self, chat: str) -> bool:
        with new_session(self.app.db) as session:
            found = enrolments.enrolment_at(session, channel=CHANNEL, address=chat)
            if found is None:
                return True  # let the handler answer a stranger
            state = convs.flow_state(convs.open_conversation(session, found[0].id or 0))
            return state is not None and state.asked is not None


async def _quietly(call) -> None:
    """Acknowledgements are best effort: a failed one must not lose the update's work."""
    try:
        await call
    except TelegramError as exc:
        log.warning("telegram acknowledgement failed: %s", type(exc).__name__)
