"""A keyboard carries the conversation it was sent in: a press on last week's check-in
keyboard says the check-in is closed and changes nothing. Real PTB, the fake Bot API."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import func, select

from bot.telegram.keyboards import MAX_CALLBACK_BYTES, callback_data, read_press
from conversations.messages import Button
from services.flows import open_flow_now
from services.inbound import CLOSED_TEXT
from storage.db import session
from storage.models import Answer
from tests.bot.telegram.conftest import consented_on_telegram
from tests.conftest import CHECKIN_GOOD, INTAKE


def _answers(app) -> int:
    with session(app.db) as s:
        return s.exec(select(func.count()).select_from(Answer)).one()


def test_a_press_on_last_weeks_checkin_keyboard_is_closed_and_changes_nothing(
        app, clock, enrol, run_bot, telegram_user):
    ana = consented_on_telegram(run_bot, enrol, telegram_user)
    for typed in INTAKE[1:]:
        ana.sends(typed)
    enrolment_id = 1
    assert open_flow_now(app.rt, enrolment_id, "weekly_checkin", key="tp:test:w1")
    ana.replies_to(None)
    last_week = ana.latest_keyboard()
    old_data = next(b["callback_data"] for row in last_week["reply_markup"]["inline_keyboard"]
                    for b in row if b["text"] == "3")
    assert old_data.split("~")[0].isdigit()  # the conversation rides with the press
    for typed in CHECKIN_GOOD:
        ana.sends(typed)
    clock.advance(timedelta(days=7))
    assert open_flow_now(app.rt, enrolment_id, "weekly_checkin", key="tp:test:w2")
    assert ana.replies_to(None)  # this week's check-in asks the same question again
    before = _answers(app)

    assert ana.presses_data(old_data, last_week["message_id"]) == [CLOSED_TEXT]
    assert _answers(app) == before
    # This week's question is still the open one, and a press on its own keyboard counts.
    assert ana.presses("8")
    assert _answers(app) == before + 1


def test_a_question_id_long_enough_for_the_fallback_still_carries_its_conversation():
    question = "q" * 64  # the longest id a program may give a question
    buttons = tuple(Button(str(n), str(n)) for n in range(1, 11))
    data = [callback_data(question, b.value, i, 1234567890) for i, b in enumerate(buttons)]
    assert all(len(d.encode()) <= MAX_CALLBACK_BYTES for d in data)
    assert data[0].startswith("1234567890~#")  # the compact form was needed
    press = read_press(data[7], [("other", ()), (question, buttons)])
    assert (press.question, press.value, press.conversation) == (question, "8", 1234567890)


def test_keyboards_sent_before_buttons_carried_a_conversation_still_work():
    assert read_press("confidence:7", []).conversation is None
    press = read_press("12~confidence:7", [])
    assert (press.question, press.value, press.conversation) == ("confidence", "7", 12)
