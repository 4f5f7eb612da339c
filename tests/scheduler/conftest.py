"""Scheduler fixtures: the real runner wired to the app, and travelling in time with it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.composition import App
from scheduler.clock import ManualClock
from scheduler.due import TickReport
from services.touchpoints import TouchpointRunner
from storage.db import session
from storage.models import Person, PlannedTouchpoint
from tests.conftest import INTAKE, Client


@dataclass(frozen=True)
class Seen:
    """One message a client received, and when (UTC)."""

    at: datetime
    text: str

    def local(self, zone: str) -> datetime:
        return self.at.astimezone(ZoneInfo(zone))


@pytest.fixture
def runner(app: App) -> TouchpointRunner:
    return TouchpointRunner(app.rt, worker="test-worker")


@pytest.fixture
def travel(clock: ManualClock, runner: TouchpointRunner) -> Callable[..., list[TickReport]]:
    """Move the clock to `until`, ticking every `step` on the way as the bot would, and
    delivering to `watch`ed clients after each tick (their `.seen` records when)."""

    def _travel(until: datetime | timedelta, *watch: Client,
                step: timedelta = timedelta(minutes=5)) -> list[TickReport]:
        end = clock.now() + until if isinstance(until, timedelta) else until
        reports = []
        while True:
            reports.append(runner.tick(clock.now()))
            for client in watch:
                for reply in client.flush():
                    seen_of(client).append(Seen(clock.now(), reply.text))
            if clock.now() >= end:
                return reports
            clock.set(min(end, clock.now() + step))

    return _travel


def seen_of(client: Client) -> list[Seen]:
    """What a watched client received while travelling, with times."""
    if not hasattr(client, "seen"):
        client.seen = []  # type: ignore[attr-defined]
    return client.seen  # type: ignore[attr-defined]


def started(client: Client, text: str) -> list[Seen]:
    """The messages a client saw that contain `text`."""
    return [s for s in seen_of(client) if text in s.text]


def onboarded(enrol, name: str = "Ana Lima", zone: str = "Europe/Berlin") -> Client:
    """A client who joined and finished intake."""
    client = enrol(name, zone=zone)
    for typed in INTAKE:
        client.says(typed)
    return client


def rows(app: App, touchpoint: str | None = None) -> list[PlannedTouchpoint]:
    """Planned touchpoint rows, in due order."""
    with session(app.db) as s:
        query = select(PlannedTouchpoint).order_by(PlannedTouchpoint.due_at,
                                                   PlannedTouchpoint.id)
        if touchpoint is not None:
            query = query.where(PlannedTouchpoint.touchpoint_id == touchpoint)
        return list(s.exec(query))


def move_zone(app: App, client: Client, zone: str) -> None:
    """The client now lives in another zone (as a coach would record it)."""
    assert client.enrolled is not None
    with session(app.db) as s, s.begin():
        person = s.get(Person, client.enrolled.person_id)
        assert person is not None
        person.timezone = zone
        s.add(person)
