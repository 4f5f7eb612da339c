"""Invite codes by chat: an enrolled chat is asked before it moves; wrong guesses are
throttled per chat and overall; a stranger leaves nothing behind but anonymous counts."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from conversations.messages import Inbound, Reply
from services import invites
from services.delivery import drain
from services.inbound import JOIN_TEXT
from storage import tallies
from storage.db import session
from storage.models import Enrolment, Identity


def _owner(app, address: str) -> int | None:
    with session(app.db) as s:
        identity = s.exec(select(Identity).where(Identity.address == address)).first()
        return identity.person_id if identity else None


def _delivered_to(app, address: str) -> list[str]:
    """Deliver the outbox; the texts that went to `address`."""
    got: list[str] = []

    def platform(to: str, reply: Reply) -> str:
        if to == address:
            got.append(reply.text)
        return f"x{len(got)}"

    while drain(app.rt, "test", platform):
        pass
    return got


def _status(app, enrolment_id: int) -> str:
    with session(app.db) as s:
        return s.get(Enrolment, enrolment_id).status


def test_an_enrolled_client_sending_someone_elses_code_is_asked_before_anything_moves(
        app, enrol):
    ana = enrol("Ana Lima")
    ben = enrol("Ben Ode", join=False)
    ana_person = _owner(app, ana.address)

    assert ana.says(f"/start {ben.enrolled.code}") == [invites.SWITCH_ASK]
    assert [b.label for b in ana.last.buttons] == [invites.SWITCH_YES, invites.SWITCH_NO]
    assert _owner(app, ana.address) == ana_person
    assert _status(app, ben.enrolled.enrolment_id) == "invited"

    assert ana.presses("no") == [invites.KEPT_TEXT]
    assert _owner(app, ana.address) == ana_person
    assert _status(app, ben.enrolled.enrolment_id) == "invited"

    ana.says(f"/start {ben.enrolled.code}")
    yes = ana.last.buttons[0].value
    switched = ana.presses(yes)
    assert switched and _owner(app, ana.address) == ben.enrolled.person_id
    assert _status(app, ben.enrolled.enrolment_id) == "consent"


def test_after_five_wrong_codes_in_an_hour_even_the_right_one_waits(app, enrol, clock):
    ben = enrol("Ben Ode", join=False)

    def start(code: str, n: int) -> list[str]:
        app.inbound.handle(Inbound(channel="test", sender="guesser", event_id=f"g{n}",
                                   text=f"/start {code}"))
        return _delivered_to(app, "guesser")

    for n in range(invites.PER_CHAT):
        assert start(f"WRONG{n}", n) == [JOIN_TEXT]
    assert start(ben.enrolled.code, 10) == [invites.THROTTLED_TEXT]
    assert _status(app, ben.enrolled.enrolment_id) == "invited"
    clock.advance(timedelta(hours=1))
    assert start(ben.enrolled.code, 11) != [invites.THROTTLED_TEXT]
    assert _status(app, ben.enrolled.enrolment_id) == "consent"


def test_wrong_codes_from_many_chats_are_throttled_overall(clock):
    throttle = invites.InviteThrottle(per_chat=5, overall=3)
    for chat in ("a", "b", "c"):
        assert not throttle.blocked("test", chat, clock.now())
        throttle.wrong("test", chat, clock.now())
    assert throttle.blocked("test", "d", clock.now())  # a fresh chat waits too
    clock.advance(invites.WINDOW)
    assert not throttle.blocked("test", "d", clock.now())


def test_a_stranger_guessing_codes_leaves_only_anonymous_counts(app):
    chat = "stranger-chat-991"
    inbox: list[str] = []

    def platform(address: str, reply: Reply) -> str:
        inbox.append(reply.text)
        return str(len(inbox))

    for n in range(3):
        app.inbound.handle(Inbound(channel="test", sender=chat, event_id=f"e{n}",
                                   text=f"/start GUESS{n}"))
    app.inbound.handle(Inbound(channel="test", sender=chat, event_id="e9", text="hello?"))
    while drain(app.rt, "test", platform):
        pass
    assert inbox == [JOIN_TEXT] * 4
    with session(app.db) as s:
        for table in sa.inspect(s.get_bind()).get_table_names():
            for row in s.execute(sa.text(f'SELECT * FROM "{table}"')):
                assert chat not in repr(tuple(row)), table
        counts = tallies.of_day(s, app.clock.now().date())
    assert counts[invites.WRONG_TALLY] == 3
    assert counts["stranger_message"] == 4
