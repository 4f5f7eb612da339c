"""The `coachbot` command line as the program owner uses it: validate, preview, enroll, db
upgrade through typer's runner, and `coachbot run` as a real process fed by a pipe."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.conftest import SAMPLE

COACHBOT = Path(sys.executable).parent / "coachbot"
SUMMARY = ("ok: business_12w (Grow: 12-week business coaching), 5 stages, 4 flows, "
           "9 touchpoints, 7 metrics, 5 rules")


@pytest.fixture
def cli(tmp_path: Path):
    """Run `coachbot ARGS...` on a SQLite file of its own; the click Result."""
    runner = CliRunner()
    env = {"COACHBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "COACHBOT_PROGRAM": str(SAMPLE), "COLUMNS": "320",
           "COACHBOT_TELEGRAM_TOKEN": "", "COACHBOT_SLACK_BOT_TOKEN": ""}

    def invoke(*args: str):
        return runner.invoke(app, list(args), env=env, catch_exceptions=False)

    return invoke


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of `path` on which `needle` occurs."""
    text = path.read_text()
    return text[: text.index(needle)].count("\n") + 1


# --- validate -------------------------------------------------------------------------------


def test_validate_the_sample(cli):
    result = cli("validate", str(SAMPLE))
    assert result.exit_code == 0
    assert result.stdout == f"{SAMPLE}: {SUMMARY}\n"


def test_validate_a_broken_copy_lists_each_error_as_file_line_field(cli, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(SAMPLE.read_text().replace("timezone: Europe/London", "timezone: Mars/Base")
                      .replace("    sla: 72h\n", "    sla: soon\n"))
    result = cli("validate", str(broken))
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        f"{broken}:{line_of(broken, 'Mars/Base')}: timezone: 'Mars/Base' is not an IANA time "
        "zone such as 'Europe/Berlin'",
        f"{broken}:{line_of(broken, 'sla: soon')}: touchpoints[7].sla: a duration like '10m', "
        "'24h', '7d' or '2w'",
    ]


def test_validate_a_copy_naming_a_flow_that_does_not_exist(cli, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(SAMPLE.read_text().replace("send: {flow: session_prep}",
                                                 "send: {flow: prep}"))
    result = cli("validate", str(broken))
    assert result.exit_code == 2
    assert result.stdout == (f"{broken}:{line_of(broken, '{flow: prep}')}: "
                             "touchpoints[3].send.flow: no flow with id 'prep'\n")


def test_validate_several_files_reports_each_and_fails_if_any_fails(cli, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(SAMPLE.read_text().replace("weeks: 12", "weeks: twelve"))
    result = cli("validate", str(SAMPLE), str(broken))
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        f"{SAMPLE}: {SUMMARY}",
        f"{broken}:{line_of(broken, 'weeks: twelve')}: weeks: Input should be a valid integer, "
        "unable to parse string as an integer"]


def test_validate_a_missing_file_or_a_folder(cli, tmp_path):
    missing = tmp_path / "nope.yaml"
    result = cli("validate", str(missing))
    assert result.exit_code == 2
    assert result.stdout.startswith(f"{missing}:1: (file): ")
    result = cli("validate", str(SAMPLE.parent))
    assert result.exit_code == 0 and SUMMARY in result.stdout


# --- preview --------------------------------------------------------------------------------


def rows(output: str) -> list[list[str]]:
    """The preview table's rows as lists of cell texts."""
    return [[cell.strip() for cell in line.strip().strip("│").split("│")]
            for line in output.splitlines() if line.startswith("│")]


def test_preview_maps_the_whole_journey_in_order(cli):
    result = cli("preview", str(SAMPLE), "--start", "2026-01-05", "--tz", "Europe/Berlin")
    assert result.exit_code == 0, result.stdout
    assert "client enrolled 2026-01-05 09:00 (Europe/Berlin)" in result.stdout
    table = rows(result.stdout)
    dated = [r for r in table if r[0] != "each session"]
    assert [r[0] for r in dated] == sorted(r[0] for r in dated)  # in date order
    titles = [r[3] for r in dated]
    welcome = titles.index("Welcome and intake")
    assert dated[welcome][:3] == ["Mon 2026-01-05", "09:10", "intake"]
    assert dated[welcome][4:] == ["flow intake", "coach", "48h",
                                  "remind after 24h, at most 2x; then flag coach"]
    checkins = [r for r in dated if r[3] == "Weekly check-in"]
    # Intake is assumed answered when it is sent (09:10): the first check-in is the next
    # Monday, in onboarding, then one in each of the 12 active weeks.
    assert len(checkins) == 13
    assert {(r[0][:3], r[1]) for r in checkins} == {("Mon", "09:00")}
    assert [r[2] for r in checkins] == ["onboarding"] + ["active"] * 12
    assert checkins[-1][0] == "Mon 2026-04-06"
    order = [t for t in titles if t != "Weekly check-in"]
    assert order == ["Welcome and intake", "How the program works", "Week-4 plateau check",
                     "Halfway milestone", "Final review", "Graduation"]
    plateau = next(r for r in dated if r[3] == "Week-4 plateau check")
    assert plateau[:3] == ["Mon 2026-02-02", "12:00", "active"]
    review = next(r for r in dated if r[3] == "Final review")
    assert review[:3] == ["Mon 2026-04-06", "10:00", "review"]
    assert review[6:] == ["3d", "remind after 48h, at most 2x; then flag coach"]
    graduation = next(r for r in dated if r[3] == "Graduation")
    assert graduation[:3] == ["Mon 2026-04-13", "10:00", "alumni"]
    assert graduation[5] == "program_owner"
    sessions = [r for r in table if r[0] == "each session"]
    assert [(r[1], r[3]) for r in sessions] == [("24h before", "Session prep"),
                                                ("2h after", "After the session")]


def test_preview_sends_nothing_before_the_welcome(cli):
    result = cli("preview", str(SAMPLE), "--start", "2026-01-05", "--tz", "Europe/Berlin")
    assert rows(result.stdout)[0][3] == "Welcome and intake"


def test_preview_says_how_long_a_check_in_burst_takes_at_telegrams_limits(cli):
    result = cli("preview", str(SAMPLE), "--start", "2026-01-05", "--tz", "Europe/Berlin",
                 "--clients", "4000")
    said = " ".join(result.output.split())
    # The check-in opens with one message (its intro above its first question): 4,000 at 30
    # a second.
    assert ("Monday 09:00 Europe/Berlin: 4,000 check-ins due at once -> "
            "about 2 min 14 s at Telegram's 30/s") in said
    assert "about 4 s at Telegram's paid broadcast limit of 1,000/s" in said


def test_preview_across_the_change_to_summer_time_keeps_09_00_local(cli):
    result = cli("preview", str(SAMPLE), "--start", "2026-03-02", "--tz", "Europe/Berlin")
    assert result.exit_code == 0
    checkins = {r[0]: r[1] for r in rows(result.stdout) if r[3] == "Weekly check-in"}
    # Summer time starts on Sunday 29 March 2026; the check-ins stay at nine o'clock.
    assert checkins["Mon 2026-03-23"] == "09:00"
    assert checkins["Mon 2026-03-30"] == "09:00"
    assert checkins["Mon 2026-04-06"] == "09:00"
    assert set(checkins.values()) == {"09:00"}


def test_preview_refuses_a_bad_zone_date_or_file(cli, tmp_path):
    result = cli("preview", str(SAMPLE), "--start", "2026-01-05", "--tz", "Europe/Atlantis")
    assert result.exit_code == 2
    assert result.stderr == ("error: 'Europe/Atlantis' is not an IANA time zone, "
                             "e.g. Europe/Berlin\n")
    result = cli("preview", str(SAMPLE), "--start", "5 January")
    assert result.exit_code == 2 and "is not a date like 2026-01-05" in result.output
    broken = tmp_path / "broken.yaml"
    broken.write_text(SAMPLE.read_text().replace("weeks: 12", "weeks: -1"))
    result = cli("preview", str(broken), "--start", "2026-01-05")
    assert result.exit_code == 2
    assert result.stdout.startswith(f"{broken}:{line_of(broken, 'weeks: -1')}: weeks: ")


# --- enroll and db upgrade ------------------------------------------------------------------


def test_enroll_prints_a_single_use_invite_code(cli):
    result = cli("enroll", "--program", "business_12w", "--name", "Ana Lima",
                 "--tz", "Europe/Berlin", "--coach", "Casey Coach")
    assert result.exit_code == 0, result.output
    match = re.fullmatch(r"Enrolled Ana Lima in business_12w\. Invite code: (\w+) \(single use, "
                         r"valid until \d{4}-\d\d-\d\d \d\d:\d\d UTC\)\. The client sends: "
                         r"/start (\w+)\n", result.stdout)
    assert match and match[1] == match[2]
    second = cli("enroll", "--program", "business_12w", "--name", "Ben Okafor",
                 "--tz", "America/New_York")
    assert second.exit_code == 0 and match[1] not in second.stdout


@pytest.mark.parametrize(("args", "error"), [
    (["--program", "business_12w", "--tz", "Mars/Base"],
     "error: 'Mars/Base' is not an IANA time zone, e.g. Europe/Berlin\n"),
    (["--program", "yoga_8w", "--tz", "Europe/Berlin"],
     "error: no program 'yoga_8w' (loaded: business_12w)\n"),
])
def test_enroll_refuses_with_a_one_line_error(cli, args, error):
    result = cli("enroll", "--name", "Ana Lima", *args)
    assert result.exit_code == 2
    assert result.stderr == error and result.stdout == ""


def test_db_upgrade_twice(cli, tmp_path):
    first = cli("db", "upgrade")
    assert (first.exit_code, first.stdout) == (0, "database is up to date\n")
    assert (tmp_path / "cli.db").exists()
    second = cli("db", "upgrade")
    assert (second.exit_code, second.stdout) == (0, "database is up to date\n")


# --- coachbot run, as a process ---------------------------------------------------------------


def run_console(cwd: Path, lines: list[str]) -> tuple[int, list[str]]:
    """Pipe `lines` into `coachbot run` in `cwd`; the exit code and the replies printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COACHBOT_")}
    done = subprocess.run([str(COACHBOT), "run"], input="".join(f"{x}\n" for x in lines),
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=120,
                          check=False)
    assert done.stderr == "", done.stderr
    return done.returncode, [r.strip() for r in done.stdout.split("\n\n") if r.strip()]


INTAKE = ["yes", "Double my revenue", "12,000", "6", "10", "/skip"]


def test_console_runs_intake_and_a_checkin_from_a_pipe(tmp_path):
    code, replies = run_console(tmp_path, [*INTAKE, "/checkin", "3/10", "clients went quiet",
                                           "€2,500", "yeah", "1", "/skip"])
    assert code == 0
    expected = [
        "Hi Sam, welcome to Grow: 12-week business coaching!",
        "Are you happy to go ahead on that basis?\n  (yes / no)",
        "In your own words: what would make these 12 weeks a success for you?",
        "Roughly what is your monthly revenue today? (EUR per month)",
        "How confident are you that you'll reach that goal?",
        "How many hours a week can you give to the program? (hours)",
        "When is your first coaching session booked?",
        "Thank you, Sam. Casey Coach will read this",
        "Your first weekly check-in is ready",
        "check-in. Five quick questions.",
        "How confident do you feel about your goal this week?",
        "Sorry to hear that. What got in the way?",
        "What revenue did you bring in this week? (EUR)",
        "Did you do the outreach you planned?",
        "Where will you put most of your energy next week?\n  1. Sales\n  2. Product",
        "Anything you'd like your coach to know?",
        "Thanks, Sam! Your coach will see this in tomorrow's digest.",
    ]
    position = 0
    for text in expected:  # each in order, each in its own reply
        found = next((i for i in range(position, len(replies)) if text in replies[i]), None)
        assert found is not None, (text, replies[position:])
        position = found + 1
    assert position == len(replies)
    assert (tmp_path / "coachbot.db").exists()


def test_console_resumes_a_checkin_in_a_second_run(tmp_path):
    code, replies = run_console(tmp_path, [*INTAKE, "/checkin", "8", "2500"])
    assert code == 0
    assert replies[-1] == "Did you do the outreach you planned?\n  (yes / no)"
    code, replies = run_console(tmp_path, ["yes", "sales", "/skip"])
    assert code == 0
    assert replies[0] == ("You're already with us. Here's where we were:\n"
                          "Did you do the outreach you planned?\n  (yes / no)")
    assert replies[1].startswith("Where will you put most of your energy next week?")
    assert replies[2].startswith("Anything you'd like your coach to know?")
    assert replies[3] == "Thanks, Sam! Your coach will see this in tomorrow's digest."
    assert len(replies) == 4


def test_console_at_end_of_input_with_nothing_typed(tmp_path):
    code, replies = run_console(tmp_path, [])
    assert code == 0
    assert replies[-1].endswith("Are you happy to go ahead on that basis?\n  (yes / no)")
