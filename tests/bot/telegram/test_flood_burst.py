"""A chat flooding the bot through Telegram gets one "slow down"; another client's answer
is still replied to, and the flood queues no more than the limit's worth. Real PTB and the
fake Bot API; time is the test's clock (the burst lands within one minute of it)."""

from __future__ import annotations

from sqlmodel import func, select

from services.flood import SLOW_DOWN
from storage.db import session
from storage.models import InboundEvent, OutboxMessage
from tests.bot.telegram.conftest import consented_on_telegram

FLOODER = 6_000_000_001


def test_a_burst_from_one_chat_leaves_another_clients_answer_answered(
        app, enrol, run_bot, telegram_user, telegram_api):
    ana = consented_on_telegram(run_bot, enrol, telegram_user)
    for n in range(300):
        telegram_api.inject_message(FLOODER, f"spam {n}", first_name="Flo")
    replies = ana.sends("Double my revenue")  # queued behind the whole burst
    assert any("monthly revenue" in text for text in replies)
    telegram_api.wait_for(lambda _: len(telegram_api.sent_messages(FLOODER)) == 21)
    texts = [m["text"] for m in telegram_api.sent_messages(FLOODER)]
    assert texts.count(SLOW_DOWN) == 1 and texts[-1] == SLOW_DOWN
    with session(app.db) as s:
        # Refused messages were never stored: no dedupe row, no reply row.
        assert s.exec(select(func.count()).select_from(InboundEvent)).one() < 40
    telegram_api.wait_for(lambda _: _rows_to(app, FLOODER) == 0)  # a stranger's: forgotten


def _rows_to(app, chat: int) -> int:
    with session(app.db) as s:
        return s.exec(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.address == str(chat))).one()
