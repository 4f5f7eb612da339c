"""The programs the bot runs and every version of them that ran, kept by checksum so stored
data can be read against the definition it was collected under."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, func, select

from storage.models import Program as ProgramRow
from storage.models import ProgramVersion
from storage.plan_changes import stamp_program


def set_running(session: Session, *, program_id: str, name: str, source_path: str,
                checksum: str, now: datetime) -> None:
    """Make `checksum` the program's running version (every worker switches to it)."""
    row = session.get(ProgramRow, program_id)
    if row is not None and row.checksum == checksum:
        return
    if row is not None:
        stamp_program(session, program_id)  # a new version: its clients are planned again
    row = row or ProgramRow(id=program_id, name=name, source_path=source_path,
                            checksum=checksum, loaded_at=now)
    row.name, row.source_path, row.checksum, row.loaded_at = name, source_path, checksum, now
    session.add(row)


def record_version(session: Session, *, program_id: str, checksum: str, text: str,
                   source_path: str, now: datetime) -> ProgramVersion:
    """Keep a version's text once; its row (version 1 for the first one of a program)."""
    found = version_row(session, program_id, checksum)
    if found is not None:
        return found
    last = session.exec(select(func.max(ProgramVersion.version))
                        .where(ProgramVersion.program_id == program_id)).one()
    row = ProgramVersion(program_id=program_id, version=(last or 0) + 1, checksum=checksum,
                         text=text, source_path=source_path[:500], recorded_at=now)
    session.add(row)
    session.flush()
    return row


def version_row(session: Session, program_id: str, checksum: str) -> ProgramVersion | None:
    """The stored version of a program with that checksum, if it ever ran."""
    return session.exec(select(ProgramVersion).where(
        ProgramVersion.program_id == program_id,
        ProgramVersion.checksum == checksum)).first()


def version_by_id(session: Session, version_id: int) -> ProgramVersion | None:
    """A stored version by its row id (what conversations and metric values refer to)."""
    return session.get(ProgramVersion, version_id)


def running_checksums(session: Session) -> dict[str, str]:
    """Each program's running version, as the database says (what `program apply` wrote)."""
    return {row.id: row.checksum for row in session.exec(select(ProgramRow))}


def versions_of(session: Session, program_id: str) -> list[ProgramVersion]:
    """Every stored version of a program, oldest first."""
    return list(session.exec(select(ProgramVersion)
                             .where(ProgramVersion.program_id == program_id)
                             .order_by(col(ProgramVersion.version))))
