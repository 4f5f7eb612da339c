"""Two bot worker processes on PostgreSQL sending to the fake Telegram server; one is killed
with SIGKILL mid-run, the other takes its leases over: every due touchpoint arrives once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.composition import build_app
from bot.settings import Settings
from scheduler.clock import ManualClock
from services.enrolment import enrol_client
from storage.db import session
from storage.models import OutboxMessage, PlannedTouchpoint
from tests.conftest import INTAKE, SAMPLE, START, Client, _truncate_all
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.scheduler.worker_main import FileClock
from tests.worker_process import WorkerProcess

pytestmark = pytest.mark.slow  # started first, so it does not end the run alone

CLIENTS = 8


def start_worker(name: str, *args: str) -> WorkerProcess:
    """A `tests.scheduler.worker_main` process: one worker of the bot."""
    return WorkerProcess(name, "tests.scheduler.worker_main", *args)


def joined_on_telegram(app, n: int) -> Client:
    """A client who joined on Telegram (chat 5000+n) and finished intake."""
    enrolled = enrol_client(app.rt, program_id="business_12w", name=f"Client {n}",
                            zone="Europe/Berlin", coach="Casey Coach")
    client = Client(app=app, address=str(5000 + n), channel="telegram", enrolled=enrolled)
    client.says(f"/start {enrolled.code}")
    for typed in INTAKE:
        client.says(typed)
    return client


@pytest.mark.parametrize("dies", ["--stall-after-deliveries", "--stall-after-sends"],
                         ids=["holding-touchpoints", "holding-outbox"])
def test_a_worker_killed_with_sigkill_mid_run_loses_nothing_and_doubles_nothing(
        postgres_url, tmp_path, dies):
    _truncate_all(postgres_url)
    clock = ManualClock(START)
    app = build_app(Settings(database_url=postgres_url, program=SAMPLE, _env_file=None),
                    clock=clock, migrate=False)
    workers: list[WorkerProcess] = []
    try:
        # Flood limits off: the workers send back to back (per_chat_rate 1000); this test
        # is about claiming each message once across processes, not about pacing.
        # The clients' chats (5000 and up) started the bot before the test.
        with FakeTelegramAPI(flood_limits=False,
                             chats=tuple(5000 + n for n in range(CLIENTS))) as api:
            clients = [joined_on_telegram(app, n) for n in range(CLIENTS)]
            # Two hours later the week's check-in and the onboarding message are due.
            due_at = START + timedelta(hours=2)
            clock_file = tmp_path / "clock"
            FileClock.write(clock_file, due_at)
            common = ["--database-url", postgres_url, "--api-url", api.url,
                      "--clock", str(clock_file)]
            victim = start_worker("victim", *common, dies, "4")
            survivor = start_worker("survivor", *common)
            workers += [victim, survivor]
            victim.expect("ready", exactly=True)
            survivor.expect("ready", exactly=True)

            victim.go()
            victim.expect("stalled", exactly=True)  # it sent some, and holds claimed rows
            survivor.go()
            victim.kill()
            survivor.expect(f"idle {due_at.isoformat()}", exactly=True)
            held = _held_by(app, "victim")
            assert held, "the victim died holding nothing: the test proves nothing"

            # Its leases run out (touchpoints 2 min, outbox 1 min): the survivor takes over.
            later = due_at + timedelta(minutes=3)
            FileClock.write(clock_file, later)
            survivor.expect(f"idle {later.isoformat()}", exactly=True)

            delivered = Counter((m["chat_id"], m["text"]) for m in api.sent_messages())
        with session(app.db) as s:
            queued = list(s.exec(select(OutboxMessage).where(
                OutboxMessage.channel == "telegram", OutboxMessage.created_at >= due_at)))
            overdue = list(s.exec(select(PlannedTouchpoint).where(
                PlannedTouchpoint.status == "planned", PlannedTouchpoint.due_at <= later)))
        # Each message the bot queued (one idempotency key) reached Telegram exactly once,
        # and Telegram got nothing else.
        assert queued and {m.status for m in queued} == {"sent"}
        per_key = {m.idempotency_key: delivered[(int(m.address), m.payload["text"])]
                   for m in queued}
        assert set(per_key.values()) == {1}, per_key
        assert sum(delivered.values()) == len(queued)
        assert overdue == []
        for client in clients:
            texts = [text for (chat, text) in delivered if chat == int(client.address)]
            assert sum("Week 1 check-in" in t for t in texts) == 1
            assert sum("You're all set" in t for t in texts) == 1
        taken_over = [row for row in held if _now_of(app, row).claimed_by == "survivor"]
        assert len(taken_over) == len(held)
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.kill()
        app.db.dispose()


def _held_by(app, worker: str) -> list[tuple[type, int]]:
    """The touchpoint rows and outbox messages `worker` holds a lease on and never finished."""
    with session(app.db) as s:
        tps = s.exec(select(PlannedTouchpoint.id).where(
            PlannedTouchpoint.claimed_by == worker, PlannedTouchpoint.status == "planned"))
        msgs = s.exec(select(OutboxMessage.id).where(
            OutboxMessage.claimed_by == worker, OutboxMessage.status == "queued"))
        return ([(PlannedTouchpoint, i) for i in tps if i is not None]
                + [(OutboxMessage, i) for i in msgs if i is not None])


def _now_of(app, row: tuple[type, int]):
    with session(app.db) as s:
        return s.get(*row)
