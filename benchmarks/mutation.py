"""The mutation score of the code that carries the README's promises, and its survivors.

    python benchmarks/mutation.py [--module NAME ...] [--cache FILE] [--keep]

Copies the committed code (HEAD, nothing uncommitted) to a temporary directory and runs
mutmut there, one module at a time, each against a small test selection that exercises it
(SQLite only: PostgreSQL is not asked for). Only the functions named below are mutated; log
lines are left alone (their wording is no promise). The figures, the surviving mutants and
the reason each equivalent one cannot change behaviour go to benchmarks/MUTATION.md.

Each mutant's tests run in a process forked from one that has the libraries imported
already (pytest, SQLAlchemy, PTB, Bolt ...), so a mutant costs its tests, not 2 s of imports.
`--cache FILE` keeps mutmut's results between runs: killed mutants (and timeouts) stay so,
the survivors of each module run are tried again against its current selection. Without it every
run starts from nothing. Not part of CI: it takes minutes, not seconds.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import json
import os
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# One process per mutant run (the suite's addopts ask pytest-xdist for several).
PYTEST = ["-x", "-q", "-p", "no:cacheprovider", "-n", "0", "-k", "not postgresql"]
# A forked test run that takes longer than this is stuck (a mutant made a loop endless).
CHILD_LIMIT_S = 120


@dataclass(frozen=True)
class Target:
    """One module, the functions of it that carry a promise (None: all), and its tests."""

    name: str
    path: str
    tests: tuple[str, ...]
    functions: tuple[str, ...] | None = None


# The outbox's stories that run in a fraction of a second (the day-long and the
# thousand-message ones tell the same with more rows).
OUTBOX_TESTS = (
    *(f"tests/services/sending/test_fair_sending.py::test_{name}" for name in (
        "a_chat_with_fifteen_queued_gets_ten_in_one_drain_and_the_rest_in_the_next",
        "every_chat_gets_its_first_message_before_any_chat_its_second",
        "a_second_drain_in_the_middle_of_a_lease_gets_nothing",
        "an_address_waiting_for_a_retry_holds_its_later_messages_back",
        "a_chat_waiting_for_a_retry_takes_no_other_chats_place_in_a_small_drain",
        "a_worker_stopping_cleanly_hands_its_leases_back_at_once_without_spending_a_try",
        "a_busy_chat_still_receives_every_message_in_order_over_many_drains")),
    *(f"tests/services/sending/test_poison_messages.py::test_{name}" for name in (
        "a_library_error_counts_as_a_try_with_backoff_and_a_stored_reason",
        "eight_quick_failures_within_a_day_stay_queued",
        "a_message_whose_eighth_try_fails_a_day_after_it_was_queued_is_set_aside_then",
        "a_long_error_is_stored_as_its_first_300_characters",
        "a_young_message_failing_eight_times_is_not_aged_by_an_older_one")),
)

# The limiter's and the in-memory budget's stories that need no bot (a fraction of a second).
LIMITER_TESTS = tuple(f"tests/bot/telegram/test_flood_limits.py::test_{name}" for name in (
    "the_limiter_holds_the_31st_message_of_a_second_but_never_getupdates",
    "a_limiter_asked_before_ptb_initialises_it_still_holds_the_second_message",
    "a_message_photo_or_file_counts_for_its_chats_pace_and_an_edit_does_not",
    "a_budget_without_a_bot_wide_limit_lets_every_request_go_at_once",
    "a_chats_next_message_gives_way_to_other_chats_first_replies_for_a_bot_wide_slot",
    "a_follow_up_gives_way_no_longer_than_its_allowance",
    "slots_given_back_with_nobody_waiting_are_there_for_the_next_requests",
    "a_request_cancelled_while_waiting_for_a_slot_takes_none_and_gives_none_back",
    "a_slot_handed_to_a_request_cancelled_before_it_ran_goes_to_the_next_waiter"))

TARGETS = (
    Target("backoff", "services/backoff.py",
           ("tests/services/sending/test_poison_messages.py",)),
    Target("flood", "services/flood.py", (
        "tests/services/guards/test_flood_limit.py::"
        "test_a_chat_warned_then_quiet_for_a_minute_is_warned_again_the_next_time_it_floods",
        "tests/services/guards/test_flood_limit.py::"
        "test_one_chat_at_its_limit_stays_held_while_ten_thousand_others_write_that_minute",
        "tests/services/guards/test_flood_limit.py::"
        "test_past_twenty_a_minute_a_client_is_told_once_to_slow_down_and_the_rest_go_unanswered",
        "tests/services/guards/test_flood_limit.py::test_the_flood_limit_is_a_setting",
        # The warning's text is the catalog's key: any change to it loses the translations.
        "tests/services/guards/test_flood_limit.py::"
        "test_a_chat_where_the_bot_speaks_german_is_told_to_slow_down_in_german")),
    Target("telegram_limits", "bot/telegram/limits.py", LIMITER_TESTS),
    # The in-memory send budget the Telegram limiter holds a slot of (one process, SQLite).
    Target("send_budget_local", "services/send_budget.py", LIMITER_TESTS,
           ("Turns.__init__", "Turns.acquire", "Turns.release", "LocalBudget.__init__",
            "LocalBudget.slot")),
    Target("dedupe", "storage/dedupe.py", ("tests/services/test_dedupe_window.py",
                                          "tests/storage/test_inbound_path.py")),
    Target("rules", "conversations/rules.py",
           ("tests/conversations/test_rules.py", "tests/services/decisions/test_rules_fire.py")),
    Target("retention", "services/retention.py", (
        "tests/services/trust/test_retention.py", "tests/services/test_dedupe_window.py",
        "tests/services/trust/test_erasure_leaves_nothing.py::"
        "test_a_sent_message_keeps_its_text_for_a_week",
        "tests/services/trust/test_erasure_leaves_nothing.py::"
        "test_after_retention_no_answer_text_is_left_anywhere_in_the_database",
        "tests/services/trust/test_erasure_leaves_nothing.py::"
        "test_a_retention_pass_with_no_sent_text_left_to_blank_still_clears_the_answers_from_"
        "the_file")),
    Target("outbox", "storage/outbox.py", OUTBOX_TESTS,
           # claim and the statements it runs (built once, see storage/outbox.py)
           ("claim", "_due", "_pick_statement", "_lock_statement", "_waiting_statement",
            "mark_retry", "defer", "release")),
    Target("delivery", "services/delivery.py",
           (*OUTBOX_TESTS,
            *(f"tests/services/sending/test_poison_messages.py::test_{name}" for name in (
                "a_client_who_blocked_the_bot_has_the_message_set_aside_at_once_and_the_next_goes",
                "over_async_channels_a_blocked_chat_is_reported_unreachable_and_the_next_goes",
                "a_strangers_reply_that_cannot_be_delivered_leaves_no_row",
                "a_message_held_by_a_bot_wide_pause_spends_no_try_and_waits_with_its_chat",
                "a_strangers_reply_is_kept_while_it_is_retried_and_deleted_when_given_up",
                "an_async_drain_one_chat_after_another_counts_every_message_sent",
                "over_async_channels_a_failed_message_holds_its_chat_and_one_given_up_lets_it_"
                "go_on")),
            "tests/bot/telegram/test_bot_wide_pause.py"),
           ("Outbox.claim", "Outbox.failed", "Outbox.defer", "release_held", "retry_delay",
            "_as_delivery_error", "drain", "drain_async", "_group", "_send_in_order")),
    Target("slack_ack", "bot/slack/listeners.py",
           # One story per kind of listener: events, escalation buttons, the Home tab's
           # buttons, the notes form (and its errors), a Slack client's answer buttons.
           ("tests/bot/slack/test_slack_ack_first.py", "tests/bot/slack/test_story.py",
            "tests/bot/slack/test_closed_checkin.py", "tests/bot/slack/test_home_tab_buttons.py",
            "tests/bot/slack/test_session_notes_story.py",
            "tests/bot/slack/test_client_words.py",
            # The error handler: a failing listener logs its failure, not the client's words.
            "tests/bot/slack/test_listener_failure.py"),
           # The listeners are registered (and acked) in the three _listen_to_* helpers.
           ("build_bolt_app", "_listen_to_events", "_listen_to_buttons",
            "_listen_to_forms_and_command")),
    Target("planner_quiet_hours", "scheduler/occurrences.py",
           ("tests/scheduler/test_calendar.py",),
           ("quiet_adjusted", "_quiet_adjusted", "next_local_time")),
    # Daily and weekly slots off the wall clock (APScheduler 3 skips a day after some clock
    # changes): checked against a brute-force reading of two years of several zones.
    Target("wall_clock", "scheduler/wall_clock.py",
           ("tests/scheduler/test_wall_clock.py", "tests/scheduler/test_calendar.py")),
    # Restricted to the two entry points (a client erased; retention's answers erased): the
    # whole file took over 15 minutes (a 23 s baseline on the loaded machine).
    Target("erasure", "storage/erasure.py",
           ("tests/services/trust/test_data_rights.py",
            "tests/services/trust/test_retention.py",
            "tests/services/trust/test_erasure_leaves_nothing.py"),
           ("erase_person", "erase_answers")),
    # Restricted to the path a message takes to be handled once (the whole selection's 16 s
    # baseline made the run longer than 15 minutes on the loaded machine): the dedupe
    # stories first, then one story per branch of _handle.
    Target("inbound_dedupe", "services/inbound.py",
           ("tests/services/test_dedupe_window.py",
            *(f"tests/storage/test_inbound_path.py::test_{name}" for name in (
                "a_retried_platform_event_changes_nothing",
                "every_answer_is_stored_the_moment_it_is_accepted",
                "a_stranger_is_told_how_to_join_and_nothing_about_them_is_kept",
                "a_used_or_unknown_invite_code_does_not_join")),
            "tests/services/trust/test_hostile_input.py::"
            "test_a_lone_surrogate_in_an_answer_is_stored_as_a_replacement_character",
            "tests/services/trust/test_hostile_input.py::"
            "test_control_characters_in_a_text_answer_are_dropped_before_storing",
            "tests/services/guards/test_flood_limit.py::"
            "test_past_twenty_a_minute_a_client_is_told_once_to_slow_down_and_the_rest_go_unanswered",
            # What each message became (outcome, replies, tally, rows kept), a press on the
            # next-step offer and on the switch question, and a retry while SQLite is locked.
            "tests/services/test_inbound_outcomes.py",
            "tests/services/guards/test_invite_codes.py::"
            "test_an_enrolled_client_sending_someone_elses_code_is_asked_before_anything_moves",
            "tests/services/trust/test_sqlite_locked.py::"
            "test_a_message_arriving_while_another_process_writes_is_handled_once_it_lets_go"),
           ("InboundService.handle", "InboundService._handle", "storable")),
    Target("slack_http", "bot/slack/slack_http.py",
           # The route's own tests first (-x stops at the first failure); the runner's
           # tests wait for a route that answers, so a broken one costs a timeout.
           ("tests/bot/slack/test_slack_http_requests.py",
            "tests/bot/slack/test_slack_ack_first.py::"
            "test_an_event_is_acked_only_after_what_it_says_is_stored"), ("SlackRoute.post",)),
    Target("data_rights", "services/data_rights.py",
           ("tests/services/trust/test_erasure_leaves_nothing.py",
            "tests/services/trust/test_data_rights.py",
            "tests/services/trust/test_data_rights_slack.py::"
            "test_erasing_a_client_blanks_their_check_in_card_in_the_coachs_slack_and_no_one_elses"),
           ("erase_client", "_coach_posts_about", "_team_posts_about", "erase_by_staff")),
)

# Mutants that cannot change behaviour, by (module, the mutated line(s)): why.
_REFUSAL = ("the human wording of a refusal: Slack reads its status, and the error's code "
            "is tested")
_BOLT_LENGTH = ("Bolt 1.x sets no content-length of its own and no empty header: the filter "
                "is a guard (aiohttp counts the body) that no answer of Bolt's reaches")
_TYPE_ONLY = "a type annotation: never checked at run time"
_UNUSED_DEFAULT = ("a default no caller uses: the outbox's one caller (services/delivery.py) "
                   "passes lease, limit, per_address and in_order")
_SECOND_LINE = ("the second line of defence against a message another worker deferred between "
                "the claim's two queries; in one process the ranking query has already left "
                "out every row behind a waiting one, so this filter drops nothing a test can see")
_CACHE = "a cache of a pure function: its size or absence changes speed, not answers"
_MINUTE = ("quiet hours start and end on whole minutes: a clock of hh:mm:01 compares with "
           "them as hh:mm:00 does")
_UNBOUND = ("differs only for a chat whose latest enrolment is still invited, which no path "
            "makes: a chat is bound when its invite is redeemed (inbound's _join, "
            "join_directly), and a later enrolment of a person with a chat is redeemed at "
            "once (next_offer.answer, payments._enrol)")
_MEMORY = "how many quiet chats the gate remembers, which only bounds memory: verdicts are the same"
EQUIVALENT: dict[tuple[str, str], str] = {
    ("services/backoff.py",
     "return min(LONGEST, FIRST * 2 ** min(max(0, attempts - 1), 17))"):
        "the exponent's cap only keeps timedelta from overflowing; 5 s x 2**16 and 2**17 are "
        "both far over the 10-minute LONGEST that min() returns",
    ("services/flood.py", "CHATS = 10001"): _MEMORY,
    ("services/flood.py", "if len(self._admitted) < CHATS:"): _MEMORY,
    ("services/flood.py", "if times and times[-1] >= now - WINDOW}"): _MEMORY,
    ("services/flood.py", "if times or times[-1] > now - WINDOW}"):
        _MEMORY + "; a remembered chat never has an empty deque (it is appended to right "
        "after it is emptied), so times[-1] never fails",
    ("services/flood.py", 'Verdict = Literal["XXadmitXX", "warn", "refuse"]'): _TYPE_ONLY,
    ("services/flood.py", 'Verdict = Literal["admit", "XXwarnXX", "refuse"]'): _TYPE_ONLY,
    ("services/flood.py", 'Verdict = Literal["admit", "warn", "XXrefuseXX"]'): _TYPE_ONLY,
    ("services/flood.py", "Verdict = None"): _TYPE_ONLY,
    ("bot/telegram/limits.py", "Result = None"): _TYPE_ONLY,
    ("storage/outbox.py", "lease: timedelta = timedelta(seconds=61), limit: int = 50,"):
        _UNUSED_DEFAULT,
    ("storage/outbox.py", "lease: timedelta = timedelta(seconds=60), limit: int = 51,"):
        _UNUSED_DEFAULT,
    ("storage/outbox.py", "per_address: int = 11, in_order: bool = False) -> list[Claimed]:"):
        _UNUSED_DEFAULT,
    ("storage/outbox.py", "per_address: int = 10, in_order: bool = True) -> list[Claimed]:"):
        _UNUSED_DEFAULT,
    ("storage/outbox.py",
     'blocked = func.sum(case((claimable, 0), else_=2)).over(**per).label("blocked")'):
        "only `blocked == 0` is asked: a running sum of 2s is zero exactly when one of 1s is",
    ("storage/outbox.py", "rows = [r for r in rows if r.address not in waiting or "
     "(r.id or 1) < waiting[r.address]]"): "a stored row always has an id: `or` never applies",
    ("storage/outbox.py", "rows = [r for r in rows if r.address not in waiting or "
     "(r.id and 0) < waiting[r.address]]"): _SECOND_LINE,
    ("storage/outbox.py", "rows = [r for r in rows if r.address not in waiting or "
     "(r.id or 0) <= waiting[r.address]]"): _SECOND_LINE,
    ("storage/outbox.py", "claimed.append(Claimed(id=row.id or 1, channel=row.channel, "
     "address=row.address,"): "a stored row always has an id: `or` never applies",
    ("scheduler/occurrences.py", "@lru_cache(maxsize=65537)"): _CACHE,
    ("scheduler/occurrences.py", ""): _CACHE + " (the decorator removed)",
    ("scheduler/occurrences.py", "clock = local.time().replace(second=1, microsecond=0)"):
        _MINUTE,
    ("scheduler/occurrences.py", "clock = local.time().replace(second=0, microsecond=1)"):
        _MINUTE,
    ("scheduler/occurrences.py", "inside = (start <= clock or clock < end) if start >= end "
     "else (start <= clock < end)"):
        "start == end is answered by the next line (no quiet hours) whichever branch ran",
    ("scheduler/occurrences.py", "fires = _fires(_daily(at.hour, at.minute, zone), moment, "
     "moment + timedelta(days=4))"):
        "a daily trigger fires within a day (25 h on a DST day): 3 or 4 days of search "
        "find the same first fire",
    ("scheduler/occurrences.py", 'assert fires, "XXa daily trigger always fires againXX"'):
        "the message of an assertion that cannot fail (a daily trigger fires within 3 days)",
    ("services/delivery.py", 'return "XXfailedXX"'):
        "a permanent failure's status is asked only whether it is \"queued\"; it is not, "
        "whatever its spelling (and _send_in_order moves on before asking)",
    ("services/delivery.py", "limit: int = 101) -> int:"):
        "the batch size of a synchronous drain: its callers (the console, the simulation, the "
        "tests) drain again until nothing is due, so 100 or 101 a batch sends the same",
    ("services/delivery.py", "worker: str = WORKER, limit: int = 101,"):
        "the batch size of Slack's drain, which runs again until nothing is due",
    ("services/retention.py", 'log = logging.getLogger("XXcoachbot.retentionXX")'):
        "the logger's name: where the one log line goes, not what retention does",
    ("services/retention.py", 'erase_answers(session, enrolment_id or 1, actor="retention", '
     'now=now,'): "a stored enrolment always has an id: `or` never applies",
    ("services/retention.py", "if erased and forgotten:"):
        "the second `if erased or forgotten` guards only the log line",
    ("conversations/rules.py", "Evidence = dict[str, object] & None"): _TYPE_ONLY,
    ("conversations/rules.py", "Evidence = None"): _TYPE_ONLY,
    ("conversations/rules.py", "@dataclass(frozen=False)"):
        "nothing assigns to, or hashes, a RuleInputs or a Decision: frozen only guards",
    ("conversations/rules.py",
     'raise AssertionError("XXvalidated to have one conditionXX")'):
        "unreachable: the program's validation gives every condition exactly one kind",
    ("bot/telegram/limits.py", "OVERALL_RATE = TELEGRAM.overall or 31"):
        "TELEGRAM.overall is 30, never None: `or` never applies",
    ("bot/telegram/limits.py", "OVERALL_RATE = TELEGRAM.overall and 30"):
        "TELEGRAM.overall is 30: `30 and 30` is 30 as `30 or 30` is",
    ("services/send_budget.py", "async def slot(self, address: str | None, *, paced: bool = "
     "False) -> AsyncIterator[None]:"):
        "a LocalBudget holds only the bot-wide limit and never reads `paced` (the pace per "
        "chat is the sender's ChatPacer in one process)",
    ("bot/slack/slack_http.py",
     'return error(503, "starting", "XXthe Slack runner is startingXX")  # Slack retries'):
        _REFUSAL,
    ("services/data_rights.py",
     '"XXstopped; the audit log keeps only that it happened.XX").format('):
        "the wording of the coach's note (its start and the program are tested)",
    ("services/data_rights.py", "for case_id in erasure.escalation_ids(session, "
     "erasure.enrolment_ids(session, person.id or 1)):"):
        "a stored person always has an id: `or` never applies",
    ("storage/erasure.py", "enrolments = [(e.id or 1, e.program_id, e.coach_id) for e in"):
        "a stored enrolment always has an id: `or` never applies",
    ("services/data_rights.py", "rows.append(row.id or 1)"):
        "a stored row always has an id: `or` never applies",
    ("bot/slack/slack_http.py", "headers = None"):
        "Bolt reads a request's headers for the body's type, which it also tells from the "
        "body's first character, and for Slack's retry number, which no listener of ours "
        "reads (a retry is refused by its event id); the signature is checked before Bolt",
    ("bot/slack/slack_http.py", 'if v and k.lower() != "XXcontent-lengthXX"})'): _BOLT_LENGTH,
    ("bot/slack/slack_http.py", 'if v or k.lower() != "content-length"})'): _BOLT_LENGTH,
    ("bot/slack/slack_http.py", 'return error(401, "bad_signature", "XXthe request is not '
     'signed by this app\'s SlackXX")'): _REFUSAL,
    ("bot/slack/slack_http.py",
     'return error(400, "bad_body", "XXthe body is not one Slack sendsXX")'): _REFUSAL,
    ("storage/erasure.py", "return 1"):
        "unreachable: retention, erase_answers's one caller, passes only enrolments that have "
        "answers, and ignores the count returned",
    ("services/inbound.py", "owner=found[1].id if found or bound else None)"): _UNBOUND,
    ("services/inbound.py", "if found is None and not bound:"): _UNBOUND,
    ("services/inbound.py", "_reply(uow, message, found[2].id if found else None,"): _UNBOUND,
}


# Survivors that still count against the score, with what would kill them.
NOTES: dict[tuple[str, str], str] = {
    ("services/retention.py", "if erased and forgotten or dropped:"):
        "without the checkpoint, erased answers stay in SQLite's file: test_a_retention_pass_"
        "with_no_sent_text_left_to_blank_still_clears_the_answers_from_the_file fails on it "
        "(applied by hand); it joined the selection after this run, and the next run with "
        "--cache tries this survivor again",
    ("services/data_rights.py", "if channel == TEAM_CHANNEL or text:"):
        "no test has a coach on Telegram get a message naming the client (it would be edited "
        "over Slack's channel name) nor a rewritten message with no text",
    ("services/data_rights.py", 'programs = "XX, XX".join(erased.program_ids)'):
        "every test client is in one program: a client in two would show the separator",
    ("services/data_rights.py", 'if row.channel == TEAM_CHANNEL or row.status == "sent" and '
     'row.platform_message_id:'):
        "changes only a team post never sent (no platform id): its 'erased' edit then has no "
        "message to update, which the Slack sender drops (slack_sender._edit), so the team "
        "sees nothing either way; the one trace is a sent outbox row 'Escalation #N: erased "
        "at the client's request' (no client data), which only a test reading the outbox "
        "table could see",
    ("storage/outbox.py",
     ".order_by(col(OutboxMessage.id)).with_for_update(skip_locked=False)))"):
        "PostgreSQL only (SQLite has no row locks; the selection is SQLite-only): "
        "tests/scheduler/test_worker_processes.py runs two workers there",
    ("services/delivery.py", "def claim(self, limit: int, *, in_order: bool = True,"):
        "only the synchronous drain (console, tests) uses the default; in order it would hold "
        "a message queued behind one waiting for a retry, which the async channels already "
        "do (they pass in_order): a finding, not pinned by a test",
    ("services/delivery.py", "break"):
        "applied by hand, test_over_async_channels_a_failed_message_holds_its_chat_and_one_"
        "given_up_lets_it_go_on fails on it (0 sent, not 2); mutmut 2.5.1 kept this mutant's "
        "status from a run before that test and did not try it again",
    ("services/delivery.py", "chats_concurrently: bool = True,"):
        "Slack's drain uses the default (one chat after another, claimed without in_order): "
        "the same finding as the synchronous drain's, not pinned by a test",
}


# --- the fork server: libraries imported once, each test run a fresh fork ------------------

PRELOAD = ("pytest", "_pytest.config", "hypothesis", "_hypothesis_pytestplugin", "sqlalchemy",
           "sqlalchemy.dialects.sqlite", "sqlalchemy.dialects.postgresql", "sqlmodel",
           "alembic.command", "alembic.config", "pydantic", "pydantic_settings", "yaml",
           "telegram", "telegram.ext", "slack_bolt", "slack_sdk", "slack_sdk.web",
           "aiohttp", "aiohttp.web", "apscheduler.triggers.cron",
           "apscheduler.schedulers.background", "typer", "rich", "stripe", "psycopg",
           "typer.testing", "zoneinfo", "asyncio")


def serve(sock_path: str, root: str) -> None:
    """Answer each connection (pytest's arguments as JSON) with the exit code of a forked
    pytest run; a connection closed early (mutmut's timeout) kills that run."""
    import importlib

    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    os.chdir(root)
    sys.path.insert(0, root)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(8)
    while True:
        conn, _ = listener.accept()
        args = json.loads(conn.makefile("r").readline())
        pid = os.fork()
        if pid == 0:
            listener.close()
            signal.alarm(CHILD_LIMIT_S)
            log = os.open(os.path.join(root, ".mutation-last.log"),
                          os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(log, 1)
            os.dup2(log, 2)
            import pytest

            code = pytest.main(args)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(int(code))
        code = _wait(pid, conn)
        with contextlib.suppress(OSError):
            conn.sendall(f"{code}\n".encode())
        conn.close()


def _wait(pid: int, conn: socket.socket) -> int:
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        readable, _, _ = select.select([conn], [], [], 0.05)
        if readable and not conn.recv(1, socket.MSG_PEEK):  # the asker is gone
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return -9


def ask(sock_path: str, args: list[str]) -> int:
    """mutmut's runner: 0 when the tests pass, 1 otherwise (mutmut reads only exit code 1 as
    a failure: a mutant that breaks collection would otherwise count as survived)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(sock_path)
        conn.sendall((json.dumps(args) + "\n").encode())
        answer = conn.makefile("r").readline().strip()
    return 0 if answer == "0" else 1


# --- the run ----------------------------------------------------------------------------


def scope_lines(path: Path, functions: tuple[str, ...] | None) -> list[int]:
    """The line numbers mutmut may mutate: the named functions' lines, less log calls."""
    tree = ast.parse(path.read_text())
    wanted: set[int] = set()
    logged: set[int] = set()

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if functions is not None and name in functions and \
                        not isinstance(child, ast.ClassDef):
                    start = min([child.lineno] + [d.lineno for d in child.decorator_list])
                    wanted.update(range(start, (child.end_lineno or start) + 1))
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    if functions is None:
        wanted = set(range(1, len(path.read_text().splitlines()) + 1))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Name) and node.func.value.id == "log":
            logged.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return sorted(wanted - logged)


MUTMUT_CONFIG = '''
import json
import os
SCOPE = json.load(open(os.path.join(os.path.dirname(__file__), "mutation_scope.json")))

def pre_mutation(context):
    lines = SCOPE.get(context.filename)
    if lines is not None and context.mutation_id.line_number + 1 not in lines:
        context.skip = True
'''


def run(targets: list[Target], cache: Path | None, keep: bool) -> dict:
    """Mutate each target in a copy of HEAD; each mutant's status and diff."""
    work = Path(tempfile.mkdtemp(prefix="coachbot-mutation-"))
    server = None
    try:
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
        scope = {t.path: scope_lines(work / t.path, t.functions) for t in TARGETS}
        (work / "mutation_scope.json").write_text(json.dumps(scope))
        (work / "mutmut_config.py").write_text(MUTMUT_CONFIG)
        if cache is not None and cache.exists():
            shutil.copy(cache, work / ".mutmut-cache")
        # No PostgreSQL: the selections run on SQLite alone.
        env = {k: v for k, v in os.environ.items() if not k.startswith("COACHBOT_")}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        sock = str(work / ".mutation.sock")
        if targets:
            # One migrated SQLite file for every test run (the fixture copies it per test).
            template = work / ".mutation-template.db"
            subprocess.run([sys.executable, "-c", "import sys; from storage.db import "
                            "make_engine, upgrade; upgrade(make_engine(f'sqlite:///{sys.argv[1]}'))",
                            str(template)], cwd=work, env=env, check=True)
            env["COACHBOT_TEST_SQLITE_TEMPLATE"] = str(template)
            # Its own process group: stopping it stops the test run it has forked too.
            server = subprocess.Popen([sys.executable, str(Path(__file__).resolve()),
                                       "--serve", sock, str(work)], env=env, cwd=work,
                                      start_new_session=True)
            while not os.path.exists(sock):
                time.sleep(0.1)
        results = {}
        for target in TARGETS:
            if target not in targets and (work / ".mutmut-cache").exists():
                # Not run this time: its figures (and how long its run took) as the cache
                # holds them.
                mutants = _mutants(work, target)
                if mutants:
                    results[target.name] = {"seconds": _seconds(work, target),
                                            "mutants": mutants}
        for target in targets:
            started = time.monotonic()
            args = PYTEST + list(target.tests)
            runner = " ".join([sys.executable, str(Path(__file__).resolve()), "--ask", sock,
                               "--", *[_quoted(a) for a in args]])
            print(f"== {target.name}: {target.path}", flush=True)
            _forget_baseline(work)
            _retry_survivors(work, target)
            subprocess.run([sys.executable, "-m", "mutmut", "run", "--paths-to-mutate",
                            target.path, "--tests-dir", "tests", "--runner", runner,
                            "--no-progress", "--simple-output"], cwd=work, env=env,
                           check=False)
            seconds = round(time.monotonic() - started)
            _seconds(work, target, seconds)
            results[target.name] = {"seconds": seconds, "mutants": _mutants(work, target)}
            if cache is not None:
                cache.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(work / ".mutmut-cache", cache)
        return {t.name: results[t.name] for t in TARGETS if t.name in results}
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait()
        if cache is not None and (work / ".mutmut-cache").exists():
            # A stopped run keeps what it measured (the rest is reported as not run); the
            # backup API copies a consistent state even while mutmut writes.
            cache.parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(work / ".mutmut-cache") as src, sqlite3.connect(cache) as dst:
                src.backup(dst)
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _forget_baseline(work: Path) -> None:
    """mutmut keeps one baseline time per cache; each module's tests need their own (the
    timeout is ten times it)."""
    if (work / ".mutmut-cache").exists():
        with sqlite3.connect(work / ".mutmut-cache") as db:
            db.execute("DELETE FROM MiscData WHERE key = 'baseline_time_elapsed'")


def _seconds(work: Path, target: Target, seconds: int | None = None) -> int | None:
    """How long the module's latest run took, kept in the cache beside mutmut's own data
    (`seconds` given: record it)."""
    key = f"coachbot_seconds:{target.name}"
    with sqlite3.connect(work / ".mutmut-cache") as db:
        if seconds is not None:
            db.execute("INSERT OR REPLACE INTO MiscData (key, value) VALUES (?, ?)",
                       (key, str(seconds)))
            return seconds
        row = db.execute("SELECT value FROM MiscData WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row else None


def _retry_survivors(work: Path, target: Target) -> None:
    """A cached survivor is tried again: mutmut 2.5.1 retries one only when a file under
    tests/ changed, not when the module's selection in TARGETS did (a test that joined the
    selection would otherwise never be asked). A killed or timed-out mutant stays so."""
    if not (work / ".mutmut-cache").exists():
        return
    with sqlite3.connect(work / ".mutmut-cache") as db:
        db.execute(
            "UPDATE Mutant SET status = 'untested' WHERE status = 'bad_survived' "
            "AND line IN (SELECT l.id FROM Line l JOIN SourceFile s "
            "ON l.sourcefile = s.id WHERE s.filename = ?)", (target.path,))


def _quoted(arg: str) -> str:
    return f'"{arg}"' if " " in arg else arg


def _mutants(work: Path, target: Target) -> list[dict]:
    """Every in-scope mutant of the target: line, status, the line before and after."""
    sys.path.insert(0, str(work))
    import mutmut

    db = sqlite3.connect(work / ".mutmut-cache")
    rows = db.execute(
        "SELECT l.line, l.line_number, m.'index', m.status FROM Mutant m "
        "JOIN Line l ON m.line = l.id JOIN SourceFile s ON l.sourcefile = s.id "
        "WHERE s.filename = ? ORDER BY l.line_number, m.'index'", (target.path,)).fetchall()
    db.close()
    source = (work / target.path).read_text()
    scope = set(scope_lines(work / target.path, target.functions))
    found = []
    for line, line_number, index, status in rows:
        if status == "skipped" or line_number + 1 not in scope or \
                source.split("\n")[line_number] != line:
            continue  # out of scope, or a line of an older version of the file
        context = mutmut.Context(
            source=source, filename=target.path,
            mutation_id=mutmut.RelativeMutationID(line, index, line_number))
        mutated, _ = mutmut.mutate(context)
        before, after = _changed(source, mutated)
        found.append({"line": line_number + 1, "status": status, "before": before,
                      "after": after,
                      "equivalent": EQUIVALENT.get((target.path, after)),
                      "note": NOTES.get((target.path, after))})
    return found


def _changed(source: str, mutated: str) -> tuple[str, str]:
    """The lines a mutant changed, as written and as mutated (several joined by " / ")."""
    removed, added = [], []
    for line in difflib.unified_diff(source.split("\n"), mutated.split("\n"), n=0,
                                     lineterm=""):
        if line.startswith("-") and not line.startswith("---"):
            removed.append(line[1:].strip())
        elif line.startswith("+") and not line.startswith("+++"):
            added.append(line[1:].strip())
    return " / ".join(removed), " / ".join(added)


# --- the report -------------------------------------------------------------------------


def tally(mutants: list[dict]) -> dict[str, int]:
    """Counts per outcome; an equivalent survivor is counted apart, not against the score."""
    counts = {"killed": 0, "timeout": 0, "survived": 0, "equivalent": 0, "untested": 0}
    for m in mutants:
        if m["status"] in ("ok_killed", "ok_suspicious"):
            counts["killed"] += 1
        elif m["status"] == "bad_timeout":
            counts["timeout"] += 1
        elif m["status"] == "bad_survived":
            counts["equivalent" if m["equivalent"] else "survived"] += 1
        else:
            counts["untested"] += 1
    return counts


def score(counts: dict[str, int]) -> float | None:
    """Killed (a timeout is a kill) over every mutant that could be killed."""
    caught = counts["killed"] + counts["timeout"]
    total = caught + counts["survived"]
    return 100 * caught / total if total else None


def report(results: dict, load: tuple[float, float, float], machine_line: str) -> str:
    lines = ["# Mutation score", "",
             "Made by `python benchmarks/mutation.py` (mutmut 2.5.1, committed code only) on "
             f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine_line}; load average "
             f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the start.", "",
             "Score = killed (a timeout counts as killed) / (killed + survived); equivalent "
             "mutants (no test can tell them apart: reason given) are listed, not counted. "
             "Only the functions named in the script's TARGETS are mutated, log lines never. "
             "`run`: the wall time of the module's latest run into the cache (one that only "
             "retried cached survivors is short; `-`: not kept).",
             "", "| module | file | killed | timeout | survived | equivalent | not run | score | "
             "test selection | run |", "|---|---|---|---|---|---|---|---|---|---|"]
    total = {"killed": 0, "timeout": 0, "survived": 0, "equivalent": 0, "untested": 0}
    by_name = {t.name: t for t in TARGETS}
    for name, result in results.items():
        counts = tally(result["mutants"])
        for k in total:
            total[k] += counts[k]
        s = score(counts)
        target = by_name[name]
        lines.append(f"| {name} | `{target.path}` | {counts['killed']} | {counts['timeout']} | "
                     f"{counts['survived']} | {counts['equivalent']} | {counts['untested']} | "
                     f"{'-' if s is None else f'{s:.0f}%'} | {len(target.tests)} | "
                     f"{'-' if result['seconds'] is None else str(result['seconds']) + ' s'} |")
    s = score(total)
    missing = [f"`{t.name}` (`{t.path}`)" for t in TARGETS if t.name not in results]
    partial = [name for name, result in results.items() if tally(result["mutants"])["untested"]]
    lines += [f"| **all** | | {total['killed']} | {total['timeout']} | {total['survived']} | "
              f"{total['equivalent']} | {total['untested']} | "
              f"**{'-' if s is None else f'{s:.1f}%'}** | | |", ""]
    if missing or partial:
        lines += ["Not measured yet: " + ", ".join(missing + [
            f"the rest of `{name}` ({tally(results[name]['mutants'])['untested']} mutants)"
            for name in partial]) + ".", ""]
    for title, wanted in (("Surviving mutants", False), ("Equivalent mutants", True)):
        lines += [f"## {title}", ""]
        listed = False
        for name, result in results.items():
            path = by_name[name].path
            for m in result["mutants"]:
                if m["status"] != "bad_survived" or bool(m["equivalent"]) != wanted:
                    continue
                listed = True
                why = m["equivalent"] if wanted else m.get("note")
                lines.append(f"- `{path}:{m['line']}` `{m['before']}` -> `{m['after']}`"
                             + (f": {why}" if why else ""))
        if not listed:
            lines.append("None.")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--module", action="append", help="a target name (default: all)")
    parser.add_argument("--cache", type=Path, help="keep mutmut's results in this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    parser.add_argument("--report", action="store_true",
                        help="run nothing: write the report from --cache")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "MUTATION.md")
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--ask", help=argparse.SUPPRESS)
    parser.add_argument("pytest_args", nargs="*", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        serve(*options.serve)
        return
    if options.ask:
        sys.exit(ask(options.ask, options.pytest_args))
    sys.path.insert(0, str(ROOT))
    from benchmarks.machine import machine

    names = {t.name for t in TARGETS}
    unknown = set(options.module or ()) - names
    if unknown:
        parser.error(f"unknown module {sorted(unknown)}; known: {sorted(names)}")
    # In the order asked for, so the modules that matter most run first.
    targets = ([t for name in options.module for t in TARGETS if t.name == name]
               if options.module else list(TARGETS))
    if options.report:
        if options.cache is None:
            parser.error("--report reads --cache FILE")
        targets = []
    # A stop (SIGTERM) still puts the source back and stops the forked runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    load = os.getloadavg()
    results = run(targets, options.cache, options.keep)
    text = report(results, load, machine())
    options.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
