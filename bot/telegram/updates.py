"""Telegram updates in, one channel-neutral `Inbound` to the inbound service, acknowledgements out.

The service is synchronous (SQLAlchemy); it runs in a worker thread (`asyncio.to_thread`)
so a slow database never stalls polling, the outbox drain or other channels on the loop.
One update is one service call and one transaction: the answer, the message it came from,
the reply queued.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Literal

from telegram import Bot, CallbackQuery, Message, Update
from telegram.error import TelegramError

from bot.composition import App
from bot.telegram.keyboards import answered, read_press
from conversations.messages import Inbound
from conversations.render import buttons
from conversations.translations import N_, Translator, translator
from services import keys

log = logging.getLogger("coachbot.telegram.inbound")

CHANNEL = "telegram"
NON_TEXT_TEXT = N_("I can only read text here. Please type your answer.")
STALE_TOAST = N_("That question is already answered")

Kind = Literal["text", "press", "edit", "non_text", "ignored"]


@dataclass(frozen=True)
class Translated:
    """One Telegram update as the bot sees it: what kind, and the neutral message."""

    kind: Kind
    message: Inbound = field(default_factory=Inbound)
    # A press: its callback id, the question message's text and the pressed label.
    callback_id: str | None = None
    question_text: str = ""
    question_message_id: int | None = None
    label: str | None = None


def message_ref(chat: str, message_id: int) -> str:
    """The reference of one Telegram message, as stored with the answer it gave."""
    return f"{CHANNEL}:{chat}:{message_id}"


def translate(update: Update) -> Translated:
    """Sort an update; only private chats with people are served."""
    if update.callback_query is not None:
        return _translate_press(update.callback_query)
    if update.edited_message is not None:
        return _translate_edit(update.edited_message)
    return _translate_message(update.message)


def _translate_press(query: CallbackQuery) -> Translated:
    message = query.message
    if message is None or message.chat.type != "private":
        return Translated("ignored", callback_id=query.id)
    # Messages older than 48 h arrive "inaccessible": no text or keyboard, so no edit.
    readable = message if isinstance(message, Message) else None
    markup = readable.reply_markup if readable is not None else None
    label = next((b.text for row in (markup.inline_keyboard if markup else ())
                  for b in row if b.callback_data == query.data), None)
    return Translated(
        "press", Inbound(channel=CHANNEL, sender=str(message.chat.id),
                         event_id=keys.telegram_press(query.id),
                         button=query.data if isinstance(query.data, str) else None),
        callback_id=query.id, question_text=(readable.text or "") if readable else "",
        question_message_id=message.message_id, label=label)


def _translate_edit(edited: Message) -> Translated:
    if edited.chat.type != "private" or edited.text is None:
        return Translated("ignored")
    chat = str(edited.chat.id)
    # Each edit is an event of its own; its date has only seconds, so two edits in one
    # second are told apart by their text. A redelivered edit is the same event.
    stamp = int(edited.edit_date.timestamp()) if edited.edit_date else 0
    event_id = keys.telegram_message(chat, edited.message_id, edited=f"{stamp}:{edited.text}")
    return Translated("edit", Inbound(channel=CHANNEL, sender=chat, event_id=event_id,
                                      text=edited.text,
                                      message_ref=message_ref(chat, edited.message_id)))


def _translate_message(message: Message | None) -> Translated:
    if message is None or message.chat.type != "private" or (
            message.from_user is not None and message.from_user.is_bot):
        return Translated("ignored")
    chat = str(message.chat.id)
    event_id = keys.telegram_message(chat, message.message_id)
    # A forwarded message is someone else's words (maybe about someone else): never an answer.
    if message.text is None or message.forward_origin is not None:
        return Translated("non_text", Inbound(channel=CHANNEL, sender=chat, event_id=event_id))
    return Translated("text", Inbound(channel=CHANNEL, sender=chat, event_id=event_id,
                                      text=message.text,
                                      message_ref=message_ref(chat, message.message_id)))


class TelegramAdapter:
    """Acts on translated updates: the inbound service for people's messages, PTB for
    acknowledgements (the toast on a press, the answered question's edit)."""

    def __init__(self, app: App) -> None:
        self.app = app

    @property
    def _questions(self) -> list:
        # Read at each press, not once: a reload may have changed the questions.
        return [(q.id, buttons(q)) for program in self.app.rt.programs.values()
                for flow in program.flows for q in flow.questions]

    async def _translator(self, sender: str) -> Translator:
        """The catalog of the language this chat is spoken to in."""
        language = await asyncio.to_thread(self.app.inbound.language_at, CHANNEL, sender)
        return translator(language)

    async def handle(self, update: Update, bot: Bot) -> None:
        """React to one update."""
        got = translate(update)
        if got.kind == "ignored":
            if got.callback_id:
                await _quietly(bot.answer_callback_query(got.callback_id))
            return
        if got.kind == "non_text":
            t = await self._translator(got.message.sender)
            await _quietly(bot.send_message(chat_id=int(got.message.sender),
                                            text=t.gettext(NON_TEXT_TEXT)))
        elif got.kind == "text":
            admitted = self.app.inbound.admit(got.message)
            if admitted != "refuse":  # a flood's refusals cost no thread and no database
                await asyncio.to_thread(self.app.inbound.handle, got.message,
                                        admitted=admitted)
        elif got.kind == "edit":
            outcome = await asyncio.to_thread(self.app.inbound.edit, got.message)
            log.info("edited message event=%s outcome=%s", got.message.event_id, outcome)
        else:
            await self._press(got, bot)

    async def _press(self, got: Translated, bot: Bot) -> None:
        assert got.callback_id is not None
        press = read_press(got.message.button, self._questions)
        handled = None
        if press is not None:
            message = Inbound(channel=CHANNEL, sender=got.message.sender,
                              event_id=got.message.event_id, button=press.value,
                              button_question=press.question,
                              button_conversation=press.conversation)
            handled = await asyncio.to_thread(self.app.inbound.handle, message)
        if press is None or handled is None or handled.outcome == "stale":
            t = await self._translator(got.message.sender)
            await _quietly(bot.answer_callback_query(got.callback_id,
                                                     text=t.gettext(STALE_TOAST)))
            return
        await _quietly(bot.answer_callback_query(got.callback_id))
        if handled.answered == press.question and got.question_message_id is not None \
                and got.question_text:
            # The question now reads as a record of the answer; no keyboard to press again.
            await _quietly(bot.edit_message_text(
                answered(got.question_text, got.label or press.value),
                chat_id=int(got.message.sender), message_id=got.question_message_id))


async def _quietly(call) -> None:
    """Acknowledgements are best effort: a failed one must not lose the update's work."""
    try:
        await call
    except TelegramError as exc:
        log.warning("telegram acknowledgement failed: %s", type(exc).__name__)
