"""A press on an ended conversation's keyboard changes nothing, on every channel."""

from __future__ import annotations

from sqlmodel import select

from conversations.messages import Inbound
from services.inbound import CLOSED_TEXT
from storage.db import session
from storage.models import Answer, Conversation
from tests.conftest import INTAKE


def test_a_press_on_the_finished_intakes_keyboard_is_closed_and_stores_nothing(app, enrol):
    ana = enrol("Ana Lima")
    consent = next(r for r in ana.received if r.buttons)
    assert consent.conversation is not None  # the intake's conversation
    for typed in INTAKE:
        ana.says(typed)
    with session(app.db) as s:
        before = len(list(s.exec(select(Answer))))
        intake = s.get(Conversation, consent.conversation)
        assert intake.closed_at is not None
    app.inbound.handle(Inbound(channel="test", sender=ana.address, event_id="old-press",
                               button="no", button_question=consent.question,
                               button_conversation=consent.conversation))
    assert [r.text for r in ana.flush()] == [CLOSED_TEXT]
    with session(app.db) as s:
        assert len(list(s.exec(select(Answer)))) == before
