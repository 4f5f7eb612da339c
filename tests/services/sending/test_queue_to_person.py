"""Queueing to a person: every reachable identity, one statement, a key never twice."""

from __future__ import annotations

from sqlmodel import select

from conversations.messages import Reply
from storage.db import session
from storage.models import Enrolment, Identity, OutboxMessage


def test_a_key_queued_before_is_not_queued_again_and_not_counted(enrol, app):
    client = enrol()
    with session(app.db) as s:
        person_id = s.exec(select(Enrolment.person_id)).one()
        before = len(s.exec(select(OutboxMessage)).all())
    replies = [Reply("first"), Reply("second")]
    with app.rt.transaction() as uow:
        assert uow.queue_to_person(person_id, "k", replies) == 2
        assert uow.queue_to_person(person_id, "k", replies) == 0
    with app.rt.transaction() as uow:
        # A batch that read the identities beforehand queues the same way.
        uow.prefetch_people({person_id})
        assert uow.queue_to_person(person_id, "k", replies) == 0
        assert uow.queue_to_person(person_id, "k2", replies[:1]) == 1
    with session(app.db) as s:
        queued = s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()[before:]
        address = s.exec(select(Identity.address)).one()
    assert [(m.idempotency_key, m.payload["text"], m.address) for m in queued] == [
        ("k:test:0", "first", address), ("k:test:1", "second", address),
        ("k2:test:0", "first", address)]
    assert client.address == address
