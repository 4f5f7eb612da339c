"""Nothing lost, nothing sent twice: crashes mid-tick, two workers at once, downtime."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bot.composition import build_app
from bot.settings import Settings
from scheduler.due import DueTouchpoint
from services.delivery import drain
from services.touchpoints import TouchpointRunner, TouchpointSender
from tests.conftest import INTAKE, SAMPLE, Client, _truncate_all
from tests.scheduler.conftest import onboarded, rows, seen_of, started

pytestmark = pytest.mark.slow  # started first, so it does not end the run alone

INTRO = "check-in. Five quick questions"
WEEK_ONE = "Week 1 check-in. Five quick questions."  # opens the check-in's one message


class Crash(BaseException):
    """The worker process dies here (not an error the runner could catch and retry)."""


class DiesOnce:
    """The bot's callable in a worker that is killed once, before or after it queued."""

    def __init__(self, real: TouchpointSender, *, after_sending: bool) -> None:
        self.real = real
        self.after_sending = after_sending
        self.died = False

    def __call__(self, uow, due: DueTouchpoint):
        if self.died:
            return self.real(uow, due)
        self.died = True
        if self.after_sending:
            self.real(uow, due)
        raise Crash


@pytest.mark.parametrize("after_sending", [False, True])
def test_a_worker_killed_mid_tick_is_taken_over_after_its_lease_and_nothing_is_sent_twice(
        app, enrol, clock, after_sending):
    client = onboarded(enrol)  # the first check-in is due right now
    dying = TouchpointRunner(app.rt, DiesOnce(TouchpointSender(app.rt),
                                              after_sending=after_sending),
                             worker="a", lease=timedelta(minutes=2))
    with pytest.raises(Crash):
        dying.tick(clock.now())
    survivor = TouchpointRunner(app.rt, TouchpointSender(app.rt), worker="b")
    clock.advance(timedelta(minutes=1))
    survivor.tick(clock.now())  # the lease still holds: hands off
    held = next(r for r in rows(app, "weekly_checkin") if r.occurrence == "2026-W10")
    assert (held.status, held.claimed_by) == ("planned", "a")
    clock.advance(timedelta(minutes=2))
    survivor.tick(clock.now())
    taken = next(r for r in rows(app, "weekly_checkin") if r.occurrence == "2026-W10")
    assert (taken.status, taken.claimed_by, taken.attempts) == ("done", "b", 2)
    assert sum(r.text.startswith(WEEK_ONE) for r in client.flush()) == 1


def test_two_workers_on_postgresql_send_each_touchpoint_exactly_once(postgres_url, clock):
    _truncate_all(postgres_url)
    settings = Settings(database_url=postgres_url, program=SAMPLE, _env_file=None)
    apps = [build_app(settings, clock=clock, migrate=False) for _ in range(2)]
    try:
        from services.enrolment import enrol_client
        clients = []
        for n in range(12):
            enrolled = enrol_client(apps[0].rt, program_id="business_12w", name=f"Client {n}",
                                    zone="Europe/Berlin", coach="Casey Coach")
            client = Client(app=apps[0], address=f"c{n}", enrolled=enrolled)
            client.says(f"/start {enrolled.code}")
            for typed in INTAKE:
                client.says(typed)
            clients.append(client)
        clock.advance(timedelta(hours=2))  # check-ins and the onboarding message are due
        calls: Counter[int] = Counter()
        lock = threading.Lock()

        def counted(real: TouchpointSender):
            def deliver(uow, due: DueTouchpoint):
                with lock:
                    calls[due.row_id] += 1
                return real(uow, due)
            return deliver

        runners = [TouchpointRunner(a.rt, counted(TouchpointSender(a.rt)), worker=f"w{i}",
                                    batch=3)
                   for i, a in enumerate(apps)]
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def work(runner: TouchpointRunner) -> None:
            try:
                start.wait()
                while runner.tick(clock.now()).claimed:
                    pass
            except BaseException as exc:  # surfaced below: a thread must not hide it
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(r,)) for r in runners]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert calls and set(calls.values()) == {1}
        workers = {r.claimed_by for r in rows(apps[0]) if r.status != "planned"}
        assert workers <= {"w0", "w1"}
        inbox: dict[str, list[str]] = {}

        def platform(address: str, reply) -> str:
            inbox.setdefault(address, []).append(reply.text)
            return f"m{sum(map(len, inbox.values()))}"

        while drain(apps[0].rt, "test", platform):
            pass
        for client in clients:
            texts = inbox[client.address]
            assert sum(WEEK_ONE in t for t in texts) == 1  # after the catch-up line
            assert sum("You're all set" in t for t in texts) == 1
    finally:
        for a in apps:
            a.db.dispose()


def test_after_downtime_a_recent_checkin_catches_up_and_old_ones_are_skipped(app, enrol,
                                                                            clock, travel):
    client = onboarded(enrol)
    travel(timedelta(hours=1), client)
    for typed in ["8", "2500", "yes", "sales", "/skip"]:
        client.says(typed)
    # Down from Monday 9 March before 09:00 until 14:00 local: five hours late.
    clock.set(datetime(2026, 3, 9, 13, 0, tzinfo=UTC))
    travel(timedelta(0), client)
    # One message: the catch-up line, the intro, the first question.
    caught_up = seen_of(client)[-1].text
    assert caught_up.startswith("Catching up: this should have")
    assert "\n\nWeek 2 check-in. Five quick questions.\n\nHow confident" in caught_up
    # Down again until Wednesday noon: Tuesday's reminder is stale and dropped.
    clock.set(datetime(2026, 3, 11, 11, 0, tzinfo=UTC))
    travel(timedelta(0), client)
    assert started(client, "gentle reminder") == []
    reminder = next(r for r in rows(app, "weekly_checkin") if r.occurrence == "2026-W11/r1")
    assert (reminder.status, reminder.reason) == ("skipped", "stale")
    # Down for the whole of Monday 16 March: that check-in is 14 hours late, skipped.
    clock.set(datetime(2026, 3, 16, 22, 0, tzinfo=UTC))
    before = len(seen_of(client))
    travel(timedelta(0), client)
    assert [s.text for s in seen_of(client)[before:] if INTRO in s.text] == []
    week_three = next(r for r in rows(app, "weekly_checkin") if r.occurrence == "2026-W12")
    assert (week_three.status, week_three.reason) == ("skipped", "downtime")


def test_replanning_twice_changes_nothing(app, enrol, runner, clock):
    onboarded(enrol)
    runner.tick(clock.now())
    before = [(r.touchpoint_id, r.occurrence, r.due_at, r.status) for r in rows(app)]
    from scheduler.replanning import replan
    from storage.db import session
    with session(app.db) as s, s.begin():
        result = replan(s, app.programs["business_12w"].program, 1, now=clock.now())
    assert (result.added, result.moved, result.dropped) == (0, 0, 0)
    assert before == [(r.touchpoint_id, r.occurrence, r.due_at, r.status) for r in rows(app)]
