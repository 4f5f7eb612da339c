"""The conversation engine on its own: a hand-made Context, one pure step per message.

No database and no network: `Chat` keeps the state the engine hands back and feeds it in again.
"""

from __future__ import annotations

import pytest

from conversations.engine import PRIVACY_RIGHTS
from conversations.loader import parse_program
from tests.conversations.chat import INTAKE, Chat, after_intake, in_checkin, revised_sample_text

PRIVACY_START = "Before we start: I'll ask about your goals"


def test_whole_intake_and_first_checkin_as_a_dialogue():
    chat = Chat()
    # One message: the intro, the privacy statement, the consent question.
    [opening] = chat.start("intake")
    assert opening.startswith("Hi Ana, welcome to Grow! A few questions to get to know you."
                              f"\n\n{PRIVACY_START}")
    assert opening.endswith("Are you happy to go ahead on that basis?")
    dialogue = [
        # (the client types, the bot's replies contain)
        ("yes", "In your own words: what would make these 12 weeks a success for you?"),
        ("Double my revenue", "Roughly what is your monthly revenue today? (EUR per month)"),
        ("lots", "Sorry, I didn't get that. I couldn't read that as a number. Please send a "
                 "number from 0 to 100000000 (EUR per month), for example 1,200.5 / seven."),
        ("12,000", "How confident are you that you'll reach that goal? "
                   "(1-10: 1 = not at all, 10 = completely)"),
        ("6", "How many hours a week can you give to the program? (hours)"),
        ("10", "When is your first coaching session booked?  /skip if you'd rather not say"),
        ("/skip", "Thank you, Ana. Casey Coach will read this before your first "
                  "session."),
        ("/checkin", "Week 3 check-in. Five quick questions."),
        ("12", "Sorry, I didn't get that. Please answer with a number from 1 to 10."),
        ("3/10", "Sorry to hear that. What got in the way?"),
        ("clients went quiet", "What revenue did you bring in this week? (EUR)"),
        ("€2,500", "Did you do the outreach you planned?"),
        ("yeah", "Where will you put most of your energy next week?"),
        ("1", "Anything you'd like your coach to know?  /skip if you'd rather not say"),
        ("/skip", "Thanks, Ana! Your coach will see this in tomorrow's digest."),
    ]
    for typed, expected in dialogue:
        replies = chat.says(typed)
        assert any(expected in r for r in replies), (typed, replies)
    assert [(a.flow, a.question, a.value) for a in chat.answers] == [
        ("intake", "consent", True), ("intake", "goal", "Double my revenue"),
        ("intake", "revenue_baseline", 12000), ("intake", "confidence_baseline", 6),
        ("intake", "hours_per_week", 10),
        ("weekly_checkin", "confidence", 3), ("weekly_checkin", "blocker", "clients went quiet"),
        ("weekly_checkin", "revenue", 2500), ("weekly_checkin", "did_outreach", True),
        ("weekly_checkin", "focus", "sales"),
    ]
    assert chat.status == "active" and chat.flow_state is None
    assert chat.events.count("flow_completed") == 2


def test_finishing_intake_offers_the_first_checkin_on_the_client_s_day():
    chat = Chat()
    chat.start("intake")
    for typed, _ in INTAKE[:-1]:
        chat.says(typed)
    assert chat.says("/skip")[-1] == (
        "Your first weekly check-in is ready: send /checkin to do it now (it takes about two "
        "minutes), or I'll ask you on Monday at 09:00.")


def test_questions_come_with_buttons_for_scales_yes_no_and_choices():
    chat = in_checkin()
    assert [b.value for b in chat.last.replies[-1].buttons] == [str(n) for n in range(1, 11)]
    chat.presses("8")
    assert chat.last.replies[-1].buttons == ()  # revenue is typed
    chat.says("2500")
    assert [b.label for b in chat.last.replies[-1].buttons] == ["Yes", "No"]
    chat.presses("yes")
    assert [(b.label, b.value) for b in chat.last.replies[-1].buttons][:2] == [
        ("Sales", "sales"), ("Product", "product")]


# --- the conditional follow-up --------------------------------------------------------------


@pytest.mark.parametrize(("score", "next_question"), [
    ("1", "blocker"), ("4", "blocker"), ("5", "revenue"), ("8", "revenue"), ("10", "revenue"),
])
def test_only_a_low_score_asks_what_got_in_the_way(score, next_question):
    chat = in_checkin()
    replies = chat.says(score)
    assert chat.asked == next_question
    assert ("What got in the way?" in replies[-1]) == (next_question == "blocker")


def test_a_checkin_with_a_high_score_never_stores_a_blocker():
    chat = in_checkin()
    for typed in ["8", "2500", "yes", "sales", "all good"]:
        chat.says(typed)
    answered = [a.question for a in chat.answers if a.flow == "weekly_checkin"]
    assert answered == ["confidence", "revenue", "did_outreach", "focus", "note"]


# --- consent --------------------------------------------------------------------------------


def test_consent_no_declines_and_nothing_more_is_asked():
    chat = Chat()
    chat.start("intake")
    replies = chat.says("no")
    assert replies == ["Understood, and thank you for telling me. I won't ask you anything "
                       "else or keep anything beyond this answer. If you change your mind, "
                       "ask your coach for a new link."]
    assert chat.status == "declined" and chat.flow_state is None
    assert "consent_declined" in chat.events
    assert [(a.question, a.value) for a in chat.answers] == [("consent", False)]
    closed = ("You chose not to take part, so I'm not keeping anything. Ask your coach for a "
              "new link if you change your mind.")
    for typed in ["Double my revenue", "yes", "/checkin", "/resume", "/skip"]:
        assert chat.says(typed) == [closed], typed
        assert chat.last.answers == () and chat.last.replies[0].question is None
    assert chat.says("/privacy")[0].startswith(PRIVACY_START)


def test_consent_cannot_be_skipped_or_undone_with_back():
    chat = Chat()
    chat.start("intake")
    assert chat.says("/skip")[0].startswith("This one can't be skipped, sorry.\n")
    chat.says("yes")
    assert chat.says("/back")[0] == ("There's no earlier answer to change here.\n"
                                     "In your own words: what would make these 12 weeks a "
                                     "success for you?")
    assert chat.status == "active"


def test_an_unclear_consent_answer_is_re_asked():
    chat = Chat()
    chat.start("intake")
    replies = chat.says("what data?")
    assert replies[0].startswith("Sorry, I didn't get that. Please answer yes / no.\n")
    assert chat.status == "consent" and chat.asked == "consent"


# --- /help and unknown commands -------------------------------------------------------------


def lines(reply: str) -> list[str]:
    return reply.splitlines()


def test_help_before_consent_offers_only_privacy_and_help():
    chat = Chat()
    chat.start("intake")
    assert lines(chat.says("/help")[0]) == [
        "Just type your answer, or use:", "/language - choose the language I speak",
        "/privacy - what we collect and why",
        "/help - what you can do now"]


def test_help_during_a_checkin_offers_back_skip_and_later_first():
    chat = in_checkin()
    assert [line.split(" - ")[0] for line in lines(chat.says("/help")[0])[1:]] == [
        "/back", "/skip", "/later", "/checkin", "/progress", "/schedule", "/pause",
        "/language", "/privacy", "/mydata", "/delete", "/help"]


def test_help_with_nothing_open_leaves_out_back_skip_and_later():
    chat = after_intake()
    reply = lines(chat.says("/help")[0])
    assert reply[0] == "Here's what you can do:"
    assert [line.split(" - ")[0] for line in reply[1:]] == [
        "/checkin", "/progress", "/schedule", "/pause", "/language", "/privacy", "/mydata",
        "/delete", "/help"]


def test_help_while_paused_offers_resume():
    chat = after_intake()
    chat.says("/pause")
    assert [line.split(" - ")[0] for line in lines(chat.says("/help")[0])[1:]] == [
        "/resume", "/progress", "/language", "/privacy", "/mydata", "/delete", "/help"]


@pytest.mark.parametrize("typed", ["/help@coachbot", "/HELP", "  /help  "])
def test_help_in_other_spellings(typed):
    chat = after_intake()
    assert chat.says(typed)[0].startswith("Here's what you can do:")


@pytest.mark.parametrize("typed", ["/frobnicate", "/", "/stop now", "/" + "x" * 500])
def test_an_unknown_command_gets_the_help_text(typed):
    chat = in_checkin()
    reply = chat.says(typed)[0]
    assert reply.startswith("I don't know /")
    assert len(reply.split(".", 1)[0]) <= len("I don't know /") + 30
    assert "Just type your answer, or use:\n/back - change your previous answer" in reply
    assert chat.asked == "confidence" and chat.last.answers == ()


# --- /skip ----------------------------------------------------------------------------------


def test_skip_an_optional_question_moves_on_and_records_the_skip():
    chat = in_checkin()
    for typed in ["8", "2500", "yes", "sales"]:
        chat.says(typed)
    assert chat.asked == "note"
    replies = chat.says("/skip")
    assert replies == ["Thanks, Ana! Your coach will see this in tomorrow's digest."]
    assert chat.last.events[0].kind == "skipped"
    assert chat.last.events[0].data == {"question": "note"}
    assert chat.flow_state is None and "flow_completed" in chat.events


def test_skip_a_required_question_is_refused_and_it_is_asked_again():
    chat = in_checkin()
    replies = chat.says("/skip")
    assert replies == ["This one can't be skipped, sorry.\nHow confident do you feel about "
                       "your goal this week? (1-10: 1 = stuck, 10 = flying)"]
    assert chat.asked == "confidence" and chat.flow_state.skipped == []


def test_skip_with_nothing_open():
    assert after_intake().says("/skip") == ["There's nothing to skip right now."]


# --- /back ----------------------------------------------------------------------------------


def test_back_edits_the_previous_answer_and_marks_it_edited():
    chat = in_checkin()
    chat.says("8")
    chat.says("2500")
    assert chat.says("/back") == ["Let's change that. You answered: 2500\n"
                                  "What revenue did you bring in this week? (EUR)"]
    assert chat.flow_state.editing
    assert chat.says("3000") == ["Did you do the outreach you planned?"]
    edited = chat.last.answers[0]
    assert (edited.question, edited.value, edited.raw, edited.edited) == (
        "revenue", 3000, "3000", True)
    assert chat.flow_state.answers["revenue"] == 3000
    assert not chat.flow_state.editing
    assert [a.edited for a in chat.answers if a.flow == "weekly_checkin"] == [False, False, True]


def test_back_shows_the_label_of_a_choice_and_yes_or_no():
    chat = in_checkin()
    for typed in ["8", "2500", "no", "product"]:
        chat.says(typed)
    assert chat.says("/back")[0].startswith("Let's change that. You answered: Product\n")
    chat.says("/back")
    assert chat.last.replies[0].text.startswith("Let's change that. You answered: no\n")


def test_back_twice_walks_further_back_and_the_flow_continues_where_it_was():
    chat = in_checkin()
    for typed in ["8", "2500", "yes"]:
        chat.says(typed)
    chat.says("/back")
    chat.says("/back")
    assert chat.asked == "revenue"
    chat.says("2600")
    assert chat.asked == "focus"  # did_outreach still stands
    assert chat.flow_state.answers == {"confidence": 8, "revenue": 2600, "did_outreach": True}


def test_back_to_a_lower_score_asks_the_follow_up():
    chat = in_checkin()
    chat.says("8")
    chat.says("/back")
    assert chat.says("3") == ["Sorry to hear that. What got in the way?"]


def test_back_to_a_skipped_question_asks_it_again():
    chat = Chat()
    chat.start("intake")
    for typed, _ in INTAKE[:-1]:
        chat.says(typed)
    chat.says("/back")  # hours_per_week
    chat.says("12")
    assert chat.asked == "start_date"


def test_back_at_the_first_question_and_with_nothing_open():
    chat = in_checkin()
    assert chat.says("/back")[0].startswith("There's no earlier answer to change here.\n")
    assert after_intake().says("/back") == [
        "/back changes your previous answer while we're in a conversation; there's none open "
        "right now."]


# --- /later ---------------------------------------------------------------------------------


def test_later_snoozes_and_the_next_message_resumes_where_we_were():
    chat = in_checkin()
    chat.says("8")
    assert chat.says("/later") == [
        "No problem, I'll check back later. Send /checkin whenever you're ready."]
    assert chat.flow_state.snoozed and chat.events[-1] == "snoozed"
    assert chat.says("ok I'm back") == [
        "Welcome back! Here's where we were:\nWhat revenue did you bring in this week? (EUR)"]
    assert chat.last.answers == () and not chat.flow_state.snoozed
    assert chat.events[-1] == "resumed"
    assert chat.says("2500") == ["Did you do the outreach you planned?"]


def test_a_button_pressed_after_later_is_taken_as_the_answer():
    chat = in_checkin()
    chat.says("/later")
    assert chat.presses("9") == ["What revenue did you bring in this week? (EUR)"]
    assert chat.flow_state.answers == {"confidence": 9}


def test_later_with_nothing_open():
    assert after_intake().says("/later") == ["Nothing is waiting for you right now."]


# --- /checkin -------------------------------------------------------------------------------


def test_checkin_with_nothing_open_starts_the_checkin():
    chat = after_intake()
    replies = chat.says("/checkin")
    assert replies == ["Week 3 check-in. Five quick questions.\n\n"
                       "How confident do you feel about your goal this week? "
                       "(1-10: 1 = stuck, 10 = flying)"]
    assert [e.kind for e in chat.last.events] == ["flow_started", "checkin_requested"]
    assert chat.flow_state.flow == "weekly_checkin"
    assert chat.flow_state.started_at == chat.context.now


def test_checkin_during_a_checkin_re_asks_the_open_question():
    chat = in_checkin()
    chat.says("8")
    chat.says("/later")
    assert chat.says("/checkin") == ["Here's where we were:\n"
                                     "What revenue did you bring in this week? (EUR)"]
    assert chat.flow_state.answers == {"confidence": 8} and not chat.flow_state.snoozed


def test_checkin_during_intake_asks_to_finish_the_intake_first():
    chat = Chat()
    chat.start("intake")
    assert chat.says("/checkin")[0].startswith("First things first:\n" + PRIVACY_START)
    chat.says("yes")
    assert chat.says("/checkin") == ["Let's finish the intake first:\nIn your own words: what "
                                     "would make these 12 weeks a success for you?"]
    assert chat.flow_state.flow == "intake"


# --- /pause and /resume ---------------------------------------------------------------------


def test_pause_and_resume_in_the_middle_of_a_checkin():
    chat = in_checkin()
    chat.says("8")
    assert chat.says("/pause") == ["Paused. I won't send check-ins or reminders until you send "
                                   "/resume. Enjoy the break!"]
    assert chat.status == "paused" and chat.events[-1] == "paused"
    assert chat.says("2500") == ["You're on pause, so I'm not asking anything. Send /resume "
                                 "when you're ready to pick up again."]
    assert chat.last.answers == ()
    assert chat.says("/pause") == ["You're already on pause. Send /resume when you're back."]
    assert chat.says("/checkin") == ["You're on pause. Send /resume first, then /checkin."]
    assert chat.says("/resume") == ["Welcome back! Here's where we were:\n"
                                    "What revenue did you bring in this week? (EUR)"]
    assert chat.status == "active" and chat.events[-1] == "resumed"
    assert chat.says("2500") == ["Did you do the outreach you planned?"]


def test_resume_with_nothing_open_and_when_not_paused():
    chat = after_intake()
    assert chat.says("/resume") == ["You're not on pause, so nothing to resume."]
    chat.says("/pause")
    assert chat.says("/resume") == ["Welcome back! I'll pick up your check-ins from here."]


def test_pause_before_consent_is_refused():
    chat = Chat()
    chat.start("intake")
    assert chat.says("/pause") == [
        "Let's finish getting you started first; you can pause after that."]
    assert chat.status == "consent"


# --- /progress, /privacy, /schedule, /start -------------------------------------------------


def test_progress_is_an_event_for_the_handler_to_answer():
    chat = in_checkin()
    assert chat.says("/progress") == []
    assert [e.kind for e in chat.last.events] == ["progress_requested"]
    assert chat.asked == "confidence"


def test_privacy_shows_the_program_s_statement():
    chat = in_checkin()
    replies = chat.says("/privacy")
    assert replies == [chat.program.privacy.statement.strip() + "\n\n" + PRIVACY_RIGHTS]
    assert [e.kind for e in chat.last.events] == ["privacy_requested"]


@pytest.mark.parametrize(("typed", "day", "at", "said"), [
    ("/schedule tue 18:30", "tue", "18:30", "every Tuesday at 18:30"),
    ("/schedule Friday 7", "fri", "07:00", "every Friday at 07:00"),
    ("/schedule sun 18h30", "sun", "18:30", "every Sunday at 18:30"),
    ("/schedule wed 9.15", "wed", "09:15", "every Wednesday at 09:15"),
    ("/schedule 18:30 tue", "tue", "18:30", "every Tuesday at 18:30"),  # the time first is fine
    ("/schedule thurs 6:30pm", "thu", "18:30", "every Thursday at 18:30"),
])
def test_schedule_changes_the_checkin_day_and_time(typed, day, at, said):
    chat = after_intake()
    assert chat.says(typed) == [f"Done: your weekly check-in is now {said}."]
    assert [(e.kind, e.data) for e in chat.last.events] == [
        ("schedule_changed", {"day": day, "time": at})]


@pytest.mark.parametrize("typed", ["/schedule", "/schedule someday", "/schedule tue 25:00",
                                   "/schedule tue", "/schedule tue 18:75", "/schedule 18:30",
                                   "/schedule tue 13pm"])
def test_a_bad_schedule_shows_the_current_one_and_an_example(typed):
    chat = after_intake()
    assert chat.says(typed) == ["Your check-in is on Monday at 09:00. To change it, send the "
                                "day and time, for example: /schedule Tue 18:30"]
    assert chat.last.events == ()


def test_start_again_re_asks_the_open_question():
    chat = in_checkin()
    assert chat.says("/start") == ["You're already with us. Here's where we were:\n"
                                   "How confident do you feel about your goal this week? "
                                   "(1-10: 1 = stuck, 10 = flying)"]


def test_a_message_with_nothing_open_points_to_checkin():
    assert after_intake().says("hello?") == [
        "There's nothing to answer right now. Your next check-in comes on Monday at 09:00; "
        "send /checkin to do it now, or /help to see what I can do."]


# --- buttons --------------------------------------------------------------------------------


def test_a_stale_button_press_changes_nothing():
    chat = in_checkin()
    chat.presses("8")
    assert chat.asked == "revenue"
    before = chat.flow_state
    assert chat.presses("3", question="confidence") == []
    assert chat.last.stale and chat.last.answers == ()
    assert chat.flow_state == before
    assert chat.flow_state.answers == {"confidence": 8}


def test_a_button_for_the_open_question_is_the_answer():
    chat = in_checkin()
    for typed in ["8", "2500", "yes"]:
        chat.says(typed)
    assert chat.presses("hiring", question="focus")[0].startswith("Anything you'd like")
    assert chat.last.answers[0].value == "hiring" and not chat.last.stale


def test_a_conversation_whose_version_is_lost_carries_on_from_the_next_question_left():
    chat = in_checkin()
    assert any("What got in the way" in r for r in chat.says("3"))
    chat.program = parse_program(revised_sample_text(), "revised.yaml")
    replies = chat.says("clients went quiet")
    assert replies == ["The program has changed since I asked that, so let's carry on from "
                       "here:\nWhat revenue did you bring in this week? (EUR)"]
    assert chat.asked == "revenue_eur"
    assert chat.flow_state is not None and chat.flow_state.answers == {"confidence": 3}
    chat.says("2500")
    assert chat.answers[-1].question == "revenue_eur"


def test_a_conversation_whose_flow_is_gone_closes_and_says_so():
    chat = in_checkin()
    chat.flow_state = chat.flow_state.model_copy(update={"flow": "old_flow"})
    replies = chat.says("7")
    assert "no longer part of it" in replies[0]
    assert chat.flow_state is None and chat.events[-1] == "flow_abandoned"
