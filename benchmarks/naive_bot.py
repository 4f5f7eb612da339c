"""A naive python-telegram-bot build of the sample program's weekly check-in, for comparison.

Written the way a typical PTB developer would, after PTB's own `conversationbot.py` example:
a `ConversationHandler` with one state per question, answers parsed the simple way, reply
keyboards for the fixed choices, `PicklePersistence` with its defaults, and one SQLModel
session and commit per answer into one plain table. The questions are those of the weekly
check-in in bot/programs/business-coaching-12w.yaml. Not part of coachbot: used by
benchmarks/peer_ptb.py only, and deliberately not optimised.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Field, Session, SQLModel, create_engine
from telegram import ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import (
    Application,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)

CONFIDENCE, BLOCKER, REVENUE, OUTREACH, FOCUS, NOTE = range(6)

INTRO = "Weekly check-in. Five quick questions."
CONFIDENCE_Q = "How confident do you feel about your goal this week?"
BLOCKER_Q = "Sorry to hear that. What got in the way?"
REVENUE_Q = "What revenue did you bring in this week?"
OUTREACH_Q = "Did you do the outreach you planned?"
FOCUS_Q = "Where will you put most of your energy next week?"
NOTE_Q = "Anything you'd like your coach to know?"
OUTRO = "Thanks, {name}! Your coach will see this in tomorrow's digest."
FOCUS_OPTIONS = ["Sales", "Product", "Operations", "Hiring"]

engine: Engine | None = None  # set by build_application


class CheckinAnswer(SQLModel, table=True):
    """One answer of one weekly check-in."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(index=True)
    question: str
    value: str
    answered_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def default_engine(path: str) -> Engine:
    """A SQLite file with SQLModel's defaults (rollback journal, synchronous=FULL)."""
    return create_engine(f"sqlite:///{path}")


def save_answer(user_id: int, question: str, value: object) -> None:
    with Session(engine) as session:
        session.add(CheckinAnswer(user_id=user_id, question=question, value=str(value)))
        session.commit()


async def checkin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    context.user_data["checkin"] = {}
    await update.message.reply_text(INTRO)
    await update.message.reply_text(
        CONFIDENCE_Q + " (1 = stuck, 10 = flying)",
        reply_markup=ReplyKeyboardMarkup([[str(n) for n in range(1, 11)]],
                                         one_time_keyboard=True))
    return CONFIDENCE


async def confidence(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    try:
        score = int(update.message.text)
    except ValueError:
        score = 0
    if not 1 <= score <= 10:
        await update.message.reply_text("Please send a number from 1 to 10.")
        return CONFIDENCE
    save_answer(update.effective_user.id, "confidence", score)
    context.user_data["checkin"]["confidence"] = score
    if score < 5:
        await update.message.reply_text(BLOCKER_Q, reply_markup=ReplyKeyboardRemove())
        return BLOCKER
    await update.message.reply_text(REVENUE_Q, reply_markup=ReplyKeyboardRemove())
    return REVENUE


async def blocker(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    text = update.message.text[:1000]
    save_answer(update.effective_user.id, "blocker", text)
    context.user_data["checkin"]["blocker"] = text
    await update.message.reply_text(REVENUE_Q)
    return REVENUE


async def revenue(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    try:
        amount = float(update.message.text.replace(",", "").replace("€", "").strip())
    except ValueError:
        amount = -1
    if amount < 0:
        await update.message.reply_text("Please send the amount as a number, e.g. 2500.")
        return REVENUE
    save_answer(update.effective_user.id, "revenue", amount)
    context.user_data["checkin"]["revenue"] = amount
    await update.message.reply_text(
        OUTREACH_Q, reply_markup=ReplyKeyboardMarkup([["Yes", "No"]], one_time_keyboard=True))
    return OUTREACH


async def outreach(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    text = update.message.text.strip().lower()
    if text not in ("yes", "y", "no", "n"):
        await update.message.reply_text("Please answer yes or no.")
        return OUTREACH
    done = text.startswith("y")
    save_answer(update.effective_user.id, "did_outreach", done)
    context.user_data["checkin"]["did_outreach"] = done
    await update.message.reply_text(
        FOCUS_Q, reply_markup=ReplyKeyboardMarkup([FOCUS_OPTIONS], one_time_keyboard=True))
    return FOCUS


async def focus(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    text = update.message.text.strip().lower()
    if text not in [option.lower() for option in FOCUS_OPTIONS]:
        await update.message.reply_text("Please pick one of: " + ", ".join(FOCUS_OPTIONS))
        return FOCUS
    save_answer(update.effective_user.id, "focus", text)
    context.user_data["checkin"]["focus"] = text
    await update.message.reply_text(NOTE_Q + " (or /skip)", reply_markup=ReplyKeyboardRemove())
    return NOTE


async def note(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    text = update.message.text[:1000]
    save_answer(update.effective_user.id, "note", text)
    context.user_data["checkin"]["note"] = text
    await update.message.reply_text(OUTRO.format(name=update.effective_user.first_name))
    return ConversationHandler.END


async def skip_note(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await update.message.reply_text(OUTRO.format(name=update.effective_user.first_name))
    return ConversationHandler.END


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await update.message.reply_text("OK, check-in cancelled.", reply_markup=ReplyKeyboardRemove())
    return ConversationHandler.END


def build_application(token: str, *, base_url: str, persistence_file: str,
                      db_engine: Engine) -> Application:
    """The bot: the check-in conversation, pickled conversation state, the answers table."""
    global engine
    engine = db_engine
    SQLModel.metadata.create_all(engine)
    text = filters.TEXT & ~filters.COMMAND
    conversation = ConversationHandler(
        entry_points=[CommandHandler("checkin", checkin)],
        states={
            CONFIDENCE: [MessageHandler(text, confidence)],
            BLOCKER: [MessageHandler(text, blocker)],
            REVENUE: [MessageHandler(text, revenue)],
            OUTREACH: [MessageHandler(text, outreach)],
            FOCUS: [MessageHandler(text, focus)],
            NOTE: [MessageHandler(text, note), CommandHandler("skip", skip_note)],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        name="weekly_checkin",
        persistent=True,
    )
    application = (Application.builder().token(token).base_url(base_url)
                   .persistence(PicklePersistence(filepath=persistence_file)).build())
    application.add_handler(conversation)
    return application
