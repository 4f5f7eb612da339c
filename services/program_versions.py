"""Program versions: recorded when they run, read back for conversations opened on them, and
switched to while the bot runs (a reload, `coachbot program apply`, another worker's apply)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import Session

from conversations.loader import ProgramInvalid, parse_program
from conversations.program import Program
from services.program_catalog import RunningProgram, checksum_of
from services.unit_of_work import Runtime
from storage import programs as stored
from storage.models import Conversation

log = logging.getLogger("coachbot.programs")


class NotRunning(Exception):
    """The file's program id is not one the bot runs: applying it would strand nobody, but
    nothing would read it either."""


@dataclass(frozen=True)
class Applied:
    """A version made the running one."""

    program_id: str
    version: int
    changed: bool


def record_running(rt: Runtime) -> dict[str, int]:
    """Record every running program as its current version; each one's version number."""
    numbers: dict[str, int] = {}
    with rt.transaction() as uow:
        for program_id, item in rt.catalog.running().items():
            number = stored.record_program(
                uow.session, program_id=program_id, name=item.program.name,
                source_path=item.source, checksum=item.checksum, now=uow.now, text=item.text)
            if number is not None:
                numbers[program_id] = number
    return numbers


def program_for(rt: Runtime, session: Session, program_id: str,
                conversation: Conversation | None) -> tuple[Program, str | None]:
    """The version a conversation runs on (the one it was opened on) and its checksum."""
    running = rt.catalog.checksum(program_id)
    checksum = conversation.program_checksum if conversation is not None else None
    if checksum is None or checksum == running:
        return rt.program(program_id), running

    def parse() -> Program | None:
        row = stored.version_row(session, program_id, checksum)
        if row is None:
            return None
        return parse_program(row.text, f"{program_id} version {row.version}")

    older = rt.catalog.older(checksum, parse)
    if older is None:
        # Never stored (made in code): the running one, and the engine's stated rule.
        return rt.program(program_id), running
    return older, checksum


def apply_text(rt: Runtime, text: str, source: str) -> Applied:
    """Validate a program text and make it the running version here and in the database.

    Raises ProgramInvalid (FILE:LINE errors) or NotRunning; the running version stays then.
    """
    program = parse_program(text, source)
    running = rt.catalog.running()
    if program.id not in running:
        raise NotRunning(f"{source}: program '{program.id}' is not one the bot runs "
                         f"({', '.join(sorted(running)) or 'none'}); put the file in the "
                         "program folder and restart instead")
    checksum = checksum_of(text)
    changed = running[program.id].checksum != checksum
    with rt.transaction() as uow:
        number = stored.record_program(uow.session, program_id=program.id, name=program.name,
                                       source_path=source, checksum=checksum, now=uow.now,
                                       text=text)
    running[program.id] = RunningProgram(program, checksum, text, source)
    rt.catalog.swap(running)
    log.info("program applied program=%s version=%s", program.id, number)
    return Applied(program.id, number or 0, changed)


def reload(rt: Runtime, new: dict[str, RunningProgram]) -> dict[str, int]:
    """Run a new set of validated programs (the files read again); their version numbers.

    Recorded first, so another worker can find a conversation's version the moment it opens.
    """
    with rt.transaction() as uow:
        numbers = {pid: stored.record_program(
            uow.session, program_id=pid, name=item.program.name, source_path=item.source,
            checksum=item.checksum, now=uow.now, text=item.text) or 0
            for pid, item in new.items()}
    rt.catalog.swap(new)
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
            running[program_id] = RunningProgram(program, checksum, row.text, row.source_path)
            switched.append(program_id)
    if switched:
        rt.catalog.swap(running)
        log.info("programs switched to the applied version: %s", ", ".join(switched))
    return switched
