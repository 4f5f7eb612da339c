"""The polling loop against the fake Bot API: Telegram is told an update is done only once
it was handled; a database failure keeps it with Telegram until it passes; an update that
fails on its own is set aside after its tries, so it cannot hold up everyone else."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy.exc import OperationalError
from telegram import Bot, Update

from bot.telegram.polling import POISON_TRIES, Poller
from tests.bot.telegram.conftest import TOKEN
from tests.fakes.telegram_api import FakeTelegramAPI


class Handler:
    """What the bot does with an update, as far as the poller can tell: done, or raised."""

    def __init__(self, fails: dict[int, Exception]) -> None:
        self.fails = fails
        self.tries: Counter[int] = Counter()
        self.done: list[int] = []

    async def __call__(self, update: Update) -> None:
        self.tries[update.update_id] += 1
        if update.update_id in self.fails:
            raise self.fails[update.update_id]
        self.done.append(update.update_id)


async def poll_until(api: FakeTelegramAPI, handler: Handler, finished) -> Poller:
    async with Bot(TOKEN, base_url=api.bot_base_url) as bot:
        poller = Poller(bot, handler, allowed_updates=["message"], timeout=1,
                        first_retry=0.01)
        stop = asyncio.Event()
        run = asyncio.create_task(poller.run(stop))
        async with asyncio.timeout(30):  # only a failure detector
            while not finished():
                await asyncio.sleep(0.01)  # polling a condition, not passing time
                assert not run.done(), run
        stop.set()
        await run
        return poller


def test_an_update_the_database_cannot_take_stays_with_telegram_until_it_can():
    with FakeTelegramAPI(max_poll_wait=0.2) as api:
        first = api.inject_message(1, "one")["update_id"]
        second = api.inject_message(2, "two")["update_id"]
        down = OperationalError("INSERT ...", {}, Exception("disk full"))
        handler = Handler({first: down})

        asyncio.run(poll_until(api, handler, lambda: handler.tries[first] >= 3))
        assert [u["update_id"] for u in api.pending_updates()] == [first, second]
        assert set(handler.done) == {second}  # the other chat was served meanwhile

        handler.fails.clear()  # the database is back
        asyncio.run(poll_until(api, handler, lambda: not api.pending_updates()))
        assert handler.done.count(first) == 1


def test_an_update_that_fails_on_its_own_is_set_aside_and_the_others_go_on():
    with FakeTelegramAPI(max_poll_wait=0.2) as api:
        poison = api.inject_message(1, "boom")["update_id"]
        after = api.inject_message(1, "next")["update_id"]
        other = api.inject_message(2, "hello")["update_id"]
        handler = Handler({poison: TypeError("a bug")})

        poller = asyncio.run(poll_until(api, handler, lambda: not api.pending_updates()))

        assert handler.tries[poison] == POISON_TRIES
        assert poller.given_up == 1
        assert set(handler.done) == {after, other}
