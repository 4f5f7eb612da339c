"""Program versions: recorded when they run, read back for conversations opened on them, and
switched to while the bot runs (a reload, `coachbot program apply`, another worker's apply).

The newest version wins: a process started on an older file runs the version applied since
(it says so in the log) rather than undoing the apply.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace

from sqlmodel import Session

from conversations.loader import ProgramInvalid, parse_program
from conversations.program import Program
from services import program_impact
from services.program_catalog import RunningProgram, checksum_of
from services.unit_of_work import Runtime
from storage import programs as stored
from storage.models import Conversation

log = logging.getLogger("coachbot.programs")


class NotRunning(Exception):
    """The file's program id is not one the bot runs."""


class Refused(Exception):
    """The version would strand clients; `impact` says who and why."""

    def __init__(self, impact: program_impact.Impact) -> None:
        super().__init__("; ".join(e.text for e in impact.refused))
        self.impact = impact


@dataclass(frozen=True)
class Applied:
    """A version made the running one, and what it did to enrolled clients."""

    program_id: str
    version: int
    impact: program_impact.Impact | None
    moved: int = 0


def _adopt(session: Session, item: RunningProgram, now) -> tuple[RunningProgram, int]:
    """Record a loaded version; the version to run: it, unless a newer one was applied."""
    program = item.program
    recorded = stored.record_version(session, program_id=program.id, checksum=item.checksum,
                                     text=item.text or program.model_dump_json(),
                                     source_path=item.source, now=now)
    current = stored.running_checksums(session).get(program.id)
    if current is not None and current != item.checksum:
        newer = stored.version_row(session, program.id, current)
        if newer is not None and newer.version > recorded.version:
            log.warning("%s is version %d of %s; version %d was applied since and runs",
                        item.source, recorded.version, program.id, newer.version)
            parsed = parse_program(newer.text, f"{program.id} version {newer.version}")
            return RunningProgram(parsed, newer.checksum, newer.text, newer.source_path,
                                  newer.id), newer.version
    stored.set_running(session, program_id=program.id, name=program.name,
                       source_path=item.source, checksum=item.checksum, now=now)
    return replace(item, version_id=recorded.id), recorded.version


def record_running(rt: Runtime) -> dict[str, int]:
    """Record every loaded program as a version and run the newest; each one's number."""
    numbers: dict[str, int] = {}
    running: dict[str, RunningProgram] = {}
    with rt.transaction() as uow:
        for program_id, item in rt.catalog.running().items():
            running[program_id], numbers[program_id] = _adopt(uow.session, item, uow.now)
    rt.catalog.swap(running)
    return numbers


def program_for(rt: Runtime, session: Session, program_id: str,
                conversation: Conversation | None) -> tuple[Program, int | None]:
    """The version a conversation runs on (the one it was opened on) and its row id."""
    running = rt.catalog.current(program_id)
    version_id = conversation.program_version_id if conversation is not None else None
    if version_id is None or version_id == running.version_id:
        return running.program, running.version_id

    def parse() -> Program | None:
        row = stored.version_by_id(session, version_id)
        if row is None or row.program_id != program_id:
            return None
        return parse_program(row.text, f"{program_id} version {row.version}")

    older = rt.catalog.older(version_id, parse)
    if older is None:
        # Not found: the running one, and the engine's stated rule for a lost version.
        return running.program, running.version_id
    return older, version_id


def _switch(session: Session, old: RunningProgram, new: RunningProgram,
            now) -> tuple[RunningProgram, int, program_impact.Impact, int]:
    """Check and record one program's new version: refused if it strands clients."""
    found = program_impact.effects_on(session, old.program, new.program,
                                      old_checksum=old.checksum, new_checksum=new.checksum)
    if found.refused:
        raise Refused(found)
    adopted, number = _adopt(session, new, now)
    moved = program_impact.carry_over(session, old.program, adopted.program)
    return adopted, number, found, moved


def apply_text(rt: Runtime, text: str, source: str) -> Applied:
    """Validate a program text and make it the running version here and in the database.

    Raises ProgramInvalid (FILE:LINE errors), NotRunning or Refused; nothing changes then.
    """
    program = parse_program(text, source)
    running = rt.catalog.running()
    if program.id not in running:
        raise NotRunning(f"{source}: program '{program.id}' is not one the bot runs "
                         f"({', '.join(sorted(running)) or 'none'}); put the file in the "
                         "program folder and restart instead")
    new = RunningProgram(program, checksum_of(text), text, source)
    with rt.transaction() as uow:
        adopted, number, found, moved = _switch(uow.session, running[program.id], new,
                                                uow.now)
    running[program.id] = adopted
    rt.catalog.swap(running)
    log.info("program applied program=%s version=%s moved=%d", program.id, number, moved)
    return Applied(program.id, number, found, moved)


def reload(rt: Runtime, new: Mapping[str, RunningProgram]) -> dict[str, int]:
    """Run a new set of validated programs (the files read again); their version numbers.

    Recorded first, so another worker can find a conversation's version the moment it
    opens; raises Refused (and runs nothing new) when a version would strand clients.
    """
    old = rt.catalog.running()
    adopted: dict[str, RunningProgram] = {}
    numbers: dict[str, int] = {}
    with rt.transaction() as uow:
        for program_id, item in new.items():
            if program_id in old and old[program_id].checksum != item.checksum:
                adopted[program_id], numbers[program_id], _, _ = _switch(
                    uow.session, old[program_id], item, uow.now)
            else:
                adopted[program_id], numbers[program_id] = _adopt(uow.session, item, uow.now)
    rt.catalog.swap(adopted)
    return numbers


def refresh(rt: Runtime) -> list[str]:
    """Switch to the versions another process applied; the ids of the programs switched."""
    with rt.reading() as session:
        wanted = stored.running_checksums(session)
        running = rt.catalog.running()
        switched = []
        for program_id, item in running.items():
            checksum = wanted.get(program_id)
            if checksum is None or checksum == item.checksum:
                continue
            row = stored.version_row(session, program_id, checksum)
            if row is None:
                continue  # a version recorded without its text (before versions were kept)
            try:
                program = parse_program(row.text, f"{program_id} version {row.version}")
            except ProgramInvalid as exc:
                log.error("stored program version refused program=%s version=%s: %s",
                          program_id, row.version, exc)
                continue
            running[program_id] = RunningProgram(program, checksum, row.text, row.source_path,
                                                 row.id)
            switched.append(program_id)
    if switched:
        rt.catalog.swap(running)
        log.info("programs switched to the applied version: %s", ", ".join(switched))
    return switched
