"""One transaction: the session, the moment it runs at, and the messages it queues.

Only services open one. Everything a use case changes, the replies it queues included,
commits together or not at all, so a crash never leaves an answer without its reply or a
reply without its answer.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from conversations.messages import Reply
from conversations.program import Program
from scheduler.clock import Clock
from services.program_catalog import ProgramCatalog
from storage import outbox, people
from storage.db import is_locked
from storage.models import Identity
from storage.write_turns import turn

log = logging.getLogger("coachbot.db")
P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class UnitOfWork:
    """The open transaction of one use case."""

    session: Session
    now: datetime
    queued: int = 0
    # Run once the transaction has committed (a rolled-back one runs none), e.g. folding
    # SQLite's WAL after an erasure so the erased rows leave the -wal file too.
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    # A batch (the tick's) reads its people's identities in one query beforehand, and
    # names the enrolments it has already locked, so its rows need not ask again.
    identities: dict[int, list[Identity]] = field(default_factory=dict)
    locked: set[int] = field(default_factory=set)

    def queue(self, *, key: str, channel: str, address: str, person_id: int | None,
              reply: Reply) -> bool:
        """Queue one reply to one address; False when `key` was queued before."""
        added = outbox.enqueue(self.session, key=key, channel=channel, address=address,
                               person_id=person_id, reply=reply, now=self.now)
        self.queued += added
        return added

    def queue_to_person(self, person_id: int, key: str, replies: list[Reply]) -> int:
        """Queue replies on every reachable identity of a person; how many were queued."""
        known = self.identities.get(person_id)
        identities = known if known is not None else people.identities_of(self.session,
                                                                           person_id)
        # One multi-row insert for all of them (a key queued before is still skipped).
        queued = outbox.enqueue_many(self.session, [
            (f"{key}:{identity.channel}:{index}", identity.channel, identity.address,
             person_id, reply)
            for identity in identities if identity.unreachable_since is None
            for index, reply in enumerate(replies)], now=self.now)
        self.queued += queued
        return queued

    def prefetch_people(self, person_ids: set[int]) -> None:
        """Read these people's identities in one query for `queue_to_person` (a batch that
        changes no identity)."""
        self.identities.update(people.identities_of_many(self.session, person_ids))


@dataclass
class Runtime:
    """What every use case needs, built once by the composition root."""

    db: Engine
    clock: Clock
    programs: Mapping[str, Program]
    team_channel: str | None = None
    invite_ttl_days: int = 7
    # How long a worker holds the outbox messages it claimed: after a crash, how long they
    # wait before another worker (or the restarted one) sends them.
    outbox_lease: timedelta = timedelta(seconds=60)
    # Messages one chat may send a minute before the bot stops answering it for a while.
    flood_limit: int = 20
    listeners: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Everyone holds this one catalogue, so a reload reaches every service at once.
        if not isinstance(self.programs, ProgramCatalog):
            self.programs = ProgramCatalog.of(self.programs)

    @property
    def catalog(self) -> ProgramCatalog:
        """The running programs with their versions."""
        assert isinstance(self.programs, ProgramCatalog)
        return self.programs

    @contextmanager
    def transaction(self) -> Iterator[UnitOfWork]:
        """Begin a unit of work; commit on success, roll back on any error."""
        # On SQLite, this process's transactions write one after another (`write_turns`).
        with turn(self.db), Session(self.db, expire_on_commit=False) as session, \
                session.begin():
            uow = UnitOfWork(session=session, now=self.clock.now())
            yield uow
        for then in uow.after_commit:
            then()
        if uow.queued:
            for wake in self.listeners:
                wake()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only: nothing it does is committed."""
        with Session(self.db, expire_on_commit=False) as session:
            yield session

    def program(self, program_id: str) -> Program:
        """A loaded program by id."""
        return self.programs[program_id]


class DatabaseBusy(Exception):
    """SQLite stayed locked by another process through every try: nothing was stored."""


def retry_when_locked(fn: Callable[P, T], *, attempts: int = 3) -> Callable[P, T]:
    """Run a whole use case again when SQLite stayed locked past the busy timeout.

    Safe because the failed attempt rolled back entirely; each try already waited the busy
    timeout, so three tries ride out a long backup or a stuck writer for 45 s by default.
    """
    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(1, attempts + 1):
            try:
                return fn(*args, **kwargs)
            except OperationalError as exc:
                if not is_locked(exc):
                    raise
                if attempt == attempts:
                    raise DatabaseBusy("the database is locked by another process") from exc
                log.warning("the database is locked by another process; trying again "
                            "(attempt %d of %d)", attempt + 1, attempts)
        raise AssertionError("unreachable")

    return run
