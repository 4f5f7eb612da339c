"""A fake Telegram Bot API server speaking the real wire format over HTTP on 127.0.0.1.

Point python-telegram-bot (v22) at it::

    with FakeTelegramAPI() as api:
        bot = Bot(TOKEN, base_url=api.bot_base_url, base_file_url=api.file_base_url)
        # or ApplicationBuilder().token(TOKEN).base_url(api.bot_base_url)
        #                        .base_file_url(api.file_base_url)

PTB requests ``{base_url}{token}/{method}``; with ``base_url=f"{api.url}/bot"`` that is
``/bot{token}/{method}``, which is what this server routes. Form/multipart bodies are decoded
the way PTB encodes them (every non-string value JSON-encoded, e.g. ``reply_markup``).

The server runs in a background thread with its own event loop; everything a test touches
(recorded calls, injected updates, failure plans) is guarded by one lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar, NoReturn

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from .server import JSON, WAIT, FailurePlan, FakeServer, RecordedCallBase, UploadedFile

__all__ = ["FakeTelegramAPI", "RecordedCall", "UploadedFile"]

_Reply = tuple[int, JSON]

#: Update types Telegram delivers when ``allowed_updates`` is empty or was never set.
DEFAULT_ALLOWED_UPDATES: frozenset[str] = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)

# Form fields whose value is a plain string even when it looks like JSON ("123", "true", "[x]").
_STRING_FIELDS: frozenset[str] = frozenset(
    {
        "text",
        "caption",
        "callback_query_id",
        "inline_message_id",
        "url",
        "secret_token",
        "ip_address",
        "parse_mode",
        "language_code",
        "file_id",
        "business_connection_id",
        "message_effect_id",
        "action",
        "emoji",
        "title",
        "description",
        "short_description",
        "name",
        "query",
    }
)

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_MAX_TEXT = 4096
_MAX_CAPTION = 1024

# Canonical method names; Telegram matches method names case-insensitively.
_METHODS: tuple[str, ...] = (
    "getMe",
    "getUpdates",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "deleteMessage",
    "answerCallbackQuery",
    "sendChatAction",
    "setMyCommands",
    "deleteMyCommands",
    "getMyCommands",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "sendDocument",
    "sendPhoto",
    "getFile",
    "close",
    "logOut",
)


@dataclass(frozen=True)
class RecordedCall(RecordedCallBase):
    """One request the fake answered (including failed ones)."""

    token: str
    result: Any = None  # the ``result`` field of a successful answer


# Calls that post or change a message in a chat: what Telegram's flood limits count.
_PACED_METHODS: frozenset[str] = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup"}
)


@dataclass
class _FloodLimits:
    """Telegram's flood limits as a sliding window over the fake's own monotonic clock.

    A message sent with ``allow_paid_broadcast`` may go while fewer than ``paid_overall``
    were accepted in the window (Telegram's paid broadcasts, 1,000/s); the chat's own limit
    stays.
    """

    overall: int
    per_chat: int
    period: float
    accepted: deque[float]
    chats: dict[int | str, deque[float]]
    paid_overall: int = 1000

    def check(self, chat: int | str, now: float, *, paid: bool = False) -> float | None:
        """Seconds until this call would be allowed, or None (and it counts) if it is now."""
        chat_times = self.chats.setdefault(chat, deque())
        for times in (self.accepted, chat_times):
            while times and times[0] <= now - self.period:
                times.popleft()
        overall = self.paid_overall if paid else self.overall
        # The oldest of the last `overall` accepted calls decides when one more may go.
        waits = [times[-limit] + self.period - now
                 for times, limit in ((self.accepted, overall), (chat_times, self.per_chat))
                 if len(times) >= limit]
        if waits:
            return max(waits)
        self.accepted.append(now)
        chat_times.append(now)
        return None


def _ok(result: Any, description: str | None = None) -> _Reply:
    body: JSON = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return HTTPStatus.OK, body


def _error(status: int, description: str, parameters: JSON | None = None) -> _Reply:
    body: JSON = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return status, body


def _bad_request(reason: str) -> _Reply:
    return _error(HTTPStatus.BAD_REQUEST, f"Bad Request: {reason}")


class _Rejected(Exception):
    """Raised by a method handler to answer with a Telegram error."""

    def __init__(self, reply: _Reply) -> None:
        super().__init__(reply[1]["description"])
        self.reply = reply


def _reject(reason: str) -> NoReturn:
    raise _Rejected(_bad_request(reason))


def _default_description(status: int, retry_after: int) -> str:
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return f"Too Many Requests: retry after {retry_after}"
    if status == HTTPStatus.FORBIDDEN:
        return "Forbidden: bot was blocked by the user"
    if status == HTTPStatus.BAD_REQUEST:
        return "Bad Request: chat not found"
    if status == HTTPStatus.CONFLICT:
        return "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"  # noqa: E501
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Error"


def _decode_form_value(key: str, value: str) -> Any:
    """Undo PTB's encoding: strings are sent raw, everything else JSON-encoded."""
    if key in _STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _chat_key(chat_id: Any) -> int | str:
    try:
        return int(chat_id)
    except (TypeError, ValueError):
        return str(chat_id)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _update_type(update: JSON) -> str | None:
    return next((key for key in update if key != "update_id"), None)


def _callback_data_error(markup: Any) -> str | None:
    """Mirror Telegram's validation of inline keyboards (callback_data is 1-64 bytes)."""
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        return 'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
    for row in rows:
        for button in row:
            data = button.get("callback_data") if isinstance(button, dict) else None
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                return "BUTTON_DATA_INVALID"
    return None


class FakeTelegramAPI(FakeServer[RecordedCall]):
    """In-process fake of ``https://api.telegram.org`` for PTB-driven tests.

    Use as a context manager (``with FakeTelegramAPI() as api:``) or call :meth:`start` /
    :meth:`stop`. ``max_poll_wait`` caps how long a long-polling ``getUpdates`` waits for new
    updates, whatever ``timeout`` the client asks for.
    """

    server_name: ClassVar[str] = "FakeTelegramAPI"
    thread_name: ClassVar[str] = "fake-telegram-api"
    quiet_methods: ClassVar[frozenset[str]] = frozenset({"getUpdates"})

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_id: int = 7_000_000_001,
        bot_username: str = "coachbot_test_bot",
        bot_first_name: str = "Coachbot",
        max_poll_wait: float = 1.0,
        webhook_retry: float = 0.3,
        token: str | None = "7000000001:AAtest-token",
        flood_limits: bool = True,
        chats: tuple[int, ...] = (),
    ) -> None:
        super().__init__(host=host, port=port)
        # Like Telegram: another token is 401 Unauthorized (None: any token, for tests of
        # more than one bot).
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.max_poll_wait = max_poll_wait
        self.webhook_retry = webhook_retry
        self._deliveries: list[tuple[int, int]] = []
        self._pusher: asyncio.Task[None] | None = None
        self._push_wake: asyncio.Event | None = None

        self._updates: list[JSON] = []
        self._update_ids = itertools.count(100_000_001)
        self._callback_ids = itertools.count(4_000_000_000_000_000_001)
        self._file_seq = itertools.count(1)
        self._next_message_id: dict[int | str, int] = {}
        self._messages: dict[tuple[int | str, int], JSON] = {}
        self._users: dict[int, JSON] = {}
        self._files: dict[str, tuple[JSON, bytes]] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._webhook: JSON | None = None
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._fail_chats: dict[int | str, FailurePlan] = {}
        # Telegram's limits (30 a second, 1 a second per chat), on unless a test says why it
        # needs them off.
        # Chats that wrote to the bot (or a test declared): a bot cannot write first, and
        # Telegram answers "chat not found" for any other.
        self._chats: set[int | str] = {_chat_key(c) for c in chats}
        # Button presses Telegram handed out; answering another id is refused like Telegram.
        self._callback_queries: set[str] = set()
        self._limits: _FloodLimits | None = (
            _FloodLimits(30, 1, 1.0, deque(), {}) if flood_limits else None)
        self._poll_waiters: list[asyncio.Future[None]] = []
        self._stopping = False
        self._handlers: dict[str, Callable[[str, JSON], _Reply]] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": lambda _t, _p: _ok(True),
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "getFile": self._get_file,
            "close": lambda _t, _p: _ok(True),
            "logOut": lambda _t, _p: _ok(True),
        }
        self._canonical = {name.lower(): name for name in _METHODS}

    # ------------------------------------------------------------------ lifecycle

    @property
    def bot_base_url(self) -> str:
        """Value for PTB's ``base_url`` (``Bot(base_url=...)`` / ``ApplicationBuilder``)."""
        return f"{self.url}/bot"

    @property
    def file_base_url(self) -> str:
        """Value for PTB's ``base_file_url``."""
        return f"{self.url}/file/bot"

    def _on_starting(self) -> None:
        self._stopping = False

    def _on_stopping(self, loop: asyncio.AbstractEventLoop) -> None:
        # Release pending long polls before the loop stops.
        with self._lock:
            self._stopping = True
            pusher = self._pusher
        loop.call_soon_threadsafe(self._wake_pollers)
        if pusher is not None:
            loop.call_soon_threadsafe(pusher.cancel)

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file_download)

    # ------------------------------------------------------------------ recording

    def sent_messages(self, chat_id: int | str | None = None) -> list[JSON]:
        """Params of successful ``sendMessage`` calls plus the assigned ``message_id``."""
        want = None if chat_id is None else _chat_key(chat_id)
        with self._lock:
            return [
                {**call.params, "message_id": call.result["message_id"]}
                for call in self._calls
                if call.method == "sendMessage"
                and call.ok
                and (want is None or _chat_key(call.params.get("chat_id")) == want)
            ]

    def message(self, chat_id: int | str, message_id: int) -> JSON | None:
        """The fake's current copy of a message (as last sent, injected or edited)."""
        with self._lock:
            found = self._messages.get((_chat_key(chat_id), message_id))
            return copy.deepcopy(found)

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """Commands currently set for ``scope`` (default scope if ``None``)."""
        with self._lock:
            return copy.deepcopy(self._commands.get(self._commands_key(scope, language_code), []))

    @property
    def webhook(self) -> JSON | None:
        """The params of the active ``setWebhook``, or ``None``."""
        with self._lock:
            return copy.deepcopy(self._webhook)

    def wait_for_sent(
        self, n: int = 1, chat_id: int | str | None = None, timeout: float = WAIT
    ) -> list[JSON]:
        """Wait until at least ``n`` messages were sent (to ``chat_id``); return them all."""
        return self._wait_for_at_least(n, lambda: self.sent_messages(chat_id), timeout)

    def wait_until_polling(self, timeout: float = WAIT) -> None:
        """Block until a client is parked in a long-polling ``getUpdates``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._poll_waiters:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no getUpdates long poll within {timeout}s")
                self._cond.wait(remaining)

    # ------------------------------------------------------------------ failures

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        description: str | None = None,
        parameters: JSON | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (``"*"`` for any) fail.

        Error bodies follow Telegram: 429 carries ``parameters.retry_after``; 403 is "Forbidden:
        bot was blocked by the user"; 400 "Bad Request: ..."; 5xx the HTTP reason phrase.
        """
        if description is None:
            description = _default_description(status, retry_after)
        elif status == HTTPStatus.BAD_REQUEST and not description.startswith("Bad Request"):
            description = f"Bad Request: {description}"
        elif status == HTTPStatus.FORBIDDEN and not description.startswith("Forbidden"):
            description = f"Forbidden: {description}"
        params = dict(parameters or {})
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            params.setdefault("retry_after", retry_after)
        _status, body = _error(status, description, params or None)
        self._plan_failure(method, FailurePlan(status=status, body=body, remaining=times))

    def fail_chat(
        self, chat_id: int | str, status: int = 403, description: str | None = None
    ) -> None:
        """Fail every call addressed to ``chat_id`` until :meth:`clear_failures`."""
        if description is None:
            description = _default_description(status, 1)
        _status, body = _error(status, description)
        with self._lock:
            self._fail_chats[_chat_key(chat_id)] = FailurePlan(status, body, remaining=-1)

    def clear_failures(self, chat_id: int | str | None = None) -> None:
        """Drop the failure of one chat, or all planned failures when ``chat_id`` is None."""
        with self._lock:
            if chat_id is None:
                self._failures.clear()
                self._fail_chats.clear()
            else:
                self._fail_chats.pop(_chat_key(chat_id), None)

    def enforce_flood_limits(
        self, overall: int = 30, per_chat: int = 1, period: float = 1.0,
        paid_overall: int = 1000,
    ) -> None:
        """Answer 429 like Telegram when a message would exceed ``overall`` per ``period``
        for the whole bot or ``per_chat`` per ``period`` in one chat (on by default with
        these values; ``flood_limits=False`` or :meth:`lift_flood_limits` turns them off).

        Counted over a sliding window of arrival times (this server's ``time.monotonic()``);
        only accepted calls of the message-posting methods count. ``retry_after`` is the
        whole seconds until the call would have been accepted. :meth:`flood_errors` counts
        the 429s given. Messages sent with ``allow_paid_broadcast`` count against
        ``paid_overall`` instead of ``overall`` (Telegram's paid broadcasts).
        """
        with self._lock:
            self._limits = _FloodLimits(overall, per_chat, period, deque(), {}, paid_overall)

    def lift_flood_limits(self) -> None:
        """Turn the flood limits off; a test that does so says why it needs to."""
        with self._lock:
            self._limits = None

    def flood_errors(self) -> int:
        """How many calls were answered 429 by the flood limits (or by ``fail_next``)."""
        with self._lock:
            return sum(1 for c in self._calls if c.status == HTTPStatus.TOO_MANY_REQUESTS)

    def _check_flood(self, method: str, params: JSON, arrived: float) -> _Reply | None:
        chat = params.get("chat_id")
        if self._limits is None or method not in _PACED_METHODS or chat is None:
            return None
        paid = params.get("allow_paid_broadcast") is True
        wait = self._limits.check(_chat_key(chat), arrived, paid=paid)
        if wait is None:
            return None
        retry_after = max(1, int(wait + 0.999))
        return _error(HTTPStatus.TOO_MANY_REQUESTS, _default_description(429, retry_after),
                      {"retry_after": retry_after})

    def _check_chat(self, method: str, params: JSON) -> _Reply | None:
        # Before the flood limits: a refused call is not a message Telegram counts.
        chat = params.get("chat_id")
        if method not in _PACED_METHODS or chat in (None, "") or _chat_key(chat) in self._chats:
            return None
        return _bad_request("chat not found")

    def _check_token(self, token: str) -> _Reply | None:
        if self.token is None or token == self.token:
            return None
        return _error(HTTPStatus.UNAUTHORIZED, "Unauthorized")

    def _take_failure(self, method: str, params: JSON) -> _Reply | None:
        chat = params.get("chat_id")
        if chat is not None and (plan := self._fail_chats.get(_chat_key(chat))):
            return plan.status, copy.deepcopy(plan.body)
        if plan := self._next_failure(method):
            return plan.status, copy.deepcopy(plan.body)
        return None

    # ------------------------------------------------------------------ injecting updates

    def inject_update(self, update: JSON) -> JSON:
        """Queue a raw update (``update_id`` assigned if missing); return a copy of it."""
        with self._lock:
            if "update_id" not in update:
                update = {"update_id": next(self._update_ids), **update}
            self._updates.append(update)
            self._cond.notify_all()
            snapshot = copy.deepcopy(update)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop closed meanwhile
                loop.call_soon_threadsafe(self._wake_pollers)
        return snapshot

    def inject_message(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "Ana",
        username: str | None = None,
        message_id: int | None = None,
        chat_id: int | None = None,
        entities: list[JSON] | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """Queue a text message from a user (private chat unless ``chat_id`` is given).

        Text starting with ``/`` gets a ``bot_command`` entity, as Telegram adds one.
        """
        with self._lock:
            message = self._user_message(user_id, first_name, username, chat_id, message_id)
            message["text"] = text
            if entities is None and text.startswith("/"):
                command = text.split(maxsplit=1)[0]
                entities = [{"offset": 0, "length": _utf16_len(command), "type": "bot_command"}]
            if entities:
                message["entities"] = entities
            if reply_to_message_id is not None:
                replied = self._messages.get((message["chat"]["id"], reply_to_message_id))
                if replied is not None:
                    message["reply_to_message"] = copy.deepcopy(replied)
            self._store_message(message)
            return self.inject_update({"message": message})

    def inject_callback(
        self,
        user_id: int,
        data: str,
        message_id: int,
        *,
        first_name: str = "Ana",
        username: str | None = None,
        chat_id: int | None = None,
    ) -> JSON:
        """Queue a button press on the bot's message ``message_id`` in the user's chat."""
        with self._lock:
            user = self._user(user_id, first_name, username)
            chat = _chat_key(chat_id if chat_id is not None else user_id)
            message = self._messages.get((chat, message_id))
            if message is None:
                message = {
                    "message_id": message_id,
                    "from": self._bot_user(None),
                    "chat": self._chat(chat),
                    "date": int(time.time()),
                    "text": "",
                }
            self._chats.add(chat)
            query_id = str(next(self._callback_ids))
            self._callback_queries.add(query_id)
            query = {
                "id": query_id,
                "from": user,
                "message": copy.deepcopy(message),
                "chat_instance": str(-(6_000_000_000_000_000_000 + abs(hash(chat)) % 10**18)),
                "data": data,
            }
            return self.inject_update({"callback_query": query})

    def inject_edited_message(
        self,
        user_id: int,
        message_id: int,
        text: str,
        *,
        first_name: str = "Ana",
        username: str | None = None,
        chat_id: int | None = None,
    ) -> JSON:
        """Queue an ``edited_message`` for the user's earlier message ``message_id``."""
        with self._lock:
            chat = _chat_key(chat_id if chat_id is not None else user_id)
            original = self._messages.get((chat, message_id))
            if original is None:
                original = self._user_message(user_id, first_name, username, chat_id, message_id)
            edited = copy.deepcopy(original)
            edited["text"] = text
            edited.pop("entities", None)
            edited["edit_date"] = max(int(time.time()), edited["date"])
            self._store_message(edited)
            return self.inject_update({"edited_message": edited})

    def inject_sticker(
        self,
        user_id: int,
        *,
        emoji: str = "👍",
        first_name: str = "Ana",
        username: str | None = None,
    ) -> JSON:
        """Queue a sticker message from the user."""
        with self._lock:
            message = self._user_message(user_id, first_name, username, None, None)
            message["sticker"] = {
                **self._new_file("stickers", "webp", b"RIFF\x00\x00\x00\x00WEBP"),
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": emoji,
                "set_name": "CoachbotTestStickers",
            }
            self._store_message(message)
            return self.inject_update({"message": message})

    def inject_photo(
        self,
        user_id: int,
        *,
        caption: str | None = None,
        first_name: str = "Ana",
        username: str | None = None,
    ) -> JSON:
        """Queue a photo message (two sizes, like Telegram) from the user."""
        with self._lock:
            message = self._user_message(user_id, first_name, username, None, None)
            message["photo"] = self._photo_sizes(b"\xff\xd8\xff\xe0fake-jpeg")
            if caption is not None:
                message["caption"] = caption
            self._store_message(message)
            return self.inject_update({"message": message})

    def inject_voice(
        self,
        user_id: int,
        *,
        duration: int = 3,
        first_name: str = "Ana",
        username: str | None = None,
    ) -> JSON:
        """Queue a voice note from the user."""
        with self._lock:
            message = self._user_message(user_id, first_name, username, None, None)
            message["voice"] = {
                **self._new_file("voice", "oga", b"OggS\x00fake-voice"),
                "duration": duration,
                "mime_type": "audio/ogg",
            }
            self._store_message(message)
            return self.inject_update({"message": message})

    def restart_update_ids(self, first: int = 1) -> None:
        """Restart the update_id sequence, as Telegram does after a week without updates or
        on another Bot API server: new updates may reuse ids seen before."""
        with self._lock:
            self._update_ids = itertools.count(first)

    def webhook_deliveries(self) -> list[tuple[int, int]]:
        """``(update_id, HTTP status)`` of every webhook POST, in order; status 0 when the
        bot gave no answer (connection refused or dropped, timeout)."""
        with self._lock:
            return list(self._deliveries)

    def pending_updates(self) -> list[JSON]:
        """Updates queued and not yet confirmed by a ``getUpdates`` offset."""
        with self._lock:
            return copy.deepcopy(self._updates)

    # ------------------------------------------------------------------ object builders

    def _bot_user(self, token: str | None) -> JSON:
        bot_id = self.bot_id
        prefix = (token or "").split(":", 1)[0]
        if prefix.isdigit():
            bot_id = int(prefix)
        return {
            "id": bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _user(self, user_id: int, first_name: str, username: str | None) -> JSON:
        user: JSON = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": "en",
        }
        if username:
            user["username"] = username
        self._users[user_id] = user
        return copy.deepcopy(user)

    def _chat(self, chat_id: int | str) -> JSON:
        if isinstance(chat_id, str):
            name = chat_id.lstrip("@")
            return {"id": -1_001_000_000_001, "title": name, "username": name, "type": "channel"}
        if chat_id < 0:
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            return {"id": chat_id, "title": f"Test {kind}", "type": kind}
        user = self._users.get(chat_id, {"first_name": "User"})
        chat: JSON = {"id": chat_id, "first_name": user["first_name"], "type": "private"}
        if "username" in user:
            chat["username"] = user["username"]
        return chat

    def _alloc_message_id(self, chat: int | str, wanted: int | None = None) -> int:
        current = self._next_message_id.get(chat, 1)
        message_id = current if wanted is None else wanted
        self._next_message_id[chat] = max(current, message_id + 1)
        return message_id

    def _user_message(
        self,
        user_id: int,
        first_name: str,
        username: str | None,
        chat_id: int | None,
        message_id: int | None,
    ) -> JSON:
        user = self._user(user_id, first_name, username)
        chat = _chat_key(chat_id if chat_id is not None else user_id)
        self._chats.add(chat)
        return {
            "message_id": self._alloc_message_id(chat, message_id),
            "from": user,
            "chat": self._chat(chat),
            "date": int(time.time()),
        }

    def _store_message(self, message: JSON) -> None:
        key = (_chat_key(message["chat"]["id"]), message["message_id"])
        self._messages[key] = copy.deepcopy(message)

    def _new_file(self, folder: str, ext: str, data: bytes, size: int | None = None) -> JSON:
        n = next(self._file_seq)
        meta: JSON = {
            "file_id": f"FAKEFILE{n:06d}-{folder}",
            "file_unique_id": f"AgAD{n:06d}",
            "file_size": size if size is not None else len(data),
        }
        path = f"{folder}/file_{n}.{ext}"
        self._files[meta["file_id"]] = ({**meta, "file_path": path}, data)
        return meta

    def _photo_sizes(self, data: bytes) -> list[JSON]:
        small = {**self._new_file("photos", "jpg", data), "width": 90, "height": 90}
        large = {**self._new_file("photos", "jpg", data), "width": 800, "height": 800}
        return [small, large]

    # ------------------------------------------------------------------ HTTP plumbing

    _decode_form_value = staticmethod(_decode_form_value)

    def _with_files(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        # File parts go last, unless a field refers to one as ``attach://<name>``.
        for key in files:
            params.pop(key, None)
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                attached = files.pop(value.removeprefix("attach://"), None)
                if attached is not None:
                    params[key] = attached
        params.update(files)
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        token = request.match_info["token"]
        raw_method = request.match_info["method"]
        method = self._canonical.get(raw_method.lower(), raw_method)
        try:
            params = await self._read_params(request)
        except ValueError:
            params = {}
            status, body = _bad_request("invalid request body")
        else:
            with self._lock:
                failure = (self._check_token(token) or self._take_failure(method, params)
                           or self._check_chat(method, params)
                           or self._check_flood(method, params, arrived))
            if failure is not None:
                status, body = failure
            elif method == "getUpdates":
                status, body = await self._get_updates(params)
            elif method in self._handlers:
                try:
                    with self._lock:
                        status, body = self._handlers[method](token, params)
                except _Rejected as rejected:
                    status, body = rejected.reply
            else:
                status, body = _error(HTTPStatus.NOT_FOUND, "Not Found")
        call = RecordedCall(
            method=method,
            params=params,
            at=arrived,
            token=token,
            http_method=request.method,
            status=status,
            result=copy.deepcopy(body.get("result")) if body.get("ok") else None,
        )
        self._add_call(call)
        return web.json_response(body, status=status)

    async def _handle_file_download(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        with self._lock:
            for meta, data in self._files.values():
                if meta["file_path"] == path:
                    return web.Response(body=data, content_type="application/octet-stream")
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    def _wake_pollers(self) -> None:
        if self._push_wake is not None:
            self._push_wake.set()
        with self._lock:
            waiters, self._poll_waiters = self._poll_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # ------------------------------------------------------------------ methods

    async def _get_updates(self, params: JSON) -> _Reply:
        loop = asyncio.get_running_loop()
        try:
            offset = int(params.get("offset") or 0)
            limit = min(max(int(params.get("limit") or 100), 1), 100)
            timeout = max(float(params.get("timeout") or 0), 0.0)
        except (TypeError, ValueError):
            return _bad_request("invalid parameters")
        deadline = loop.time() + min(timeout, self.max_poll_wait)
        with self._lock:
            if self._webhook is not None:
                return _error(
                    HTTPStatus.CONFLICT,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            allowed = params.get("allowed_updates")
            if allowed is not None:
                self._allowed_updates = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES
        while True:
            with self._lock:
                if offset > 0:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                elif offset < 0:
                    self._updates = self._updates[offset:]
                self._updates = [
                    u for u in self._updates if _update_type(u) in self._allowed_updates
                ]
                ready = copy.deepcopy(self._updates[:limit])
                remaining = deadline - loop.time()
                if ready or remaining <= 0 or self._stopping:
                    return _ok(ready)
                waiter: asyncio.Future[None] = loop.create_future()
                self._poll_waiters.append(waiter)
                self._cond.notify_all()  # for wait_until_polling()
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                pass
            finally:
                with self._lock:
                    if waiter in self._poll_waiters:
                        self._poll_waiters.remove(waiter)

    def _get_me(self, token: str, _params: JSON) -> _Reply:
        return _ok(
            {
                **self._bot_user(token),
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
        )

    def _new_bot_message(self, token: str, params: JSON) -> JSON:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            _reject("chat_id is empty")
        chat = _chat_key(chat_id)
        if error := _callback_data_error(params.get("reply_markup")):
            _reject(error)
        message: JSON = {
            "message_id": self._alloc_message_id(chat),
            "from": self._bot_user(token),
            "chat": self._chat(chat),
            "date": int(time.time()),
        }
        reply_to = params.get("reply_to_message_id")
        if reply_to is None and isinstance(params.get("reply_parameters"), dict):
            reply_to = params["reply_parameters"].get("message_id")
        if reply_to is not None and (replied := self._messages.get((chat, int(reply_to)))):
            message["reply_to_message"] = copy.deepcopy(replied)
        return message

    def _finish_bot_message(self, message: JSON, params: JSON) -> _Reply:
        markup = params.get("reply_markup")
        # Telegram echoes only inline keyboards; reply keyboards are not part of a Message.
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        self._store_message(message)
        return _ok(copy.deepcopy(message))

    @staticmethod
    def _checked_text(params: JSON) -> str:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            _reject("message text is empty")
        if _utf16_len(text) > _MAX_TEXT:
            _reject("message is too long")
        return text

    def _answer_callback_query(self, _token: str, params: JSON) -> _Reply:
        if str(params.get("callback_query_id")) not in self._callback_queries:
            _reject("query is too old and response timeout expired or query ID is invalid")
        return _ok(True)

    def add_chat(self, *chat_ids: int | str) -> None:
        """Chats that started the bot outside the test's view (a bot cannot write first)."""
        with self._lock:
            self._chats.update(_chat_key(c) for c in chat_ids)

    def _send_message(self, token: str, params: JSON) -> _Reply:
        text = self._checked_text(params)
        message = self._new_bot_message(token, params)
        message["text"] = text
        if params.get("entities"):
            message["entities"] = params["entities"]
        return self._finish_bot_message(message, params)

    def _send_file_message(self, token: str, params: JSON, field: str) -> _Reply:
        source = params.get(field)
        if source is None or source == "":
            _reject(f"there is no {field} in the request")
        caption = params.get("caption")
        if isinstance(caption, str) and _utf16_len(caption) > _MAX_CAPTION:
            _reject("message caption is too long")
        message = self._new_bot_message(token, params)
        data = source.data if isinstance(source, UploadedFile) else str(source).encode()
        if field == "photo":
            message["photo"] = self._photo_sizes(data)
        else:
            document = self._new_file("documents", "bin", data)
            if isinstance(source, UploadedFile):
                if source.filename:
                    document["file_name"] = source.filename
                if source.content_type:
                    document["mime_type"] = source.content_type
            message["document"] = document
        if caption:
            message["caption"] = caption
        return self._finish_bot_message(message, params)

    def _send_document(self, token: str, params: JSON) -> _Reply:
        return self._send_file_message(token, params, "document")

    def _send_photo(self, token: str, params: JSON) -> _Reply:
        return self._send_file_message(token, params, "photo")

    def _find_editable(self, params: JSON) -> JSON:
        if params.get("inline_message_id"):
            _reject("inline messages are not supported by the fake")
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        message = None
        if chat_id is not None and message_id is not None:
            message = self._messages.get((_chat_key(chat_id), int(message_id)))
        if message is None:
            _reject("message to edit not found")
        return message

    def _apply_edit(self, message: JSON, changes: JSON, markup: Any) -> _Reply:
        if error := _callback_data_error(markup):
            _reject(error)
        edited = {**copy.deepcopy(message), **changes}
        # Like Telegram: an edit without reply_markup removes the inline keyboard.
        edited.pop("reply_markup", None)
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            edited["reply_markup"] = markup
        before = {k: v for k, v in message.items() if k != "edit_date"}
        after = {k: v for k, v in edited.items() if k != "edit_date"}
        if before == after:
            _reject(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        edited["edit_date"] = int(time.time())
        self._store_message(edited)
        return _ok(copy.deepcopy(edited))

    def _edit_message_text(self, _token: str, params: JSON) -> _Reply:
        text = self._checked_text(params)
        message = self._find_editable(params)
        if "entities" in message:
            message = {k: v for k, v in message.items() if k != "entities"}
        changes: JSON = {"text": text}
        if params.get("entities"):
            changes["entities"] = params["entities"]
        return self._apply_edit(message, changes, params.get("reply_markup"))

    def _edit_message_reply_markup(self, _token: str, params: JSON) -> _Reply:
        message = self._find_editable(params)
        return self._apply_edit(message, {}, params.get("reply_markup"))

    def _delete_message(self, _token: str, params: JSON) -> _Reply:
        key = (_chat_key(params.get("chat_id")), int(params.get("message_id") or 0))
        if self._messages.pop(key, None) is None:
            _reject("message to delete not found")
        return _ok(True)

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope if isinstance(scope, dict) else {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    def _set_my_commands(self, _token: str, params: JSON) -> _Reply:
        commands = params.get("commands")
        if not isinstance(commands, list):
            _reject("can't parse commands JSON object")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            if not _COMMAND_RE.match(name):
                _reject("BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                _reject("command description is empty")
        # Telegram takes a two-letter ISO 639-1 code or none at all ("pt", never "pt-BR").
        if not re.fullmatch(r"(?:[a-z]{2})?", str(params.get("language_code") or "")):
            _reject("LANGUAGE_CODE_INVALID")
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = copy.deepcopy(commands)
        return _ok(True)

    def _delete_my_commands(self, _token: str, params: JSON) -> _Reply:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands.pop(key, None)
        return _ok(True)

    def _get_my_commands(self, _token: str, params: JSON) -> _Reply:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return _ok(copy.deepcopy(self._commands.get(key, [])))

    def _set_webhook(self, token: str, params: JSON) -> _Reply:
        url = params.get("url")
        if not url:
            return self._delete_webhook(token, params)
        if not str(url).startswith(("https://", "http://")):
            _reject("bad webhook: An HTTPS URL must be provided for webhook")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = {k: v for k, v in params.items() if not isinstance(v, UploadedFile)}
        allowed = params.get("allowed_updates")
        if allowed is not None:
            self._allowed_updates = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES
        if self._pusher is None or self._pusher.done():
            self._pusher = asyncio.get_running_loop().create_task(self._push_webhook())
        return _ok(True, "Webhook was set")

    def _delete_webhook(self, _token: str, params: JSON) -> _Reply:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if self._webhook is None:
            return _ok(True, "Webhook is already deleted")
        self._webhook = None
        return _ok(True, "Webhook was deleted")

    def _get_webhook_info(self, _token: str, _params: JSON) -> _Reply:
        info: JSON = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook is not None:
            info["url"] = self._webhook["url"]
            info["max_connections"] = self._webhook.get("max_connections", 40)
            info["ip_address"] = "127.0.0.1"
            if self._webhook.get("allowed_updates") is not None:
                info["allowed_updates"] = self._webhook["allowed_updates"]
        return _ok(info)

    def _get_file(self, _token: str, params: JSON) -> _Reply:
        entry = self._files.get(str(params.get("file_id")))
        if entry is None:
            _reject("invalid file_id")
        return _ok(copy.deepcopy(entry[0]))

    # ------------------------------------------------------------------ webhook delivery

    async def _push_webhook(self) -> None:
        """Deliver queued updates to the webhook like Telegram: a POST per update, each chat's
        one at a time and in order, chats at the same time; an update is dropped only on a
        2xx answer, anything else is retried after ``webhook_retry`` seconds."""
        self._push_wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        in_flight: dict[object, asyncio.Task[None]] = {}
        retry_at: dict[object, float] = {}
        async with ClientSession(timeout=ClientTimeout(total=30)) as http:
            while True:
                self._push_wake.clear()
                with self._lock:
                    hook = self._webhook
                    if hook is None or self._stopping:
                        break
                    pending = [u for u in self._updates
                               if _update_type(u) in self._allowed_updates]
                    limit = int(hook.get("max_connections") or 40)
                now = loop.time()
                blocked = set(in_flight)
                for update in pending:
                    chat = _update_chat(update)
                    if chat in blocked:
                        continue
                    blocked.add(chat)  # the chat's later updates wait behind this one
                    if retry_at.get(chat, 0.0) > now or len(in_flight) >= limit:
                        continue
                    in_flight[chat] = loop.create_task(
                        self._post_update(http, hook, update, chat, retry_at))
                waker = loop.create_task(self._push_wake.wait())
                soonest = min(retry_at.values(), default=now + 1.0) - now
                await asyncio.wait([*in_flight.values(), waker],
                                   timeout=max(0.01, min(soonest, 1.0)),
                                   return_when=asyncio.FIRST_COMPLETED)
                waker.cancel()
                in_flight = {c: t for c, t in in_flight.items() if not t.done()}
                now = loop.time()
                for chat in [c for c, at in retry_at.items() if at <= now]:
                    del retry_at[chat]

    async def _post_update(self, http: ClientSession, hook: JSON, update: JSON, chat: object,
                           retry_at: dict[object, float]) -> None:
        headers = {"Content-Type": "application/json"}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(hook["secret_token"])
        try:
            async with http.post(str(hook["url"]), data=json.dumps(update),
                                 headers=headers) as response:
                status = response.status
        except (TimeoutError, ClientError, OSError):
            status = 0
        with self._cond:
            self._deliveries.append((update["update_id"], status))
            if 200 <= status < 300:
                self._updates = [u for u in self._updates if u is not update]
            else:
                retry_at[chat] = asyncio.get_running_loop().time() + self.webhook_retry
            self._cond.notify_all()


def _update_chat(update: JSON) -> object:
    """The chat an update belongs to (Telegram keeps each chat's updates in order)."""
    kind = _update_type(update)
    body = update.get(kind) if kind else None
    if isinstance(body, dict):
        message = body.get("message") if kind == "callback_query" else body
        chat = message.get("chat") if isinstance(message, dict) else None
        if isinstance(chat, dict) and "id" in chat:
            return chat["id"]
    return ("update", update["update_id"])
