"""The composition root: settings in, a wired application out. Nothing happens at import."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from bot.handler import InboundHandler
from bot.logs import quiet_payload_loggers
from bot.programs import LoadedProgram, load_programs
from bot.settings import Settings
from scheduler.clock import Clock, SystemClock
from storage.db import is_current, make_engine, normalise_url, session, upgrade
from storage.programs import record_program


class NotMigrated(Exception):
    """The database is behind the code's migrations."""


@dataclass
class App:
    """Everything the channels need, built once."""

    settings: Settings
    db: Engine
    programs: dict[str, LoadedProgram]
    clock: Clock
    handler: InboundHandler

    def program_ids(self) -> list[str]:
        """The ids of the loaded programs, sorted."""
        return sorted(self.programs)


def build_app(settings: Settings, *, clock: Clock | None = None,
              migrate: bool | None = None) -> App:
    """Load programs, open the database (migrating SQLite on its own) and wire the handler."""
    programs = load_programs(settings.program)
    quiet_payload_loggers()
    db = make_engine(settings.database_url)
    sqlite = make_url(normalise_url(settings.database_url)).get_backend_name() == "sqlite"
    if migrate if migrate is not None else sqlite:
        upgrade(db)
    elif not is_current(db):
        raise NotMigrated("the database is not up to date: run `coachbot db upgrade` first")
    clock = clock or SystemClock()
    with session(db) as s, s.begin():
        for loaded in programs.values():
            record_program(s, program_id=loaded.program.id, name=loaded.program.name,
                           source_path=str(loaded.path), checksum=loaded.checksum,
                           now=clock.now())
    handler = InboundHandler(db=db, programs={k: v.program for k, v in programs.items()},
                             clock=clock, team_channel=settings.slack_team_channel)
    return App(settings=settings, db=db, programs=programs, clock=clock, handler=handler)
