"""What became of each inbound message, as the channels read it: a stranger told how to join
(and counted, and forgotten once answered), a flood warned once then refused, a press on an
offer that was never made."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import func, select

from bot.composition import App, build_app
from bot.settings import Settings
from conversations.messages import Inbound, Reply
from services import next_offer
from services.delivery import drain
from services.flood import SLOW_DOWN
from services.inbound import JOIN_TEXT
from storage import tallies
from storage.db import session
from storage.models import OutboxMessage
from tests.conftest import SAMPLE


@pytest.fixture
def strict_app(db_url: str, clock) -> Iterator[App]:
    """The app with a flood limit of three messages a minute."""
    settings = Settings(database_url=db_url, program=SAMPLE, flood_limit=3, _env_file=None)
    application = build_app(settings, clock=clock, migrate=False)
    yield application
    application.db.dispose()


def _outbox_rows(app: App) -> int:
    with session(app.db) as s:
        return s.exec(select(func.count()).select_from(OutboxMessage)).one()


def test_a_flooding_stranger_is_told_how_to_join_then_to_slow_down_once_and_nothing_is_kept(
        strict_app: App):
    handled = [strict_app.inbound.handle(Inbound(channel="test", sender="stranger-9",
                                                 event_id=f"s{n}", text=f"hello {n}"))
               for n in range(5)]
    assert [(h.outcome, h.replies) for h in handled] == [
        ("stranger", 1), ("stranger", 1), ("stranger", 1), ("flooded", 1), ("flooded", 0)]
    with session(strict_app.db) as s:
        counted = tallies.of_day(s, strict_app.clock.now().date())
    assert counted.get("stranger_message") == 3  # each answered message, no one's name
    got: list[str] = []

    def platform(_address: str, reply: Reply) -> str:
        got.append(reply.text)
        return f"m{len(got)}"

    while drain(strict_app.rt, "test", platform):
        pass
    assert got == [JOIN_TEXT] * 3 + [SLOW_DOWN]
    # Sent, and gone: nothing links the chat to what the bot told it.
    assert _outbox_rows(strict_app) == 0


def test_a_press_on_a_next_step_offer_that_was_never_made_is_told_it_is_not_open(enrol):
    ana = enrol("Ana Lima")
    assert ana.presses("yes", question=next_offer.QUESTION) == [
        "That offer is no longer open. Ask your coach about what comes next."]
