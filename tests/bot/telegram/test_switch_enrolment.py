"""An enrolled Telegram chat that opens someone else's invite link is asked first, with
buttons that fit Telegram's callback data. Real PTB, the fake Bot API."""

from __future__ import annotations

from sqlmodel import select

from services import invites
from storage.db import session
from storage.models import Enrolment
from tests.bot.telegram.conftest import consented_on_telegram


def test_an_enrolled_chat_opening_another_invite_link_moves_only_after_yes(
        app, enrol, run_bot, telegram_user, telegram_api):
    ana = consented_on_telegram(run_bot, enrol, telegram_user)
    ben = enrol("Ben Ode", join=False)
    assert ana.sends(f"/start {ben.enrolled.code}") == [invites.SWITCH_ASK]
    keyboard = ana.latest_keyboard()["reply_markup"]["inline_keyboard"]
    assert [b["text"] for row in keyboard for b in row] == [invites.SWITCH_YES,
                                                            invites.SWITCH_NO]
    assert ana.presses(invites.SWITCH_NO) == [invites.KEPT_TEXT]
    with session(app.db) as s:
        assert s.get(Enrolment, ben.enrolled.enrolment_id).status == "invited"
    ana.sends(f"/start {ben.enrolled.code}")
    assert ana.presses(invites.SWITCH_YES)  # Ben's consent question, in this chat now
    with session(app.db) as s:
        moved = s.exec(select(Enrolment).where(
            Enrolment.id == ben.enrolled.enrolment_id)).one()
    assert moved.status == "consent"
