"""A client on Telegram, end to end over the real Bot API wire format: join by deep link,
consent, intake, a weekly check-in by buttons and text; and a restart in the middle."""

from __future__ import annotations

from sqlmodel import select

from storage import conversation_store as convs
from storage.db import session
from storage.models import Answer, Consent, Enrolment, Identity, OutboxMessage
from tests.bot.telegram.bot_process import until


def test_client_joins_by_deep_link_then_does_intake_and_a_checkin(
        app, enrol, run_bot, telegram_user, telegram_api):
    run_bot()
    code = enrol("Ana Lima", join=False).enrolled.code
    ana = telegram_user(4242)

    replies = ana.sends(f"/start {code}")  # what the t.me/<bot>?start=<code> link sends
    assert "welcome to Grow" in replies[0]
    assert "Are you happy to go ahead" in replies[-1]
    consent = ana.latest_keyboard()
    assert [b["text"] for b in consent["reply_markup"]["inline_keyboard"][0]] == ["Yes", "No"]

    assert any("In your own words" in r for r in ana.presses("Yes"))
    # The pressed question now reads as a record: the choice shown, the keyboard gone (the
    # edit follows the press's answer, so it may land just after the replies).
    def record(_calls):
        shown = telegram_api.message(4242, consent["message_id"])
        return shown if shown and "reply_markup" not in shown else None

    shown = telegram_api.wait_for(record)
    assert shown["text"].endswith("✓ Yes") and "reply_markup" not in shown
    assert telegram_api.calls_of("answerCallbackQuery")[-1].get("text") is None

    dialogue = [
        (ana.sends, "Double my revenue", "monthly revenue today"),
        (ana.sends, "12,000", "How confident are you"),
        (ana.presses, "6", "How many hours"),
        (ana.sends, "10", "first coaching session"),
        (ana.sends, "/skip", "first weekly check-in is ready"),
        (ana.sends, "/checkin", "How confident do you feel"),
        (ana.presses, "8", "What revenue"),
        (ana.sends, "€2,500", "Did you do the outreach"),
        (ana.presses, "Yes", "Where will you put"),
        (ana.presses, "Sales", "Anything you'd like your coach to know"),
        (ana.sends, "all good", "Thanks, Ana!"),
    ]
    for act, given, expected in dialogue:
        replies = act(given)
        assert any(expected in r for r in replies), (given, replies)

    with session(app.db) as s:
        enrolment = s.exec(select(Enrolment)).one()
        assert enrolment.status == "active"
        assert s.exec(select(Consent)).one().given is True
        identity = s.exec(select(Identity).where(Identity.channel == "telegram")).one()
        assert identity.address == "4242"
        checkin = {a.question_id: a.value["v"]
                   for a in convs.answers_of(s, enrolment.id, "weekly_checkin")}
        assert checkin == {"confidence": 8, "revenue": 2500, "did_outreach": True,
                           "focus": "sales", "note": "all good"}
        # Every message sent carries the Telegram message id it got.
        sent = s.exec(select(OutboxMessage).where(OutboxMessage.channel == "telegram")).all()
        assert sent and all(m.status == "sent" and m.platform_message_id for m in sent)
        assert {int(m.platform_message_id) for m in sent} == {
            m["message_id"] for m in ana.received}


def test_the_command_menu_is_registered(run_bot, telegram_api):
    run_bot()
    names = [c["command"] for c in telegram_api.commands()]
    assert names[:10] == ["checkin", "skip", "back", "later", "pause", "resume", "progress",
                          "schedule", "language", "privacy"]
    assert "help" in names


def test_the_command_menu_is_registered_in_each_language(run_bot, telegram_api):
    run_bot()
    # The menus are set one language after another in the background; Portuguese is last.
    until(lambda: telegram_api.commands(language_code="pt"), "the Portuguese menu")
    menus = {code: {c["command"]: c["description"] for c in telegram_api.commands(
        language_code=code)} for code in ("", "de", "es", "fr", "pt")}
    assert menus[""]["pause"] == "pause all check-ins (holidays)"
    assert menus["de"]["pause"] == "alle Check-ins pausieren (Urlaub)"
    assert menus["es"]["language"] == "elegir el idioma en que te hablo"
    assert menus["fr"]["progress"] == "voir votre progression"
    assert menus["pt"]["delete"] == "apagar seus dados"
    # The commands keep their English names in every language.
    assert all(list(menu) == list(menus[""]) for menu in menus.values())


def test_a_restart_in_the_middle_of_a_checkin_resumes_where_it_stopped(
        app, enrol, run_bot, telegram_user):
    bot = run_bot()
    code = enrol("Ana Lima", join=False).enrolled.code
    ana = telegram_user(4242)
    ana.sends(f"/start {code}")
    ana.presses("Yes")
    for typed in ["Double my revenue", "12000"]:
        ana.sends(typed)
    ana.presses("6")
    ana.sends("10")
    ana.sends("/skip")
    ana.sends("/checkin")
    ana.presses("3")
    assert "What got in the way" in ana.received[-1]["text"]

    bot.stop()
    run_bot()

    assert any("What revenue" in r for r in ana.sends("clients went quiet"))
    assert any("Did you do the outreach" in r for r in ana.sends("900"))
    with session(app.db) as s:
        answers = {a.question_id: a.value["v"] for a in convs.answers_of(
            s, s.exec(select(Enrolment)).one().id, "weekly_checkin")}
    assert answers == {"confidence": 3, "blocker": "clients went quiet", "revenue": 900}


def test_a_stranger_a_bad_code_and_a_used_code_get_the_join_instructions(
        app, enrol, run_bot, telegram_user):
    run_bot()
    code = enrol("Ana Lima", join=False).enrolled.code
    telegram_user(4242).sends(f"/start {code}")
    stranger = telegram_user(777, "Bo")
    for text in ["hello", "/start", "/start NOTACODE", f"/start {code}"]:
        replies = stranger.sends(text)
        assert len(replies) == 1 and "ask your coach" in replies[0], text
    with session(app.db) as s:
        assert [i.address for i in s.exec(select(Identity))] == ["4242"]
        assert s.exec(select(Answer)).all() == []


def test_when_telegram_refuses_the_command_menu_the_bot_serves_all_the_same(
        enrol, run_bot, telegram_user, telegram_api):
    telegram_api.fail_next("setMyCommands", status=500, times=100)
    run_bot()
    code = enrol("Ana Lima", join=False).enrolled.code

    replies = telegram_user(4242).sends(f"/start {code}")

    assert "welcome to Grow" in replies[0]
    assert telegram_api.commands() == []
