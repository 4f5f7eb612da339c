"""The composition root: settings in, a wired application out. Nothing happens at import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from bot.logs import quiet_payload_loggers
from bot.program_files import LoadedProgram, load_programs
from bot.settings import Settings
from scheduler.clock import Clock, SystemClock
from services.database import DatabaseTooNew, NotMigrated, open_database, record_programs
from services.inbound import InboundService
from services.unit_of_work import Runtime

__all__ = ["App", "DatabaseTooNew", "NotMigrated", "build_app"]


@dataclass
class App:
    """Everything the channels need, built once."""

    settings: Settings
    programs: dict[str, LoadedProgram]
    rt: Runtime
    inbound: InboundService

    @property
    def db(self) -> Engine:
        """The database engine (tests and benchmarks read it)."""
        return self.rt.db

    @property
    def clock(self) -> Clock:
        """The clock every use case reads."""
        return self.rt.clock

    def program_ids(self) -> list[str]:
        """The ids of the loaded programs, sorted."""
        return sorted(self.programs)


def build_app(settings: Settings, *, clock: Clock | None = None,
              migrate: bool | None = None) -> App:
    """Load programs, open the database (migrating SQLite on its own) and wire the services."""
    programs = load_programs(settings.program)
    quiet_payload_loggers()
    db = open_database(settings.database_url, migrate=migrate)
    rt = Runtime(db=db, clock=clock or SystemClock(),
                 programs={k: v.program for k, v in programs.items()},
                 team_channel=settings.slack_team_channel,
                 invite_ttl_days=settings.invite_ttl_days,
                 outbox_lease=timedelta(seconds=settings.outbox_lease_seconds),
                 flood_limit=settings.flood_limit)
    record_programs(rt, [(p.program.id, p.program.name, str(p.path), p.checksum)
                         for p in programs.values()])
    return App(settings=settings, programs=programs, rt=rt, inbound=InboundService(rt))
