"""`coachbot review` as the program owner runs it: in an 80-column terminal, into files, and
with input that cannot work (one line saying why, exit 2)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from services.review_period import BadPeriod, between, choose, parse_quarter
from tests.services.review.conftest import coachbot

Q3 = ("review", "--quarter", "2026Q3")


def test_an_80_column_terminal_gets_records_where_a_table_would_not_fit(seeded_sqlite):
    result = coachbot(seeded_sqlite, *Q3, "--by", "intake.hours_per_week", "--bands", "5,10")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in result.output
    # Every name is whole: nothing was cut or folded in the middle.
    for name in ("Welcome and intake · coach · flow · SLA 48h · then flag coach",
                 "answered 6 (75%) · within SLA 4 (50%) · median 12.0h",
                 "days_since_reply · engagement · keep",
                 "outreach_done · implementation · candidate to drop",
                 "Confidence low two check-ins running · threshold · escalate",
                 "recovered within 2 check-ins: 1 of 2 (1 too early)",
                 "Weakest: Session prep: answered within SLA 50%, owner coach.",
                 "Fade: response falls from 100% to 40% between weeks 5 and 7."):
        assert name in result.output
    assert "Delivery operations map" in lines


def test_a_wide_terminal_gets_the_map_as_one_table(seeded_sqlite):
    result = coachbot(seeded_sqlite, *Q3, columns=160)
    assert "…" not in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 160
    [header] = [line for line in result.output.splitlines() if "median to answer" in line]
    assert header.split() == ["touchpoint", "owner", "planned", "sent", "on", "time",
                              "answered", "within", "SLA", "median", "to", "answer", "SLA",
                              "reminders", "missed", "flagged"]
    assert "Run with --by" not in result.output and "Segments: run with --by" in result.output


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "html"])
def test_every_format_can_go_to_a_file(seeded_sqlite, tmp_path: Path, fmt: str):
    target = tmp_path / f"review.{fmt}"
    result = coachbot(seeded_sqlite, *Q3, "--format", fmt, "--out", str(target))
    assert result.exit_code == 0, result.output
    assert result.output == f"Review written to {target}\n"
    text = target.read_text()
    expected = {"table": "Delivery operations map", "csv": "program,period,section",
                "json": '"program_id": "business_12w"', "html": "<!doctype html>"}[fmt]
    assert expected in text
    if fmt == "json":
        assert json.loads(text)[0]["current"]["clients"] == 16


@pytest.mark.parametrize(("args", "message"), [
    (("--quarter", "2026Q5"), "--quarter '2026Q5' is not a quarter like 2026Q3 (Q1 to Q4)"),
    (("--quarter", "Q3"), "--quarter 'Q3' is not a quarter like 2026Q3 (Q1 to Q4)"),
    (("--quarter", "2025Q1"), "nothing to review in 2025Q1 (2025-01-01 to 2025-03-31): no "
                              "touchpoint of business_12w was due then"),
    (("--from", "2026-07-01"), "--from and --to go together: give both"),
    (("--from", "2026-07-01", "--to", "2026-06-30"), "--to 2026-06-30 is before --from "
                                                     "2026-07-01"),
    (("--from", "1/7/2026", "--to", "2026-09-30"), "--from '1/7/2026' is not a date like "
                                                   "2026-03-31 (YYYY-MM-DD)"),
    (("--quarter", "2026Q3", "--to", "2026-09-30"), "give --quarter or --from/--to, not both"),
    (("--quarter", "2026Q3", "--by", "intake.nope"),
     "--by 'intake.nope': flow 'intake' has no question 'nope'"),
    (("--quarter", "2026Q3", "--by", "hours_per_week"),
     "--by 'hours_per_week' names no flow of business_12w; give FLOW.QUESTION with a flow "
     "among intake, weekly_checkin, session_prep, final_review"),
    (("--quarter", "2026Q3", "--by", "intake.goal"),
     "--by 'intake.goal' is a text question (free answers); choose a number, scale, yes/no "
     "or choice question"),
    (("--quarter", "2026Q3", "--by", "intake.start_date"),
     "--by 'intake.start_date' is a date question (free answers); choose a number, scale, "
     "yes/no or choice question"),
    (("--quarter", "2026Q3", "--by", "intake.hours_per_week", "--bands", "5,ten"),
     "--bands '5,ten' is not a list of numbers like 5,10"),
    (("--quarter", "2026Q3", "--by", "intake.hours_per_week", "--bands", "10,5"),
     "--bands '10,5' must be increasing numbers like 5,10"),
    (("--quarter", "2026Q3", "--by", "weekly_checkin.focus", "--bands", "5"),
     "--bands is for number and scale questions; 'weekly_checkin.focus' is a choice "
     "question"),
    (("--quarter", "2026Q3", "--bands", "5"), "--bands needs --by (the number question to "
                                              "split on)"),
    (("--quarter", "2026Q3", "--format", "pdf"), "--format is table, csv, html or json, not "
                                                 "'pdf'"),
    (("--quarter", "2026Q3", "--program", "yoga"), "no program 'yoga'; loaded: business_12w"),
    (("--quarter", "2026Q3", "--out", "/no/such/folder/review.html"),
     "--out /no/such/folder/review.html: the folder /no/such/folder does not exist"),
])
def test_input_that_cannot_work_is_one_line_and_exit_2(seeded_sqlite, args, message):
    result = coachbot(seeded_sqlite, "review", *args, columns=200)
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"error: {message}"]


def test_an_out_path_that_is_a_folder(seeded_sqlite, tmp_path: Path):
    result = coachbot(seeded_sqlite, *Q3, "--out", str(tmp_path), columns=200)
    assert (result.exit_code, result.output) == (
        2, f"error: --out {tmp_path} is a folder; give a file name in it\n")


# --- periods ---------------------------------------------------------------------------------


def test_quarters_and_the_quarter_before():
    q3 = parse_quarter("2026Q3")
    assert (q3.first, q3.last, q3.label) == (date(2026, 7, 1), date(2026, 9, 30), "2026Q3")
    assert parse_quarter("2026-q4").last == date(2026, 12, 31)
    assert parse_quarter("2026Q1").previous().label == "2025Q4"
    assert parse_quarter("2026Q3").previous() == parse_quarter("2026Q2")


def test_a_span_of_days_is_compared_with_as_many_days_before_it():
    span = between(date(2026, 7, 1), date(2026, 7, 31))
    assert span.previous() == between(date(2026, 5, 31), date(2026, 6, 30))
    assert span.label == "2026-07-01 to 2026-07-31"


def test_without_a_period_the_review_is_of_the_last_quarter_that_ended():
    assert choose(quarter=None, start=None, end=None, today=date(2026, 11, 29)).label \
        == "2026Q3"
    assert choose(quarter=None, start=None, end=None, today=date(2026, 1, 1)).label \
        == "2025Q4"
    with pytest.raises(BadPeriod):
        choose(quarter="2026Q3", start="2026-07-01", end=None, today=date(2026, 11, 29))
