"""The programs running now, replaced whole: a reload never shows a mix of two versions."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, ItemsView, Iterator, Mapping, ValuesView
from dataclasses import dataclass

from conversations.program import Program

# Parsed older versions kept in memory; a version is parsed once per process, not per message.
OLDER_KEPT = 32


@dataclass(frozen=True)
class RunningProgram:
    """A program with the version it is: the checksum of its text, the text itself, and the
    program_version row it is recorded as (None until recorded)."""

    program: Program
    checksum: str
    text: str | None = None
    source: str = ""
    version_id: int | None = None


def checksum_of(text: str) -> str:
    """A program version's identity: the SHA-256 of its UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ProgramCatalog(Mapping[str, Program]):
    """Program id -> the running Program; `swap` replaces them all in one assignment."""

    def __init__(self, running: Mapping[str, RunningProgram]) -> None:
        self._running = dict(running)
        self._older: dict[int, Program] = {}

    @classmethod
    def of(cls, programs: Mapping[str, Program]) -> ProgramCatalog:
        """A catalogue of programs built in code; each one's version is its JSON form."""
        return cls({k: RunningProgram(p, checksum_of(p.model_dump_json()))
                    for k, p in programs.items()})

    def __getitem__(self, program_id: str) -> Program:
        return self._running[program_id].program

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self._running))

    def __len__(self) -> int:
        return len(self._running)

    def items(self) -> ItemsView[str, Program]:
        """One consistent set, even while a reload swaps the programs."""
        return {k: r.program for k, r in self._running.items()}.items()

    def values(self) -> ValuesView[Program]:
        """One consistent set, even while a reload swaps the programs."""
        return {k: r.program for k, r in self._running.items()}.values()

    def running(self) -> dict[str, RunningProgram]:
        """Every running program with its version, as one snapshot."""
        return dict(self._running)

    def current(self, program_id: str) -> RunningProgram:
        """One program with its version, read together (a swap cannot come in between)."""
        return self._running[program_id]

    def checksum(self, program_id: str) -> str | None:
        """The running version of a program."""
        found = self._running.get(program_id)
        return found.checksum if found else None

    def version_id(self, program_id: str) -> int | None:
        """The program_version row of a program's running version (None: not recorded)."""
        found = self._running.get(program_id)
        return found.version_id if found else None

    def swap(self, running: Mapping[str, RunningProgram]) -> None:
        """Run these programs from now on; readers see the old set or the new, never a mix."""
        self._running = dict(running)

    def older(self, version_id: int, parse: Callable[[], Program | None]) -> Program | None:
        """An older version by its row id, parsed by `parse` the first time it is needed."""
        found = self._older.get(version_id)
        if found is None:
            found = parse()
            if found is not None:
                if len(self._older) >= OLDER_KEPT:
                    self._older.pop(next(iter(self._older)))
                self._older[version_id] = found
        return found
