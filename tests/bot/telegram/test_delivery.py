"""Sending under Telegram's limits: a 429 waits out retry_after; a 403 marks the client
unreachable and tells the coach; nothing is lost or sent twice."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from services.flows import open_flow_now
from storage import people
from storage.db import session
from storage.models import AuditEntry, Enrolment, Identity, OutboxMessage
from tests.bot.telegram.conftest import event_of


def _joined(enrol, telegram_user):
    client = enrol("Ana Lima", join=False)
    ana = telegram_user(4242)
    ana.sends(f"/start {client.enrolled.code}")
    ana.presses("Yes")
    return client, ana


def _outbox(app, **where) -> list[OutboxMessage]:
    with session(app.db) as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list(s.exec(query))


def test_a_429_is_retried_after_its_retry_after_and_sent_once(
        app, clock, enrol, run_bot, telegram_user, telegram_api):
    bot = run_bot()
    _, ana = _joined(enrol, telegram_user)
    telegram_api.fail_next("sendMessage", status=429, retry_after=5)

    update = telegram_api.inject_message(4242, "Double my revenue")
    telegram_api.wait_for(lambda calls: any(
        c.method == "sendMessage" and c.status == 429 for c in telegram_api.recorded))
    telegram_api.wait_for(lambda _: any(m.error == "rate limited (429)" for m in _outbox(
        app, channel="telegram", status="queued")))
    waiting = _outbox(app, channel="telegram", status="queued")
    assert len(waiting) == 1
    assert waiting[0].next_attempt_at == clock.now() + timedelta(seconds=5)
    assert not any("monthly revenue" in m["text"] for m in ana.received)

    clock.advance(timedelta(seconds=5))
    bot.wake()
    ana.replies_to(event_of(update))

    asked = [m for m in ana.received if "monthly revenue today" in m["text"]]
    assert len(asked) == 1
    assert _outbox(app, channel="telegram", status="queued") == []


def test_a_client_who_blocked_the_bot_is_marked_unreachable_and_the_coach_is_told(
        app, clock, enrol, run_bot, telegram_user, telegram_api):
    bot = run_bot()
    client, ana = _joined(enrol, telegram_user)
    with session(app.db) as s, s.begin():
        coach_id = s.get(Enrolment, client.enrolled.enrolment_id).coach_id
        people.bind_identity(s, person_id=coach_id, channel="slack", address="UCOACH")
    telegram_api.fail_chat(4242, status=403)

    # The weekly check-in comes due (the scheduler calls the handler this way).
    assert open_flow_now(app.rt, client.enrolled.enrolment_id, "weekly_checkin",
                                  key="tp:checkin:w1") == 1  # the intro above the first question
    bot.wake()
    telegram_api.wait_for(lambda _: _outbox(app, channel="telegram", status="failed"))

    with session(app.db) as s:
        identity = s.exec(select(Identity).where(Identity.channel == "telegram")).one()
        assert identity.unreachable_since == clock.now()
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "client_unreachable")).one()
        assert audit.enrolment_id == client.enrolled.enrolment_id
    [note] = _outbox(app, channel="slack")
    assert note.address == "UCOACH"
    assert note.payload["text"].startswith("Ana Lima can't be reached on Telegram")

    # She unblocks the bot and writes again: reachable, and the check-in is there.
    telegram_api.clear_failures()
    replies = ana.sends("/checkin")
    assert any("How confident do you feel" in r for r in replies), replies
    with session(app.db) as s:
        identity = s.exec(select(Identity).where(Identity.channel == "telegram")).one()
        assert identity.unreachable_since is None


def test_network_errors_and_5xx_are_retried_with_backoff(
        app, clock, enrol, run_bot, telegram_user, telegram_api):
    bot = run_bot()
    _, ana = _joined(enrol, telegram_user)
    telegram_api.fail_next("sendMessage", status=502)

    update = telegram_api.inject_message(4242, "Double my revenue")
    telegram_api.wait_for(lambda _: any(m.attempts == 1 and m.error for m in _outbox(
        app, channel="telegram", status="queued")))

    clock.advance(timedelta(seconds=5))  # the first backoff step
    bot.wake()
    ana.replies_to(event_of(update))
    assert len([m for m in ana.received if "monthly revenue today" in m["text"]]) == 1
