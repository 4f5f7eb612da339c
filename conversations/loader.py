"""Parse program-file text into a `Program`, reporting every error as FILE:LINE: field: message.

Pure: it takes the text and a name to report; reading the file is the caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from pydantic import ValidationError

from conversations.program import Program
from conversations.references import check_references

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class ProgramError:
    """One problem in a program file, located by line and field path."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class ProgramInvalid(Exception):
    """The program file is refused; `errors` says where and why."""

    def __init__(self, errors: list[ProgramError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of silently keeping the last."""


class _DuplicateKey(yaml.constructor.ConstructorError):
    """A key given twice in one mapping; `key` is the key as written."""

    def __init__(self, key: str, mark: yaml.Mark) -> None:
        super().__init__(None, None, f"duplicate key '{key}'", mark)
        self.key = key


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[object, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, list | dict):
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain name, not a list or a mapping",
                key_node.start_mark)
        if key in seen:
            raise _DuplicateKey(str(key_node.value), key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line_map(node: yaml.Node | None, path: Path = (), lines: dict | None = None,
              seen: set[int] | None = None) -> dict:
    """Map each field path to the 1-based line where its value starts.

    A node reached again through an alias (*name) is not walked again: aliases may nest
    exponentially or refer to themselves.
    """
    lines = {} if lines is None else lines
    seen = set() if seen is None else seen
    if node is None:
        return lines
    lines[path] = node.start_mark.line + 1
    if id(node) in seen:
        return lines
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # a list or mapping as a key is refused when the YAML is loaded
            key = key_node.value
            lines[(*path, key, "__key__")] = key_node.start_mark.line + 1
            _line_map(value_node, (*path, key), lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*path, index), lines, seen)
    return lines


def _locate(loc: Path, lines: dict) -> tuple[int, str]:
    """Best line and readable field path for a pydantic location.

    Pydantic adds union tags (e.g. 'scale') that are not in the YAML; they are skipped.
    Parts after the deepest one found in the YAML (a missing field) are kept as written.
    """
    path: Path = ()
    last = -1
    for index, part in enumerate(loc):
        if (*path, part) in lines:
            path, last = (*path, part), index
    shown = ""
    for part in path:
        shown += f"[{part}]" if isinstance(part, int) else (f".{part}" if shown else str(part))
    tail = [str(p) for p in loc[last + 1:] if not _is_union_tag(p)]
    if tail:
        shown = ".".join([shown, *tail]) if shown else ".".join(tail)
    line = lines.get((*path, "__key__")) or lines.get(path) or 1
    return line, shown or "(top level)"


def _is_union_tag(part: object) -> bool:
    return isinstance(part, int) or part in _QUESTION_TYPES or "[" in str(part)


_QUESTION_TYPES = {"text", "number", "scale", "yes_no", "choice", "date"}


def _message(error: dict) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown field (check the spelling; see docs/programs.md)"
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":
        return f"unknown type; expected one of {error['ctx']['expected_tags']}"
    if kind == "union_tag_not_found":
        return ("required field is missing; a question's type is one of text, number, scale, "
                "yes_no, choice, date")
    msg = str(error["msg"])
    return msg.removeprefix("Value error, ")


def parse_program(text: str, filename: str = "<program>") -> Program:
    """Validate program-file text; raise `ProgramInvalid` with located errors."""
    node = None
    try:
        node = yaml.compose(text, Loader=_UniqueKeyLoader)
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 1
        problem = (getattr(exc, "problem", None) or str(exc)).strip().splitlines()[0]
        field = "(yaml)"
        if isinstance(exc, _DuplicateKey) and node is not None:
            field = _key_at(_line_map(node), exc.key, line) or field
        raise ProgramInvalid(
            [ProgramError(filename, line, field, f"not valid YAML: {problem}")]) from None
    if not isinstance(data, dict):
        raise ProgramInvalid([ProgramError(filename, 1, "(top level)",
                                           "a program file is a YAML mapping (id:, name:, ...)")])
    lines = _line_map(node)
    try:
        program = Program.model_validate(data)
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
                loc = (*loc, "type")  # point at the question's type, not the whole question
            line, field = _locate(loc, lines)
            errors.append(ProgramError(filename, line, field, _message(error)))
        raise ProgramInvalid(_dedupe(errors)) from None
    problems = check_references(program)
    if problems:
        located = []
        for loc, message in problems:
            line, field = _locate(loc, lines)
            located.append(ProgramError(filename, line, field, message))
        raise ProgramInvalid(located)
    return program


def located(text: str, filename: str, loc: Path, message: str) -> ProgramError:
    """An error about the field at `loc` of a valid program text (for checks that need
    more than one file, such as a next step naming another program)."""
    line, field = _locate(loc, _line_map(yaml.compose(text, Loader=_UniqueKeyLoader)))
    return ProgramError(filename, line, field, message)


def _key_at(lines: dict, key: str, line: int) -> str | None:
    """The field path of `key` written on `line` (to name a duplicate key)."""
    for path, at in lines.items():
        if at == line and len(path) >= 2 and path[-1] == "__key__" and str(path[-2]) == key:
            return _locate(path[:-1], lines)[1]
    return None


def _dedupe(errors: list[ProgramError]) -> list[ProgramError]:
    seen: set[tuple[int, str, str]] = set()
    kept = []
    for e in errors:
        key = (e.line, e.field, e.message)
        if key not in seen:
            seen.add(key)
            kept.append(e)
    return kept
