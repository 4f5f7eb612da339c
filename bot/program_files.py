"""Read program files from disk and validate them with the core's loader."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from conversations.loader import ProgramError, ProgramInvalid, located, parse_program
from conversations.program import Program


@dataclass(frozen=True)
class LoadedProgram:
    """A valid program with where it came from."""

    program: Program
    path: Path
    checksum: str
    # The text as read: stored with its version, so older conversations can be run on it.
    text: str = ""


def program_files(location: Path) -> list[Path]:
    """The program files at a path: the file itself, or every *.yaml / *.yml in a folder."""
    if location.is_dir():
        return sorted([*location.glob("*.yaml"), *location.glob("*.yml")])
    return [location]


def load_file(path: Path) -> LoadedProgram:
    """Load one program file; raise ProgramInvalid with located errors."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ProgramInvalid([ProgramError(str(path), 1, "(file)", reason)]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProgramInvalid([ProgramError(str(path), 1, "(file)", "not UTF-8 text")]) from None
    program = parse_program(text, str(path))
    return LoadedProgram(program, path, hashlib.sha256(raw).hexdigest(), text)


def load_programs(location: Path) -> dict[str, LoadedProgram]:
    """All programs at `location` by id; every error of every file is raised together."""
    files = program_files(location)
    if not files:
        raise ProgramInvalid([ProgramError(str(location), 1, "(file)",
                                           "no program files (*.yaml) here")])
    loaded: dict[str, LoadedProgram] = {}
    errors: list[ProgramError] = []
    for path in files:
        try:
            item = load_file(path)
        except ProgramInvalid as exc:
            errors.extend(exc.errors)
            continue
        if item.program.id in loaded:
            errors.append(ProgramError(str(path), 1, "id",
                                       f"program id '{item.program.id}' is used by "
                                       f"{loaded[item.program.id].path} too"))
        loaded[item.program.id] = item
    if not errors:
        errors = across(loaded)
    if errors:
        raise ProgramInvalid(errors)
    return loaded


def across(loaded: dict[str, LoadedProgram]) -> list[ProgramError]:
    """What one file cannot know: the next step's program is loaded too, and no Stripe price
    is claimed by two programs (a payment must enrol in exactly one)."""
    errors: list[ProgramError] = []
    prices: dict[str, str] = {}
    for program_id, item in sorted(loaded.items()):
        program, path = item.program, str(item.path)
        if program.next is not None and program.next.program not in loaded \
                and program.next.program != program_id:
            errors.append(located(item.path.read_text("utf-8"), path, ("next", "program"),
                                  f"no program with id '{program.next.program}' is loaded "
                                  "(put its file in the same folder)"))
        price = program.offer.stripe_price if program.offer else None
        if price is not None and price in prices:
            errors.append(located(item.path.read_text("utf-8"), path,
                                  ("offer", "stripe_price"),
                                  f"{price} is the price of program '{prices[price]}' too"))
        elif price is not None:
            prices[price] = program_id
    return errors
