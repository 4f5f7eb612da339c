"""The inbound path on SQLite and PostgreSQL: stored at once, exactly once, resumable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.composition import build_app
from conversations.messages import Inbound
from services.delivery import DeliveryError, drain
from services.inbound import JOIN_TEXT
from storage.db import session
from storage.models import (
    Answer,
    Consent,
    Conversation,
    Enrolment,
    InboundEvent,
    OutboxMessage,
    Person,
)
from tests.conftest import CHECKIN_GOOD, INTAKE

# An answer of a check-in: its conversation's flow.
CHECKIN_ANSWER = col(Answer.conversation_id).in_(select(Conversation.id).where(
    Conversation.flow_id == "weekly_checkin"))


def rows(app, model, *where):
    with session(app.db) as s:
        return list(s.exec(select(model).where(*where)))


def test_every_answer_is_stored_the_moment_it_is_accepted(enrol, app):
    client = enrol()
    client.says("yes")
    client.says("Double my revenue")
    stored = {a.question_id: a.value["v"] for a in rows(app, Answer)}
    assert stored == {"consent": True, "goal": "Double my revenue"}
    assert [c.given for c in rows(app, Consent)] == [True]


def test_a_finished_intake_keeps_its_answers_in_rows_and_no_state(enrol, app):
    client = enrol()
    for typed in INTAKE:
        client.says(typed)
    [intake] = rows(app, Conversation, Conversation.flow_id == "intake")
    assert intake.outcome == "completed" and intake.state == {}
    assert len(rows(app, Answer)) == 5


def test_a_retried_platform_event_changes_nothing(enrol, app):
    client = enrol()
    first = client.says("yes", event_id="update-41")
    again = client.says("yes", event_id="update-41")
    assert first and again == []
    assert len(rows(app, Answer)) == 1
    assert len(rows(app, InboundEvent, InboundEvent.event_id == "update-41")) == 1


def test_a_wrong_answer_is_reasked_kindly_and_nothing_is_stored(enrol, app):
    client = enrol()
    for typed in INTAKE[:3]:
        client.says(typed)
    replies = client.says("eleven out of ten")
    assert "a number from 1 to 10" in replies[0]
    assert "How confident are you" in replies[0]
    assert {a.question_id for a in rows(app, Answer)} == {"consent", "goal", "revenue_baseline"}


def test_a_stranger_is_told_how_to_join_and_nothing_about_them_is_kept(app):
    app.inbound.handle(Inbound(channel="test", sender="stranger-1", event_id="s1", text="hello"))
    queued = rows(app, OutboxMessage)
    assert [m.payload["text"] for m in queued] == [JOIN_TEXT]
    assert rows(app, Person) == []


def test_a_used_or_unknown_invite_code_does_not_join(enrol, app):
    client = enrol("Ana Lima")
    code = client.enrolled.code
    other = type(client)(app=app, address="mallory")
    assert other.says(f"/start {code}") == [JOIN_TEXT]
    assert other.says("/start NOSUCHCODE") == [JOIN_TEXT]


def test_an_expired_invite_code_does_not_join(enrol, app, clock):
    client = enrol(join=False)
    clock.advance(timedelta(days=8))
    assert client.says(f"/start {client.enrolled.code}") == [JOIN_TEXT]


def test_declining_consent_ends_politely_and_keeps_only_that_answer(enrol, app):
    client = enrol()
    replies = client.says("no")
    assert "I won't ask you anything else" in replies[0]
    assert client.says("hello?")[0].startswith("You chose not to take part")
    assert [a.question_id for a in rows(app, Answer)] == ["consent"]
    assert [e.status for e in rows(app, Enrolment)] == ["declined"]


def test_a_restart_in_the_middle_of_a_checkin_resumes_where_it_stopped(enrol, app, settings,
                                                                      clock):
    client = enrol()
    for typed in [*INTAKE, "/checkin", *CHECKIN_GOOD[:2]]:
        client.says(typed)
    app.db.dispose()

    restarted = build_app(settings, clock=clock, migrate=False)
    client.app = restarted
    replies = client.says("/start")
    assert "Here's where we were" in replies[0]
    assert "Did you do the outreach" in replies[0]
    for typed in CHECKIN_GOOD[2:]:
        replies = client.says(typed)
    assert "Thanks, Ana!" in replies[-1]
    checkin = [a.question_id for a in sorted(rows(restarted, Answer, CHECKIN_ANSWER),
                                             key=lambda a: a.id)]
    assert checkin == ["confidence", "revenue", "did_outreach", "focus", "note"]
    restarted.db.dispose()


def test_back_edits_the_previous_answer(enrol, app):
    client = enrol()
    for typed in INTAKE[:3]:
        client.says(typed)
    assert "You answered: 12000" in client.says("/back")[0]
    client.says("15000")
    baseline = rows(app, Answer, Answer.question_id == "revenue_baseline")
    assert [(a.number, a.edited_at is not None) for a in baseline] == [(15000, True)]
    assert "How confident are you" in client.last.text


def test_a_crash_before_sending_loses_nothing_and_sends_once(enrol, app, clock):
    client = enrol(join=False)
    app.inbound.handle(Inbound(channel="test", sender=client.address, event_id="e1",
                               text=f"/start {client.enrolled.code}"))

    def crash(_address, _reply):
        raise KeyboardInterrupt("worker killed mid-send")

    with pytest.raises(KeyboardInterrupt):
        drain(app.rt, "test", crash, worker="dead-worker")
    assert client.flush() == []  # still leased by the dead worker
    clock.advance(timedelta(minutes=2))  # the lease expires
    delivered = client.flush()
    assert [r.question for r in delivered] == ["consent"]  # the intro above it
    assert client.flush() == []


def test_a_failed_send_is_retried_then_delivered_once(enrol, app, clock):
    client = enrol(join=False)
    app.inbound.handle(Inbound(channel="test", sender=client.address, event_id="e1",
                               text=f"/start {client.enrolled.code}"))
    calls = []

    def flaky(address, reply):
        calls.append(reply.text)
        if len(calls) == 1:
            raise DeliveryError("502 Bad Gateway")
        return "ok"

    drain(app.rt, "test", flaky)
    clock.advance(timedelta(seconds=30))
    drain(app.rt, "test", flaky)
    sent = rows(app, OutboxMessage, OutboxMessage.status == "sent")
    assert len(sent) == 1 and len(calls) == 2
    assert all(m.platform_message_id == "ok" for m in sent)


def test_schedule_command_moves_the_weekly_checkin(enrol, app):
    client = enrol()
    for typed in INTAKE:
        client.says(typed)
    assert "every Tuesday at 18:30" in client.says("/schedule tue 18:30")[0]
    (enrolment,) = rows(app, Enrolment)
    assert (enrolment.checkin_day, enrolment.checkin_time) == ("tue", "18:30")
    assert enrolment.stage == "onboarding"
