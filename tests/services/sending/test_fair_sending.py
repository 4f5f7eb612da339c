"""Fair sending: every chat takes its turn, whatever another chat has queued; a lease holds."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from conversations.messages import Reply
from services.delivery import PER_ADDRESS, Outbox, drain, release_held, renew_held
from storage.db import session
from storage.models import OutboxMessage


def _queue(app, address: str, count: int, *, prefix: str = "") -> None:
    with app.rt.transaction() as uow:
        for n in range(count):
            uow.queue(key=f"test:{address}:{prefix}{n}", channel="test", address=address,
                      person_id=None, reply=Reply(f"{prefix}{n}"))


class Inbox:
    """A platform that records what each chat received, in order."""

    def __init__(self) -> None:
        self.chats: dict[str, list[str]] = {}

    def __call__(self, address: str, reply: Reply) -> str:
        self.chats.setdefault(address, []).append(reply.text)
        return str(sum(map(len, self.chats.values())))


def test_a_chat_with_a_thousand_queued_does_not_delay_another_chats_reply(app):
    _queue(app, "busy", 1000)
    _queue(app, "other", 1, prefix="hello ")
    inbox = Inbox()
    drains = 0
    while "other" not in inbox.chats:
        drain(app.rt, "test", inbox, limit=300)
        drains += 1
    assert drains == 1
    # The busy chat had its share of that drain, no more, and in order.
    assert inbox.chats["busy"] == [str(n) for n in range(PER_ADDRESS)]


def test_a_chat_with_fifteen_queued_gets_ten_in_one_drain_and_the_rest_in_the_next(app):
    _queue(app, "busy", PER_ADDRESS + 5)
    inbox = Inbox()
    assert drain(app.rt, "test", inbox) == PER_ADDRESS
    assert drain(app.rt, "test", inbox) == 5
    assert inbox.chats["busy"] == [str(n) for n in range(PER_ADDRESS + 5)]


def test_every_chat_gets_its_first_message_before_any_chat_its_second(app):
    for chat in ("a", "b", "c"):
        _queue(app, chat, 3)
    box = Outbox(app.rt, "test", worker="w")
    claimed = box.claim(4)
    assert {(c.address, c.reply.text) for c in claimed} == {
        ("a", "0"), ("b", "0"), ("c", "0"), ("a", "1")}


def test_a_busy_chat_still_receives_every_message_in_order_over_many_drains(app):
    _queue(app, "busy", 45)
    inbox = Inbox()
    while drain(app.rt, "test", inbox, limit=7):
        _queue(app, "late", 1, prefix=f"{len(inbox.chats.get('busy', []))}-")
    assert inbox.chats["busy"] == [str(n) for n in range(45)]
    assert len(inbox.chats["late"]) >= 45 // PER_ADDRESS


def test_a_second_drain_in_the_middle_of_a_lease_gets_nothing(app, clock):
    _queue(app, "ana", 2)
    first = Outbox(app.rt, "test", worker="first").claim(10)
    assert len(first) == 2  # the first worker dies holding them (kill -9)
    inbox = Inbox()
    for seconds in (1, 10, 30, 59, 60):  # the lease holds to its last instant
        clock.set(clock.now().replace(second=0) + timedelta(seconds=seconds))
        assert drain(app.rt, "test", inbox, worker="second") == 0
        assert Outbox(app.rt, "test", worker="third").claim(10, in_order=True) == []
    assert inbox.chats == {}
    clock.advance(timedelta(seconds=2))  # the 60 s lease has run out: taken over once
    assert drain(app.rt, "test", inbox, worker="second") == 2
    assert drain(app.rt, "test", inbox, worker="second") == 0
    assert inbox.chats == {"ana": ["0", "1"]}
    with session(app.db) as s:
        rows = list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [(r.status, r.claimed_by, r.attempts) for r in rows] == [("sent", "second", 2)] * 2


def test_an_address_waiting_for_a_retry_holds_its_later_messages_back(app, clock):
    _queue(app, "ana", 3)
    _queue(app, "ben", 1)
    box = Outbox(app.rt, "test", worker="w")
    [first, *_rest] = box.claim(1, in_order=True)
    assert (first.address, first.reply.text) == ("ana", "0")
    box.defer([first], until_delay=timedelta(seconds=30))
    claimed = box.claim(10, in_order=True)
    assert [(c.address, c.reply.text) for c in claimed] == [("ben", "0")]


def test_a_worker_that_renews_its_leases_keeps_its_messages_and_one_that_stops_loses_them(
        app, clock):
    _queue(app, "slow-chat", 2)
    slow = Outbox(app.rt, "test", worker="slow")
    held = slow.claim(10)  # paced by a shared budget, they go out later than one lease
    assert len(held) == 2
    for _ in range(3):  # alive: renewed every third of a lease
        clock.advance(app.rt.outbox_lease / 3)
        assert renew_held(app.rt, worker="slow") == 2
    assert Outbox(app.rt, "test", worker="other").claim(10) == []

    clock.advance(app.rt.outbox_lease + timedelta(seconds=1))  # then it died: taken over
    taken = Outbox(app.rt, "test", worker="other").claim(10)
    assert [m.id for m in taken] == [m.id for m in held]
    assert renew_held(app.rt, worker="slow") == 0  # no longer its to renew


def test_a_worker_stopping_cleanly_hands_its_leases_back_at_once_without_spending_a_try(
        app, clock):
    _queue(app, "ana", 2)
    assert len(Outbox(app.rt, "test", worker="stopping").claim(10)) == 2
    _queue(app, "ben", 1)
    assert len(Outbox(app.rt, "test", worker="busy").claim(10)) == 1  # another's: kept
    assert release_held(app.rt, worker="stopping") == 2
    assert release_held(app.rt, worker="stopping") == 0
    inbox = Inbox()
    assert drain(app.rt, "test", inbox, worker="next") == 2  # at once, not after the lease
    assert inbox.chats == {"ana": ["0", "1"]}
    with session(app.db) as s:
        rows = list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [(r.status, r.claimed_by, r.attempts) for r in rows] == [
        ("sent", "next", 1), ("sent", "next", 1), ("queued", "busy", 1)]


def test_a_chat_waiting_for_a_retry_takes_no_other_chats_place_in_a_small_drain(app, clock):
    _queue(app, "ana", 3)
    box = Outbox(app.rt, "test", worker="w")
    [first] = box.claim(1, in_order=True)
    box.defer([first], until_delay=timedelta(seconds=30))  # ana waits for her retry
    _queue(app, "ben", 2)
    claimed = box.claim(2, in_order=True)
    assert [(c.address, c.reply.text) for c in claimed] == [("ben", "0"), ("ben", "1")]
