"""Prove the fakes speak the wire formats the real python-telegram-bot and slack_sdk expect."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import urllib.parse
import warnings
from collections.abc import Iterator

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageEntity,
    Update,
)
from telegram.error import BadRequest, EndPointNotFound, Forbidden, NetworkError, RetryAfter
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.warnings import PTBDeprecationWarning

from .slack_api import (
    FakeSlackAPI,
    block_actions_payload,
    event_callback,
    message_event,
    sign_request,
    slash_command_body,
    view_submission_payload,
)
from .telegram_api import FakeTelegramAPI

TOKEN = "123456:TEST-token"
SIGNING_SECRET = "test-signing-secret"


@pytest.fixture
def telegram_api() -> Iterator[FakeTelegramAPI]:
    # Flood limits off: these tests check wire shapes and call one chat back to back; the
    # limits have their own tests below.
    # Chat 42 started the bot before these tests look (a bot cannot write first).
    with FakeTelegramAPI(token=TOKEN, flood_limits=False, chats=(42,)) as api:
        yield api


@pytest.fixture
def slack_api() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI(channels=("C1",), users=("U1", "U7")) as api:
        yield api


def _bot(api: FakeTelegramAPI) -> Bot:
    return Bot(TOKEN, base_url=api.bot_base_url, base_file_url=api.file_base_url)


def _seconds(value: int | float | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# ---------------------------------------------------------------------- Telegram


def test_telegram_bot_methods(telegram_api: FakeTelegramAPI) -> None:
    yes, no = (InlineKeyboardButton(t, callback_data=t.lower()) for t in ("Yes", "No"))
    pressed = telegram_api.inject_callback(42, "yes", 1)["callback_query"]["id"]
    keyboard = InlineKeyboardMarkup([[yes, no]])

    async def scenario() -> None:
        async with _bot(telegram_api) as bot:
            me = await bot.get_me()
            assert (me.id, me.username, me.is_bot) == (123456, "coachbot_test_bot", True)

            sent = await bot.send_message(chat_id=42, text="Hello", reply_markup=keyboard)
            assert (sent.message_id, sent.chat.id, sent.chat.type) == (1, 42, "private")
            assert sent.from_user is not None and sent.from_user.id == me.id
            assert sent.reply_markup == keyboard

            edited = await bot.edit_message_text("Updated", chat_id=42, message_id=1)
            assert isinstance(edited, type(sent))
            assert edited.text == "Updated" and edited.reply_markup is None
            assert edited.edit_date is not None
            with pytest.raises(BadRequest, match="not modified"):
                await bot.edit_message_text("Updated", chat_id=42, message_id=1)
            restored = await bot.edit_message_reply_markup(42, 1, reply_markup=keyboard)
            assert not isinstance(restored, bool) and restored.reply_markup == keyboard

            assert await bot.answer_callback_query(pressed, text="Thanks") is True
            with pytest.raises(BadRequest, match=r"(?i)query is too old"):
                await bot.answer_callback_query("777")  # a press Telegram never handed out
            commands = [BotCommand("start", "Start over"), BotCommand("digest", "Weekly digest")]
            assert await bot.set_my_commands(commands) is True
            assert tuple(await bot.get_my_commands()) == tuple(commands)

            csv = b"a,b\n1,2\n"
            doc = await bot.send_document(42, csv, filename="report.csv", caption="Report")
            assert doc.document is not None and doc.document.file_name == "report.csv"
            assert doc.caption == "Report" and doc.message_id == 2
            file = await bot.get_file(doc.document.file_id)
            assert bytes(await file.download_as_bytearray()) == csv

            with pytest.raises(EndPointNotFound):
                await bot.do_api_request("noSuchMethod")

    asyncio.run(scenario())

    (message,) = telegram_api.sent_messages(chat_id=42)
    assert message["chat_id"] == 42 and message["text"] == "Hello" and message["message_id"] == 1
    assert message["reply_markup"] == keyboard.to_dict()
    assert telegram_api.calls_of("answerCallbackQuery") == [
        {"callback_query_id": pressed, "text": "Thanks"}, {"callback_query_id": "777"}
    ]
    assert [c["command"] for c in telegram_api.commands()] == ["start", "digest"]
    upload = telegram_api.calls_of("sendDocument")[0]["document"]
    assert (upload.filename, upload.data) == ("report.csv", b"a,b\n1,2\n")


def test_telegram_get_updates(telegram_api: FakeTelegramAPI) -> None:
    async def scenario() -> None:
        async with _bot(telegram_api) as bot:
            go = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
            prompt = await bot.send_message(42, "Ready?", reply_markup=go)
            telegram_api.inject_message(42, "/start abc", username="ana")
            telegram_api.inject_callback(42, "go", prompt.message_id)

            updates = await bot.get_updates(timeout=1)
            assert [type(u) for u in updates] == [Update, Update]
            command, press = updates
            assert command.message is not None and command.message.text == "/start abc"
            assert command.message.chat.id == 42 and command.message.message_id == 2
            assert command.message.from_user is not None
            assert command.message.from_user.username == "ana"
            assert command.message.parse_entities([MessageEntity.BOT_COMMAND]) != {}
            query = press.callback_query
            assert query is not None and query.data == "go" and query.from_user.id == 42
            assert query.message is not None and query.message.message_id == prompt.message_id
            assert query.message.chat.id == 42 and query.chat_instance

            # Confirming via offset empties the queue; an empty long poll is capped.
            assert await bot.get_updates(offset=press.update_id + 1, timeout=0) == ()

            # A parked long poll wakes up as soon as an update is injected.
            poll = asyncio.create_task(bot.get_updates(offset=press.update_id + 1, timeout=30))
            await asyncio.to_thread(telegram_api.wait_until_polling)
            telegram_api.inject_sticker(42)
            (sticker,) = await poll
            assert sticker.message is not None and sticker.message.sticker is not None

            # allowed_updates filters update types.
            telegram_api.inject_photo(42, caption="meal")
            telegram_api.inject_callback(42, "go", prompt.message_id)
            (only_query,) = await bot.get_updates(
                offset=sticker.update_id + 1, timeout=0, allowed_updates=["callback_query"]
            )
            assert only_query.callback_query is not None

    asyncio.run(scenario())


def test_telegram_failures(telegram_api: FakeTelegramAPI) -> None:
    async def scenario() -> None:
        async with _bot(telegram_api) as bot:
            telegram_api.fail_next("sendMessage", status=429, retry_after=3)
            # PTB 22.2+ itself warns that retry_after will become a timedelta.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                with pytest.raises(RetryAfter) as retry:
                    await bot.send_message(42, "one")
                assert _seconds(retry.value.retry_after) == 3

            telegram_api.fail_chat(99, status=403)
            with pytest.raises(Forbidden, match="bot was blocked by the user"):
                await bot.send_message(99, "hello?")

            telegram_api.fail_next("sendMessage", status=502)
            with pytest.raises(NetworkError, match="Bad Gateway"):
                await bot.send_message(42, "two")

            telegram_api.fail_next("sendMessage", status=400, description="chat not found")
            with pytest.raises(BadRequest, match="Chat not found"):
                await bot.send_message(42, "three")

            assert (await bot.send_message(42, "four")).message_id == 1

    asyncio.run(scenario())
    outcomes = [(call.method, call.status) for call in telegram_api.recorded]
    assert outcomes[-5:] == [
        ("sendMessage", 429),
        ("sendMessage", 403),
        ("sendMessage", 502),
        ("sendMessage", 400),
        ("sendMessage", 200),
    ]
    times = telegram_api.timestamps("sendMessage")
    assert len(times) == 5 and times == sorted(times)


def test_telegram_application_long_polling(telegram_api: FakeTelegramAPI) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            f"Welcome! code={' '.join(context.args or [])}",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]]),
        )

    async def pressed(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("noted")
        await query.edit_message_text(f"You pressed {query.data}")

    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(telegram_api.bot_base_url)
        .base_file_url(telegram_api.file_base_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(pressed))

    async def scenario() -> None:
        async with application:
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(poll_interval=0, timeout=10)
            telegram_api.inject_message(42, "/start abc")
            (welcome,) = await asyncio.to_thread(telegram_api.wait_for_sent, 1, 42)
            telegram_api.inject_callback(42, "ok", welcome["message_id"])
            await asyncio.to_thread(telegram_api.wait_for_call, "editMessageText")
            await application.updater.stop()
            await application.stop()

    asyncio.run(scenario())
    assert telegram_api.sent_messages(42)[0]["text"] == "Welcome! code=abc"
    assert telegram_api.calls_of("answerCallbackQuery")[0]["text"] == "noted"
    welcome_id = telegram_api.sent_messages(42)[0]["message_id"]
    assert welcome_id == 2, "message ids are per chat and shared with the user's /start"
    edited = telegram_api.message(42, welcome_id)
    assert edited is not None and edited["text"] == "You pressed ok"
    assert "reply_markup" not in edited, "editMessageText without markup drops the keyboard"
    assert telegram_api.calls_of("deleteWebhook"), "PTB clears the webhook before polling"


# ---------------------------------------------------------------------- Slack


def test_slack_web_client(slack_api: FakeSlackAPI) -> None:
    client = WebClient(token="xoxb-test", base_url=slack_api.base_url)
    auth = client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("UBOT", "BBOT", "T1")

    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Weekly check-in*"}}]
    posted = client.chat_postMessage(channel="C1", text="check-in", blocks=blocks, thread_ts="1.2")
    assert posted["channel"] == "C1" and posted["message"]["thread_ts"] == "1.2"
    assert posted["message"]["blocks"] == blocks
    second = client.chat_postMessage(channel="U7", text="dm")
    assert second["channel"] == "DU7" and float(second["ts"]) > float(posted["ts"])

    updated = client.chat_update(channel="C1", ts=posted["ts"], text="done", blocks=[])
    assert updated["text"] == "done" and updated["ts"] == posted["ts"]
    opened = client.conversations_open(users="U7")
    assert opened["channel"]["id"] == "DU7"
    user = client.users_info(user="U7")["user"]
    assert user["tz"] == "Europe/Berlin" and user["real_name"]
    assert client.reactions_add(channel="C1", timestamp=posted["ts"], name="white_check_mark")["ok"]
    assert client.chat_postEphemeral(channel="C1", user="U7", text="psst")["message_ts"]

    upload = client.files_upload_v2(channel="C1", content="a,b\n", filename="digest.csv")
    stored = slack_api.uploaded_file(upload["file"]["id"])
    assert stored is not None and stored["data"] == b"a,b\n"

    first, dm = slack_api.posted_messages()
    assert first["blocks"] == blocks and first["thread_ts"] == "1.2" and first["ts"] == posted["ts"]
    assert slack_api.posted_messages("DU7") == [dm] == slack_api.posted_messages("U7")
    assert {call.token for call in slack_api.recorded if call.method != "upload"} == {"xoxb-test"}
    assert slack_api.calls_of("conversations.open") == [{"users": "U7"}]


def test_slack_failures(slack_api: FakeSlackAPI) -> None:
    client = WebClient(token="xoxb-test", base_url=slack_api.base_url)
    with pytest.raises(SlackApiError) as failed:  # a channel the workspace does not have
        client.chat_postMessage(channel="C404", text="hi")
    assert failed.value.response["error"] == "channel_not_found"

    with pytest.raises(SlackApiError) as invalid:
        client.chat_postMessage(channel="C1", text="x", blocks=[{"text": "no type"}])
    assert invalid.value.response["error"] == "invalid_blocks"

    slack_api.server_error_next("chat.postMessage", status=500)
    with pytest.raises(SlackApiError) as crashed:
        client.chat_postMessage(channel="C1", text="hi")
    assert crashed.value.response.status_code == 500

    slack_api.rate_limit_next("chat.postMessage", retry_after=0)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    assert client.chat_postMessage(channel="C1", text="after retry")["ok"]
    statuses = [call.status for call in slack_api.recorded if call.method == "chat.postMessage"]
    assert statuses == [200, 200, 500, 429, 200]
    assert [m["text"] for m in slack_api.posted_messages()] == ["after retry"]


def test_bolt_with_signed_requests(slack_api: FakeSlackAPI) -> None:
    client = WebClient(token="xoxb-test", base_url=slack_api.base_url)
    app = App(client=client, signing_secret=SIGNING_SECRET, process_before_response=True)

    @app.message("hello")
    def greet(message: dict, say) -> None:  # type: ignore[no-untyped-def]
        say(text=f"Hi <@{message['user']}>", thread_ts=message["ts"])

    @app.action("approve")
    def approve(ack, body, client) -> None:  # type: ignore[no-untyped-def]
        ack()
        client.chat_update(
            channel=body["channel"]["id"], ts=body["container"]["message_ts"], text="Approved"
        )

    @app.command("/coachbot")
    def command(ack, command) -> None:  # type: ignore[no-untyped-def]
        ack(f"running {command['text']}")

    event = message_event("U1", "hello there", "DU1")
    body = json.dumps(event_callback(event)).encode()
    headers = {**sign_request(SIGNING_SECRET, body), "Content-Type": "application/json"}
    response = app.dispatch(BoltRequest(body=body.decode(), headers=headers))
    assert response.status == 200
    (reply,) = slack_api.wait_for_posted(1, channel="DU1")
    assert reply["text"] == "Hi <@U1>" and reply["thread_ts"] == event["ts"]

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    click = block_actions_payload("U1", "approve", "yes", "DU1", reply["ts"])
    response = app.dispatch(
        BoltRequest(body=click.decode(), headers={**sign_request(SIGNING_SECRET, click), **form})
    )
    assert response.status == 200
    assert slack_api.wait_for_call("chat.update")[0]["text"] == "Approved"

    slash = slash_command_body(text="digest")
    response = app.dispatch(
        BoltRequest(body=slash.decode(), headers={**sign_request(SIGNING_SECRET, slash), **form})
    )
    assert response.status == 200 and response.body == "running digest"  # ack(str) is plain

    forged = {**sign_request("wrong-secret", slash), **form}
    assert app.dispatch(BoltRequest(body=slash.decode(), headers=forged)).status == 401


# ---------------------------------------------------------------------- strictness and limits


def test_the_slack_fake_refuses_a_wrong_token_with_invalid_auth(slack_api: FakeSlackAPI) -> None:
    wrong = WebClient(token="xoxb-someone-else", base_url=slack_api.base_url)
    with pytest.raises(SlackApiError) as refused:
        wrong.chat_postMessage(channel="C1", text="hi")
    assert refused.value.response["error"] == "invalid_auth"
    assert slack_api.posted_messages() == []


def test_the_slack_fake_knows_only_the_channels_and_users_it_was_given(
        slack_api: FakeSlackAPI) -> None:
    client = WebClient(token="xoxb-test", base_url=slack_api.base_url)
    for call, error in [
        (lambda: client.chat_postMessage(channel="CUNKNOWN", text="hi"), "channel_not_found"),
        (lambda: client.chat_postMessage(channel="UNOBODY", text="hi"), "channel_not_found"),
        (lambda: client.users_info(user="UNOBODY"), "user_not_found"),
        (lambda: client.conversations_open(users="UNOBODY"), "user_not_found"),
        (lambda: client.chat_postEphemeral(channel="C1", user="UNOBODY", text="x"),
         "user_not_found"),
    ]:
        with pytest.raises(SlackApiError) as refused:
            call()
        assert refused.value.response["error"] == error
    slack_api.add_channel("C2")
    slack_api.add_user("U9")
    assert client.chat_postMessage(channel="C2", text="hi")["ok"]
    assert client.chat_postMessage(channel="U9", text="hi")["channel"] == "DU9"


def test_the_slack_fake_answers_429_past_a_channels_burst_and_the_workspaces_minute() -> None:
    from .slack_api import SlackLimits

    limits = SlackLimits(per_channel=3, period=60.0, overall=5)
    with FakeSlackAPI(channels=("C1", "C2", "C3"), limits=limits) as api:
        client = WebClient(token="xoxb-test", base_url=api.base_url)
        for _ in range(3):
            client.chat_postMessage(channel="C1", text="burst")
        with pytest.raises(SlackApiError) as limited:
            client.chat_postMessage(channel="C1", text="one too many")
        assert limited.value.response.status_code == 429
        assert int(limited.value.response.headers["Retry-After"]) >= 1
        # Another channel still has room, until the workspace's minute is used up.
        client.chat_postMessage(channel="C2", text="elsewhere")
        client.chat_postMessage(channel="C3", text="elsewhere")
        with pytest.raises(SlackApiError) as overall:
            client.chat_postMessage(channel="C3", text="the sixth")
        assert overall.value.response.status_code == 429
        assert api.rate_limited() == 2 and len(api.posted_messages()) == 5


def test_the_slack_fake_limits_by_default() -> None:
    with FakeSlackAPI(channels=("C1",)) as api:
        client = WebClient(token="xoxb-test", base_url=api.base_url)
        statuses = []
        for _ in range(api.limits.per_channel + 1):  # type: ignore[union-attr]
            try:
                statuses.append(client.chat_postMessage(channel="C1", text="x").status_code)
            except SlackApiError as error:
                statuses.append(error.response.status_code)
        assert statuses[-1] == 429 and set(statuses[:-1]) == {200}


def test_a_held_slack_answer_comes_only_when_released(slack_api: FakeSlackAPI) -> None:
    import threading

    client = WebClient(token="xoxb-test", base_url=slack_api.base_url)
    answered = threading.Event()

    def post() -> None:
        client.chat_postMessage(channel="C1", text="slow")
        answered.set()

    with slack_api.hold("chat.postMessage") as gate:
        worker = threading.Thread(target=post)
        worker.start()
        assert not answered.wait(0.2)  # held: no answer, nothing recorded yet
        assert slack_api.calls_of("chat.postMessage") == []
        gate.set()
        worker.join(10)
    assert answered.is_set() and len(slack_api.posted_messages()) == 1


def test_the_telegram_fake_refuses_a_wrong_token_with_401() -> None:
    async def scenario(api: FakeTelegramAPI) -> None:
        async with Bot("999:other-token", base_url=api.bot_base_url) as bot:
            await bot.send_message(42, "hi")

    with FakeTelegramAPI() as api, pytest.raises(Exception, match=r"(?i)unauthorized|token"):
        asyncio.run(scenario(api))


def test_the_telegram_fake_answers_429_past_one_message_a_second_in_a_chat() -> None:
    async def scenario(telegram_api: FakeTelegramAPI) -> None:
        async with _bot(telegram_api) as bot:
            await bot.send_message(42, "first")
            with pytest.raises(RetryAfter):
                await bot.send_message(42, "second, in the same second")
            await bot.send_message(43, "another chat is fine")

    with FakeTelegramAPI(token=TOKEN, chats=(42, 43)) as telegram_api:  # the default limits
        asyncio.run(scenario(telegram_api))
        assert telegram_api.flood_errors() == 1


def test_the_telegram_fake_answers_429_past_the_bots_overall_limit(
        telegram_api: FakeTelegramAPI) -> None:
    # Over a minute rather than a second, so a slow machine cannot spread the sends out.
    telegram_api.enforce_flood_limits(overall=3, per_chat=10, period=60.0)
    telegram_api.add_chat(1, 2, 3, 4)

    async def scenario() -> None:
        async with _bot(telegram_api) as bot:
            for chat in (1, 2, 3):
                await bot.send_message(chat, "hello")
            with pytest.raises(RetryAfter):
                await bot.send_message(4, "one too many for the bot")

    asyncio.run(scenario())
    assert telegram_api.flood_errors() == 1


def test_the_telegram_fake_refuses_a_chat_that_never_wrote_to_the_bot() -> None:
    async def scenario(api: FakeTelegramAPI) -> None:
        async with _bot(api) as bot:
            with pytest.raises(BadRequest, match=r"(?i)chat not found"):
                await bot.send_message(77, "hello, stranger")
            api.inject_message(77, "/start")
            assert (await bot.send_message(77, "hello")).chat.id == 77

    with FakeTelegramAPI(token=TOKEN) as api:
        asyncio.run(scenario(api))


def test_the_slack_fake_opens_a_modal_once_per_trigger_and_builds_its_submission(
        slack_api: FakeSlackAPI) -> None:
    client = WebClient(token="xoxb-test", base_url=slack_api.base_url)
    modal = {"type": "modal", "callback_id": "form", "private_metadata": "7",
             "title": {"type": "plain_text", "text": "Session notes"},
             "submit": {"type": "plain_text", "text": "Send"},
             "blocks": [{"type": "input", "block_id": "note", "label": {
                 "type": "plain_text", "text": "Note"}, "element": {
                 "type": "plain_text_input", "action_id": "value"}},
                        {"type": "input", "block_id": "due", "label": {
                            "type": "plain_text", "text": "Due"}, "element": {
                            "type": "datepicker", "action_id": "value"}}]}
    opened = client.views_open(trigger_id="1.1.fake", view=modal)["view"]
    assert opened["id"].startswith("V") and slack_api.opened_views() == [opened]
    with pytest.raises(SlackApiError) as again:  # Slack takes each trigger_id once
        client.views_open(trigger_id="1.1.fake", view=modal)
    assert again.value.response["error"] == "exchanged_trigger_id"
    for wrong in ({**modal, "title": {"type": "plain_text", "text": "A title far too long "
                                                                     "for Slack"}},
                  {key: value for key, value in modal.items() if key != "submit"},
                  {**modal, "type": "home"}):
        with pytest.raises(SlackApiError) as refused:
            client.views_open(trigger_id="2.2.fake", view=wrong)
        assert refused.value.response["error"] == "invalid_arguments"
    with pytest.raises(SlackApiError) as untriggered:
        client.views_open(trigger_id="", view=modal)
    assert untriggered.value.response["error"] == "invalid_arguments"

    body = view_submission_payload("U1", opened, {"note": "hi", "due": "2026-03-06"})
    payload = json.loads(urllib.parse.parse_qs(body.decode())["payload"][0])
    assert payload["type"] == "view_submission"
    assert payload["view"]["state"]["values"] == {
        "note": {"value": {"type": "plain_text_input", "value": "hi"}},
        "due": {"value": {"type": "datepicker", "selected_date": "2026-03-06"}}}
