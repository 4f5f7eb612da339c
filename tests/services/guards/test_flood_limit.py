"""A chat writing faster than anyone reads is told once to slow down and not answered; the
refusals are counted anonymously and never queued; other clients are answered as usual."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import func, select

from bot.composition import build_app
from bot.settings import BUNDLED_PROGRAMS, Settings
from conversations.messages import Inbound, Reply
from services.delivery import drain
from services.flood import CHATS, SLOW_DOWN, WINDOW, FloodGate
from storage import tallies
from storage.db import session
from storage.models import Answer, OutboxMessage
from tests.conftest import INTAKE, SAMPLE, START


def _queued(app, address: str) -> int:
    with session(app.db) as s:
        return s.exec(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.address == address, OutboxMessage.status == "queued")).one()


def _answers(app) -> int:
    with session(app.db) as s:
        return s.exec(select(func.count()).select_from(Answer)).one()


def _tally(app) -> int:
    with session(app.db) as s:
        return tallies.of_day(s, app.clock.now().date()).get("refused_flood", 0)


def test_past_twenty_a_minute_a_client_is_told_once_to_slow_down_and_the_rest_go_unanswered(
        app, enrol, clock):
    ana = enrol("Ana Lima")  # the /start is her first message of this minute
    ana.presses("yes")
    answered = [ana.says(typed) for typed in INTAKE[1:]]
    assert all(answered)  # answers before the limit are handled as always
    before = _answers(app)
    for n in range(20 - 2 - len(INTAKE[1:])):
        assert ana.says(f"hello {n}")
    [warning] = ana.says("one too many")
    assert warning == SLOW_DOWN and "please slow down" in warning
    for n in range(9):
        assert ana.says(f"still typing {n}") == []
    assert _answers(app) == before >= 4  # nothing refused was stored as an answer
    clock.advance(timedelta(minutes=1))
    assert ana.says("sorry") != []  # a minute later she is answered again
    assert _tally(app) == 10


def test_the_flood_limit_is_a_setting(db_url, clock, monkeypatch):
    monkeypatch.setenv("COACHBOT_FLOOD_LIMIT", "3")
    settings = Settings(database_url=db_url, program=SAMPLE, _env_file=None)
    app = build_app(settings, clock=clock, migrate=False)
    try:
        outcomes = [app.inbound.handle(Inbound(channel="test", sender="x", event_id=f"e{n}",
                                               text="hi")).outcome for n in range(5)]
    finally:
        app.db.dispose()
    assert outcomes == ["stranger"] * 3 + ["flooded"] * 2


def test_a_burst_of_ten_thousand_from_one_chat_does_not_delay_another_clients_reply(
        app, enrol, clock):
    ben = enrol("Ben Ode", address="ben")
    ben.presses("yes")
    inbox: dict[str, list[str]] = {}

    def platform(address: str, reply: Reply) -> str:
        inbox.setdefault(address, []).append(reply.text)
        return str(sum(map(len, inbox.values())))

    for n in range(10_000):
        app.inbound.handle(Inbound(channel="test", sender="flooder", event_id=f"f{n}",
                                   text=f"spam {n}"))
        clock.advance(timedelta(milliseconds=1))  # ten seconds of burst in all
    assert _queued(app, "flooder") <= app.rt.flood_limit + 1
    app.inbound.handle(Inbound(channel="test", sender="ben", event_id="ben-answer",
                               text=INTAKE[1]))
    drains = 0
    while "ben" not in inbox:
        drain(app.rt, "test", platform, limit=50)
        drains += 1
    assert drains == 1
    assert "monthly revenue" in inbox["ben"][0]
    assert inbox["flooder"].count(SLOW_DOWN) <= 1
    # Twenty answered, one "slow down": all the burst ever queued.
    assert len(inbox["flooder"]) + _queued(app, "flooder") == app.rt.flood_limit + 1


def test_a_chat_warned_then_quiet_for_a_minute_is_warned_again_the_next_time_it_floods():
    gate = FloodGate(limit=2)
    now = START
    assert [gate.check("test", "ana", now) for _ in range(4)] == [
        "admit", "admit", "warn", "refuse"]
    later = now + WINDOW
    assert [gate.check("test", "ana", later) for _ in range(3)] == ["admit", "admit", "warn"]
    assert gate.take_refused() == 3
    assert gate.take_refused() == 0  # counted once for the daily tally


def test_one_chat_at_its_limit_stays_held_while_ten_thousand_others_write_that_minute():
    gate = FloodGate(limit=2)
    assert [gate.check("test", "flooder", START) for _ in range(2)] == ["admit", "admit"]
    for n in range(CHATS + 1):
        assert gate.check("test", f"chat{n}", START) == "admit"
    assert gate.check("test", "flooder", START) == "warn"
    # Two chats of one address on different channels are different chats.
    assert gate.check("slack", "flooder", START) == "admit"


def test_a_chat_where_the_bot_speaks_german_is_told_to_slow_down_in_german(db_url, clock):
    settings = Settings(database_url=db_url, program=BUNDLED_PROGRAMS / "languages" /
                        "wachstum-12w.de.yaml", flood_limit=1, _env_file=None)
    app = build_app(settings, clock=clock, migrate=False)
    got: list[str] = []
    try:
        for n in range(2):
            app.inbound.handle(Inbound(channel="test", sender="fremd", event_id=f"d{n}",
                                       text="hallo"))
        while drain(app.rt, "test", lambda _a, reply: got.append(reply.text) or "m"):
            pass
    finally:
        app.db.dispose()
    assert got[-1].startswith("Du schickst Nachrichten schneller, als ich sie lesen kann")
