"""The composition root: settings in, a wired application out. Nothing happens at import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from bot.logs import quiet_payload_loggers
from bot.program_files import LoadedProgram, load_programs
from bot.settings import Settings
from scheduler.clock import Clock, SystemClock
from services import program_versions
from services.database import DatabaseTooNew, NotMigrated, open_database
from services.inbound import InboundService
from services.program_catalog import ProgramCatalog, RunningProgram
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

    def reload_programs(self) -> dict[str, int]:
        """Read the program files again and run them; each program's version number.

        An invalid file raises ProgramInvalid and nothing changes: the running versions stay.
        """
        loaded = load_programs(self.settings.program)
        numbers = program_versions.reload(self.rt, _running(loaded))
        self.programs = loaded
        return numbers


def _running(loaded: dict[str, LoadedProgram]) -> dict[str, RunningProgram]:
    return {k: RunningProgram(v.program, v.checksum, v.text, str(v.path))
            for k, v in loaded.items()}


def build_app(settings: Settings, *, clock: Clock | None = None,
              migrate: bool | None = None) -> App:
    """Load programs, open the database (migrating SQLite on its own) and wire the services."""
    programs = load_programs(settings.program)
    quiet_payload_loggers()
    db = open_database(settings.database_url, migrate=migrate)
    rt = Runtime(db=db, clock=clock or SystemClock(),
                 programs=ProgramCatalog(_running(programs)),
                 team_channel=settings.slack_team_channel,
                 invite_ttl_days=settings.invite_ttl_days,
                 outbox_lease=timedelta(seconds=settings.outbox_lease_seconds),
                 flood_limit=settings.flood_limit)
    program_versions.record_running(rt)
    return App(settings=settings, programs=programs, rt=rt, inbound=InboundService(rt))
