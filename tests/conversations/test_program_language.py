"""A program's `language:` and its placeholders' fallbacks, as `validate` checks them."""

from __future__ import annotations

import pytest

from conversations.render import fill
from tests.conversations.test_program_errors import broken, line_of, the_error


@pytest.mark.parametrize("tag", ["it", "english", "xx-YY"])
def test_an_unsupported_language_is_refused_with_the_supported_ones(tag):
    text = broken("weeks: 12\n", f"weeks: 12\nlanguage: {tag}\n")
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "language:"), "language")
    assert error.message == (f"'{tag}' is not a supported language; use one of en, de, es, "
                             "fr, pt-BR (BCP 47)")


@pytest.mark.parametrize(("tag", "read"), [("de", "de"), ("pt_BR", "pt-BR"), ("de-AT", "de")])
def test_a_supported_language_is_read_as_bcp_47(tag, read):
    from conversations.loader import parse_program

    program = parse_program(broken("weeks: 12\n", f"weeks: 12\nlanguage: {tag}\n"), "p.yaml")
    assert program.language == read


def test_a_placeholder_that_can_be_empty_needs_a_fallback():
    text = broken("{coach.name|Your coach} will read this",
                  "Your coach {coach.name} will read this")
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "Your coach {coach.name}"),
                                         "flows[0].outro")
    assert error.message == ("{coach.name} can be empty (a client without a coach): give it a "
                             "fallback that reads well in the sentence, e.g. "
                             "{coach.name|your coach}")


def test_a_fallback_reads_only_when_there_is_no_value():
    text = "{coach.name|Your coach} will read this."
    assert fill(text, {"coach.name": "Casey"}) == "Casey will read this."
    assert fill(text, {"coach.name": None}) == "Your coach will read this."
    assert fill(text, {}) == "Your coach will read this."
    assert fill("{coach.name|} and {week|x} {nope|y}", {"week": 3}) == " and 3 {nope|y}"
