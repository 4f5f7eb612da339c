"""A broken program file is refused with FILE:LINE: field.path: message, one test per kind of
mistake. Each breaks the bundled sample in one place and expects the line where the mistake is.
"""

from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations.loader import ProgramError, ProgramInvalid, parse_program
from tests.conversations.chat import sample_text

pytestmark = pytest.mark.slow  # started first, so it does not end the run alone

SAMPLE = sample_text()
FILE = "programs/broken.yaml"


def broken(old: str, new: str) -> str:
    """The sample with `old` (which must occur exactly once) replaced by `new`."""
    assert SAMPLE.count(old) == 1, f"{old!r} is not unique in the sample"
    return SAMPLE.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """The 1-based line on which `needle` first occurs."""
    return text[: text.index(needle)].count("\n") + 1


def refused(text: str) -> list[ProgramError]:
    with pytest.raises(ProgramInvalid) as caught:
        parse_program(text, FILE)
    assert str(caught.value) == "\n".join(str(e) for e in caught.value.errors)
    return caught.value.errors


def the_error(text: str) -> ProgramError:
    errors = refused(text)
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def test_the_sample_is_valid():
    program = parse_program(SAMPLE, FILE)
    assert program.id == "business_12w"


def test_an_error_prints_as_file_line_field_message():
    text = broken("weeks: 12", "weeks: twelve")
    assert str(the_error(text)) == (f"{FILE}:{line_of(text, 'twelve')}: weeks: Input should be "
                                    "a valid integer, unable to parse string as an integer")


def test_yaml_syntax_error():
    text = broken("weeks: 12\n", "weeks: 12: 13\n")
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "weeks: 12: 13"), "(yaml)")
    assert error.message == "not valid YAML: mapping values are not allowed here"


def test_unclosed_bracket_is_a_yaml_error_on_the_line_it_is_noticed():
    text = broken("    send: {flow: session_prep}\n", "    send: {flow: session_prep\n")
    error = the_error(text)
    assert error.field == "(yaml)" and error.message.startswith("not valid YAML: ")
    assert error.line == line_of(text, "    owner: coach\n    sla: 20h")


def test_duplicate_key():
    text = broken("        max_length: 500\n        prompt: \"In your own words",
                  "        max_length: 500\n        max_length: 400\n        prompt: \"In your "
                  "own words")
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "max_length: 400"),
                                         "flows[0].questions[1].max_length")
    assert error.message == "not valid YAML: duplicate key 'max_length'"


def test_unknown_field():
    text = broken("    sla: 72h\n", "    slaa: 72h\n")
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "slaa:"), "touchpoints[7].slaa")
    assert error.message == "unknown field (check the spelling; see docs/programs.md)"


def test_wrong_type():
    text = broken("        integer: true\n", "        integer: [1, 2]\n")
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "integer: [1, 2]"),
                                         "flows[0].questions[4].integer")
    assert error.message == "Input should be a valid boolean"


def test_missing_required_field():
    text = broken("    bucket: outcome\n    from: {answer: weekly_checkin.revenue}\n",
                  "    from: {answer: weekly_checkin.revenue}\n")
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "  - id: revenue\n    title: Weekly"),
                                         "metrics[5].bucket")
    assert error.message == "required field is missing"


def test_missing_top_level_field_points_at_the_start_of_the_file():
    text = broken('name: "Grow: 12-week business coaching"\n', "")
    error = the_error(text)
    assert (error.line, error.field, error.message) == (
        line_of(text, "id: business_12w"), "name", "required field is missing")


def test_unknown_question_type():
    text = broken("      - id: did_outreach\n        type: yes_no",
                  "      - id: did_outreach\n        type: boolean")
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "type: boolean"),
                                         "flows[1].questions[3].type")
    assert error.message == ("unknown type; expected one of 'text', 'number', 'scale', "
                             "'yes_no', 'choice', 'date'")


def test_a_rule_naming_a_missing_metric():
    text = broken("threshold: {metric: confidence,", "threshold: {metric: confidance,")
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "confidance"),
                                         "rules[0].when.threshold.metric")
    assert error.message == "no metric with id 'confidance'"


def test_a_metric_naming_a_missing_question():
    text = broken("from: {answer: weekly_checkin.revenue}", "from: {answer: weekly_checkin.sales}")
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "weekly_checkin.sales"),
                                         "metrics[5].from.answer")
    assert error.message == "no question 'sales' in flow 'weekly_checkin'"


def test_a_metric_on_a_text_answer():
    text = broken("from: {answer: weekly_checkin.revenue}", "from: {answer: weekly_checkin.note}")
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "weekly_checkin.note}"),
                                         "metrics[5].from.answer")
    assert error.message.startswith("'weekly_checkin.note' is a text question")


def test_a_condition_on_a_question_asked_later():
    text = broken("when: {question: confidence, below: 5}", "when: {question: revenue, below: 5}")
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "when: {question: revenue"),
                                         "flows[1].questions[1].when.question")
    assert error.message == "'revenue' is asked later in this flow"


def test_a_condition_on_a_question_that_does_not_exist():
    text = broken("when: {question: confidence, below: 5}", "when: {question: mood, below: 5}")
    error = the_error(text)
    assert error.line == line_of(text, "question: mood")
    assert error.message == "no question 'mood' in flow 'weekly_checkin'"


def test_a_touchpoint_sending_an_unknown_flow():
    text = broken("send: {flow: session_prep}", "send: {flow: sesion_prep}")
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "sesion_prep"),
                                         "touchpoints[3].send.flow")
    assert error.message == "no flow with id 'sesion_prep'"


def test_a_bad_time_zone():
    text = broken("timezone: Europe/London", "timezone: Europe/Londres")
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "Europe/Londres"), "timezone")
    assert error.message == "'Europe/Londres' is not an IANA time zone such as 'Europe/Berlin'"


def test_a_cron_schedule_that_never_fires():
    text = broken('when: {stage_start: alumni, time: "10:00"}', 'when: {cron: "0 9 30 2 *"}')
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "0 9 30 2 *"), "touchpoints[8].when.cron")
    assert error.message == "this schedule never fires"


def test_a_cron_schedule_that_is_not_cron():
    text = broken('when: {stage_start: alumni, time: "10:00"}', 'when: {cron: "every monday"}')
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "every monday"), "touchpoints[8].when.cron")
    assert error.message.startswith("not a valid cron expression")


def test_an_unknown_placeholder():
    text = broken("Congratulations, {client.first_name}", "Congratulations, {client.nickname}")
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "{client.nickname}"),
                                         "touchpoints[8].send.message")
    assert error.message.startswith("unknown placeholder {client.nickname}; use one of "
                                    "{booking_link}, {checkin_day}, {checkin_time}, "
                                    "{client.first_name}")


def test_a_consent_question_not_first():
    consent = ('      - id: consent\n        type: yes_no\n        consent: true\n'
               '        prompt: "Are you happy to go ahead on that basis?"\n')
    goal = ('      - id: goal\n        type: text\n        max_length: 500\n'
            '        prompt: "In your own words: what would make these 12 weeks a success for '
            'you?"\n')
    text = broken(consent + goal, goal + consent)
    error = the_error(text)
    intake_questions = line_of(text, "    questions:\n      - id: goal")
    assert (error.line, error.field) == (intake_questions, "flows[0].questions")
    assert error.message == "the consent question must come first"


def test_a_threshold_of_the_wrong_type():
    text = broken("below: 5, for_checkins: 2", "below: low, for_checkins: 2")
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "below: low"),
                                         "rules[0].when.threshold.below")
    assert error.message == ("Input should be a valid number, unable to parse string as a "
                             "number")


def test_an_escalation_without_an_owner():
    text = broken('escalate: {owner: coach, sla: 24h, reason: "No reply for 10 days"}',
                  'escalate: {sla: 24h, reason: "No reply for 10 days"}')
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, 'escalate: {sla: 24h, reason: "No reply'),
                                         "rules[1].then.escalate.owner")
    assert error.message == "required field is missing"


def test_a_bad_duration():
    text = broken("    sla: 72h\n", "    sla: 3 days\n")
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "sla: 3 days"), "touchpoints[7].sla")
    assert error.message == "a duration like '10m', '24h', '7d' or '2w'"


def test_two_triggers_on_one_touchpoint():
    text = broken("when: {after_enrolment: 10m}", "when: {after_enrolment: 10m, cron: '0 9 * * 1'}")
    error = the_error(text)
    assert (error.line, error.field) == (line_of(text, "after_enrolment: 10m,"),
                                         "touchpoints[0].when")
    assert error.message.startswith("give exactly one of after_enrolment, weekly,")


def test_several_mistakes_are_reported_together_in_file_order():
    text = broken("timezone: Europe/London", "timezone: Mars/Base").replace(
        "weeks: 12", "weeks: 0")
    errors = refused(text)
    assert [(e.line, e.field) for e in errors] == [(line_of(text, "weeks: 0"), "weeks"),
                                                   (line_of(text, "Mars/Base"), "timezone")]


@pytest.mark.parametrize(("text", "field"), [
    ("", "(top level)"),
    ("- just\n- a list\n", "(top level)"),
    ("just a sentence", "(top level)"),
    ("? [a, b]\n: 1\n", "(yaml)"),
    ("id: &x [*x]\n", "id"),
    ("\x00", "(yaml)"),
])
def test_odd_files_are_refused_with_a_location(text, field):
    errors = refused(text)
    assert errors[0].line >= 1 and errors[0].field == field


# --- whatever the file says, the answer is ProgramInvalid with a location ------------------


SAMPLE_LINES = SAMPLE.splitlines(keepends=True)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=12))
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(
                                ["id", "name", "weeks", "flows", "stages", "touchpoints",
                                 "questions", "type", "when", "send", "rules", "metrics", "x"]),
                                inner, max_size=5)),
    max_leaves=20)


@st.composite
def mutated_samples(draw) -> str:
    """The sample with a few lines deleted, duplicated, cut short or scribbled into."""
    lines = list(SAMPLE_LINES)
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "cut", "insert", "indent"]))
        if action == "delete":
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, lines[index])
        elif action == "cut":
            lines[index] = lines[index][: draw(st.integers(0, len(lines[index])))] + "\n"
        elif action == "insert":
            at = draw(st.integers(0, len(lines[index])))
            lines[index] = lines[index][:at] + draw(st.text(max_size=8)) + lines[index][at:]
        else:
            lines[index] = " " + lines[index]
    return "".join(lines)


def accepted_or_located(text: str) -> None:
    try:
        parse_program(text, FILE)
    except ProgramInvalid as exc:
        assert exc.errors
        last = text.count("\n") + 2
        for error in exc.errors:
            assert error.file == FILE and 1 <= error.line <= last, str(error)
            assert error.field and error.message and "\n" not in str(error), str(error)


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(text=st.text(max_size=200))
def test_random_text_is_refused_with_a_location(text):
    with pytest.raises(ProgramInvalid):
        parse_program(text, FILE)
    accepted_or_located(text)


@FAST
@given(document=documents)
def test_random_yaml_documents_are_refused_with_a_location(document):
    text = yaml.safe_dump(document, allow_unicode=True)
    with pytest.raises(ProgramInvalid):
        parse_program(text, FILE)
    accepted_or_located(text)


@FAST
@given(text=mutated_samples())
def test_a_mutated_sample_is_either_valid_or_refused_with_a_location(text):
    accepted_or_located(text)
