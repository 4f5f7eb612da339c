"""The programs the bot runs, recorded so stored data can be read against its definition."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from storage.models import Program as ProgramRow


def record_program(session: Session, *, program_id: str, name: str, source_path: str,
                   checksum: str, now: datetime) -> None:
    """Insert or refresh a program's row."""
    row = session.get(ProgramRow, program_id)
    if row is not None and row.checksum == checksum:
        return
    row = row or ProgramRow(id=program_id, name=name, source_path=source_path,
                            checksum=checksum, loaded_at=now)
    row.name, row.source_path, row.checksum, row.loaded_at = name, source_path, checksum, now
    session.add(row)
