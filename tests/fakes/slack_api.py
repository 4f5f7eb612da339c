"""A fake Slack Web API server speaking the real wire format over HTTP on 127.0.0.1.

Point slack_sdk / slack-bolt at it::

    with FakeSlackAPI() as api:
        client = WebClient(token="xoxb-test", base_url=api.base_url)  # ".../api/"
        app = App(client=client, signing_secret=SECRET)

slack_sdk joins ``base_url`` and the method with ``urljoin``, so the trailing slash matters.
It sends ``chat.*`` methods as JSON with ``Authorization: Bearer``; most others as form bodies
(sync ``WebClient`` always POSTs; ``AsyncWebClient`` uses GET + query string for some reads).

Like Slack, it answers ``invalid_auth`` to any token but its own (``token``), knows only
the channels and users a test declares (:meth:`FakeSlackAPI.add_channel`,
:meth:`FakeSlackAPI.add_user`) and answers ``channel_not_found`` / ``user_not_found``
otherwise, and rate-limits posting with HTTP 429 and ``Retry-After`` (see
:class:`SlackLimits`; ``limits=None`` turns that off, and a test doing so says why).
:meth:`FakeSlackAPI.hold` keeps a method's answer back until the test releases it: a slow
Slack, without a clock.

``views.open`` takes a trigger_id once (``exchanged_trigger_id`` after) and refuses a modal
Slack would refuse (no title, a title over 24 characters, inputs without submit); the modals
opened are kept (:meth:`FakeSlackAPI.opened_views`) for a test to submit.

Besides the server this module has builders for what Slack *sends to* an app: signed request
headers (:func:`sign_request`), Events API envelopes, interactivity and slash-command bodies,
a Home tab button press (:func:`home_block_actions_payload`) and a modal's submission
(:func:`view_submission_payload`).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, ClassVar, NoReturn
from urllib.parse import urlencode

from aiohttp import web

from .server import JSON, WAIT, FailurePlan, FakeServer, RecordedCallBase, UploadedFile

__all__ = [
    "BOT_TOKEN",
    "FakeSlackAPI",
    "RecordedCall",
    "SlackLimits",
    "UploadedFile",
    "block_actions",
    "block_actions_payload",
    "event_callback",
    "form_values",
    "home_block_actions_payload",
    "message_event",
    "new_trigger_id",
    "new_ts",
    "reaction_added_event",
    "sign_request",
    "slash_command_body",
    "url_verification",
    "view_submission_payload",
]

TEAM_ID = "T1"
APP_ID = "A1"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
BOT_TOKEN = "xoxb-test"

# Form fields Slack accepts as JSON-encoded strings.
_JSON_FORM_FIELDS = frozenset(
    {"blocks", "attachments", "files", "metadata", "view", "user_auth_blocks"}
)
_MAX_BLOCKS = 50
_MAX_SECTION_TEXT = 3000
_MAX_TEXT = 40_000

# One clock for every ts this module hands out: unique and increasing, "1700000000.000100".
_ts_counter = itertools.count(1_700_000_000_000_100, 100)
_ts_lock = threading.Lock()


def new_ts() -> str:
    """A fresh, strictly increasing Slack timestamp such as ``"1700000000.000100"``."""
    with _ts_lock:
        micros = next(_ts_counter)
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


@dataclass(frozen=True)
class RecordedCall(RecordedCallBase):
    """One request the fake answered (including failed ones)."""

    response: JSON = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the fake answered HTTP 200 with ``"ok": true``."""
        return self.status == HTTPStatus.OK and bool(self.response.get("ok"))


class _Rejected(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.body: JSON = {"ok": False, "error": error, **extra}


def _reject(error: str, **extra: Any) -> NoReturn:
    raise _Rejected(error, **extra)


def _decode_form_value(key: str, value: str) -> Any:
    if key in _JSON_FORM_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _block_errors(blocks: Any) -> list[str]:
    """A light version of Slack's Block Kit validation."""
    if not isinstance(blocks, list):
        return ["must be an array"]
    errors: list[str] = []
    if len(blocks) > _MAX_BLOCKS:
        errors.append(f"no more than {_MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or "type" not in block:
            errors.append(f"missing required field: type [json-pointer:/blocks/{i}]")
            continue
        text = block.get("text")
        too_long = isinstance(text, dict) and len(str(text.get("text", ""))) > _MAX_SECTION_TEXT
        if block["type"] == "section" and too_long:
            errors.append(
                f"must be less than {_MAX_SECTION_TEXT + 1} characters "
                f"[json-pointer:/blocks/{i}/text/text]"
            )
    return errors


@dataclass
class SlackLimits:
    """Slack's posting limits as sliding windows over the fake's monotonic clock.

    Slack allows "1 message per second to a channel, with short bursts" and "several hundred
    a minute" per workspace; here ``per_channel`` in any ``period`` seconds to one channel
    (one a second on average, a burst of 20), and ``overall`` in a minute to all, then 429
    with ``Retry-After``.
    """

    per_channel: int = 20
    period: float = 20.0
    overall: int = 300
    _channels: dict[str, deque[float]] = field(default_factory=dict)
    _all: deque[float] = field(default_factory=deque)

    def check(self, channel: str, now: float) -> int | None:
        """Record a post at ``now``; None when allowed, else whole seconds to wait."""
        mine = self._channels.setdefault(channel, deque())
        waits = []
        for times, limit, period in ((mine, self.per_channel, self.period),
                                     (self._all, self.overall, 60.0)):
            while times and times[0] <= now - period:
                times.popleft()
            if len(times) >= limit:
                waits.append(times[0] + period - now)
        if waits:
            return max(1, int(max(waits) + 0.999))
        mine.append(now)
        self._all.append(now)
        return None


# What Slack's posting limits count (per channel).
_PACED_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral"})
# Methods whose ``channel`` must be a channel the workspace has.
_CHANNEL_METHODS = frozenset({
    "chat.postMessage", "chat.update", "chat.delete", "chat.postEphemeral",
    "chat.getPermalink", "conversations.info", "reactions.add"})


def _modal_errors(view: JSON) -> list[str]:
    """A light version of Slack's checks on a modal (views.open)."""
    errors: list[str] = []
    if view.get("type") != "modal":
        errors.append("must be modal [json-pointer:/view/type]")
    for name, limit in (("title", 24), ("submit", 24), ("close", 24)):
        text = view.get(name)
        if text is None:
            if name == "title":
                errors.append("missing required field: title [json-pointer:/view/title]")
            continue
        if not isinstance(text, dict) or text.get("type") != "plain_text":
            errors.append(f"must be plain_text [json-pointer:/view/{name}]")
        elif len(str(text.get("text", ""))) > limit:
            errors.append(f"must be less than {limit + 1} characters "
                          f"[json-pointer:/view/{name}/text]")
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or len(blocks) > 100:
        errors.append("must be an array of at most 100 blocks [json-pointer:/view/blocks]")
        return errors
    ids = [b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("block_id")]
    if len(ids) != len(set(ids)):
        errors.append("block_id must be unique [json-pointer:/view/blocks]")
    if any(isinstance(b, dict) and b.get("type") == "input" for b in blocks) \
            and view.get("submit") is None:
        errors.append("a view with input blocks needs submit [json-pointer:/view/submit]")
    if len(str(view.get("private_metadata", ""))) > 3000:
        errors.append("must be less than 3001 characters [json-pointer:/view/private_metadata]")
    return errors


def _is_truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _user_ids(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v for v in str(value or "").split(",") if v]


class FakeSlackAPI(FakeServer[RecordedCall]):
    """In-process fake of ``https://slack.com/api/`` for slack_sdk / Bolt driven tests.

    Use as a context manager or call :meth:`start` / :meth:`stop`. Users are synthesised on
    demand (``tz`` Europe/Berlin); override them with :meth:`set_user`.
    """

    server_name: ClassVar[str] = "FakeSlackAPI"
    thread_name: ClassVar[str] = "fake-slack-api"
    body_only_on_post: ClassVar[bool] = True

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        team_id: str = TEAM_ID,
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
        app_id: str = APP_ID,
        token: str = BOT_TOKEN,
        channels: tuple[str, ...] = (),
        users: tuple[str, ...] = (),
        limits: SlackLimits | None = None,
        enforce_limits: bool = True,
    ) -> None:
        super().__init__(host=host, port=port)
        self.token = token
        self.limits = (limits or SlackLimits()) if enforce_limits else None
        self._channels: set[str] = set(channels)
        self._holds: dict[str, threading.Event] = {}
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id

        self._messages: dict[tuple[str, str], JSON] = {}
        self._reactions: set[tuple[str, str, str]] = set()
        self._users: dict[str, JSON] = {}
        self._opened_ims: set[str] = set()
        self._uploads: dict[str, JSON] = {}
        for user_id in users:
            self._user(user_id)
        self._file_seq = itertools.count(1)
        self._view_seq = itertools.count(1)
        self._views: dict[str, JSON] = {}  # modals opened, by view id
        self._triggers: set[str] = set()  # trigger_ids used: Slack takes each once
        self._listed: list[tuple[str, str]] = []  # what conversations.list shows
        self._handlers: dict[str, Callable[[JSON], JSON]] = {
            "api.test": lambda params: {"ok": True, "args": params},
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "conversations.list": self._conversations_list,
            "reactions.add": self._reactions_add,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "views.open": self._views_open,
            "views.publish": self._views_publish,
            "views.update": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            # Socket Mode needs an app-level token (xapp-); tests do not use it.
            "apps.connections.open": lambda _params: {
                "ok": False,
                "error": "not_allowed_token_type",
            },
        }

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """Value for slack_sdk's ``base_url`` (note the trailing slash)."""
        return f"{self.url}/api/"

    def response_url(self, name: str = "default") -> str:
        """A ``response_url`` served by this fake; posts to it are recorded as ``response_url``."""
        return f"{self.url}/response_url/{name}"

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/{method}", self._handle)
        app.router.add_route("*", "/upload/v1/{file_id}", self._handle_upload)
        app.router.add_post("/response_url/{name}", self._handle_response_url)

    # ------------------------------------------------------------------ recording

    def posted_messages(self, channel: str | None = None) -> list[JSON]:
        """Params of successful ``chat.postMessage`` calls, plus the ``ts`` Slack assigned.

        ``channel`` matches the channel as sent or as resolved (a user id posts to ``D<user>``).
        """
        with self._lock:
            found = []
            for call in self._calls:
                if call.method != "chat.postMessage" or not call.ok:
                    continue
                resolved = call.response["channel"]
                if channel is None or channel in (call.params.get("channel"), resolved):
                    found.append({**call.params, "ts": call.response["ts"]})
            return found

    def message(self, channel: str, ts: str) -> JSON | None:
        """The fake's current copy of a posted (or updated) message."""
        with self._lock:
            return copy.deepcopy(self._messages.get((channel, ts)))

    def uploaded_file(self, file_id: str) -> JSON | None:
        """What the fake knows about an external upload: filename, title, data bytes."""
        with self._lock:
            return copy.deepcopy(self._uploads.get(file_id))

    def add_channel(self, *channel_ids: str) -> None:
        """Channels of the workspace the bot is in (posting elsewhere: ``channel_not_found``)."""
        with self._lock:
            self._channels.update(channel_ids)

    def add_user(self, *user_ids: str) -> None:
        """Members of the workspace (anyone else: ``user_not_found``)."""
        with self._lock:
            for user_id in user_ids:
                self._user(user_id)

    def rate_limited(self) -> int:
        """How many calls the posting limits answered 429."""
        with self._lock:
            return sum(1 for c in self._calls if c.status == HTTPStatus.TOO_MANY_REQUESTS
                       and c.response.get("limit") is True)

    @contextmanager
    def hold(self, method: str) -> Iterator[threading.Event]:
        """Keep every answer to ``method`` (or ``"response_url"``) back until the yielded
        event is set (or the block ends): a slow Slack, in order rather than in seconds.
        A call held is recorded when it is answered."""
        gate = threading.Event()
        with self._lock:
            self._holds[method] = gate
        try:
            yield gate
        finally:
            gate.set()
            with self._lock:
                self._holds.pop(method, None)

    async def _held(self, method: str) -> None:
        with self._lock:
            gate = self._holds.get(method)
        if gate is None:
            return
        deadline = time.monotonic() + WAIT  # a forgotten gate must not hang the suite
        while not gate.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)  # the fake's own loop: it goes on serving others

    def set_user(self, user_id: str, **fields: Any) -> None:
        """Override ``users.info`` fields for ``user_id`` (``tz``, ``real_name``, ``profile``);
        the user becomes a member."""
        with self._lock:
            user = self._user(user_id)
            profile = fields.pop("profile", None)
            user.update(fields)
            if "real_name" in fields:
                user["profile"]["real_name"] = fields["real_name"]
            if profile:
                user["profile"].update(profile)

    def wait_for_posted(
        self, n: int = 1, channel: str | None = None, timeout: float = WAIT
    ) -> list[JSON]:
        """Wait until at least ``n`` messages were posted (to ``channel``); return them all."""
        return self._wait_for_at_least(n, lambda: self.posted_messages(channel), timeout)

    # ------------------------------------------------------------------ failures

    def fail_next(self, method: str, error: str = "channel_not_found", times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` (``"*"`` for any) with HTTP 200 and
        ``{"ok": false, "error": error}``, as Slack does for API errors."""
        self._plan(method, HTTPStatus.OK, {"ok": False, "error": error}, {}, times)

    def rate_limit_next(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next ``times`` calls with HTTP 429, ``Retry-After`` and ``ratelimited``."""
        body = {"ok": False, "error": "ratelimited"}
        self._plan(
            method, HTTPStatus.TOO_MANY_REQUESTS, body, {"Retry-After": str(retry_after)}, times
        )

    def server_error_next(self, method: str, status: int = 500, times: int = 1) -> None:
        """Answer the next ``times`` calls with an HTTP 5xx (``fatal_error`` JSON body)."""
        self._plan(method, status, {"ok": False, "error": "fatal_error"}, {}, times)

    def _plan(self, method: str, status: int, body: JSON, headers: dict[str, str], n: int) -> None:
        self._plan_failure(method, FailurePlan(status, body, remaining=n, headers=headers))

    # ------------------------------------------------------------------ HTTP plumbing

    _decode_form_value = staticmethod(_decode_form_value)

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        method = request.match_info["method"]
        headers: dict[str, str] = {}
        try:
            params = await self._read_params(request)
        except ValueError:
            params, token = {}, None
            status, body = HTTPStatus.OK, {"ok": False, "error": "invalid_json"}
        else:
            auth = request.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
            token = token or params.pop("token", None)
            await self._held(method)
            with self._lock:
                plan = self._next_failure(method)
                status = HTTPStatus.OK
                if plan is not None:
                    status, body, headers = plan.status, copy.deepcopy(plan.body), plan.headers
                elif method not in self._handlers:
                    body = {"ok": False, "error": "unknown_method", "req_method": method}
                elif not token:
                    body = {"ok": False, "error": "not_authed"}
                elif token != self.token and method != "apps.connections.open":
                    body = {"ok": False, "error": "invalid_auth"}
                else:
                    try:
                        self._check_channel(method, params)
                        wait = self._check_limits(method, params)
                        if wait is not None:
                            status = HTTPStatus.TOO_MANY_REQUESTS
                            headers = {"Retry-After": str(wait)}
                            body = {"ok": False, "error": "ratelimited", "limit": True}
                        else:
                            body = self._handlers[method](params)
                    except _Rejected as rejected:
                        body = rejected.body
        self._record(method, params, arrived, token, request.method, status, body)
        return web.json_response(body, status=status, headers=headers)

    def _record(
        self,
        method: str,
        params: JSON,
        arrived: float,
        token: str | None,
        http_method: str,
        status: int,
        body: JSON,
    ) -> None:
        self._add_call(
            RecordedCall(method, params, arrived, token, http_method, status, copy.deepcopy(body))
        )

    async def _handle_upload(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        file_id = request.match_info["file_id"]
        data = await request.read()
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is not None:
                upload["data"] = data
        status = HTTPStatus.OK if upload is not None else HTTPStatus.NOT_FOUND
        params = {"file_id": file_id, "size": len(data)}
        self._record(
            "upload", params, arrived, None, request.method, status, {"ok": upload is not None}
        )
        return web.Response(text=f"OK - {len(data)}", status=status)

    def _check_channel(self, method: str, params: JSON) -> None:
        """Slack's answer to a channel (or user) the workspace does not have."""
        if method == "chat.postEphemeral" and str(params.get("user") or "") not in self._users:
            _reject("user_not_found")
        if method not in _CHANNEL_METHODS:
            return
        channel = str(params.get("channel") or "")
        if channel[:1] in ("U", "W"):  # a user id posts to that user's DM
            channel = f"D{channel}"
        known = channel in self._channels or (channel[:1] == "D" and channel[1:] in self._users)
        if not known:
            _reject("channel_not_found")

    def _check_limits(self, method: str, params: JSON) -> int | None:
        if self.limits is None or method not in _PACED_METHODS:
            return None
        channel = self._resolve_channel(str(params.get("channel") or ""))
        return self.limits.check(channel, time.monotonic())

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        await self._held("response_url")
        try:
            params = await self._read_params(request)
        except ValueError:
            params = {}
        params["response_url_name"] = request.match_info["name"]
        self._record("response_url", params, arrived, None, "POST", HTTPStatus.OK, {"ok": True})
        return web.json_response({"ok": True})

    # ------------------------------------------------------------------ objects

    def _user(self, user_id: str) -> JSON:
        user = self._users.get(user_id)
        if user is None:
            name = user_id.lower()
            user = {
                "id": user_id,
                "team_id": self.team_id,
                "name": name,
                "deleted": False,
                "real_name": f"Test User {user_id}",
                "tz": "Europe/Berlin",
                "tz_label": "Central European Time",
                "tz_offset": 3600,
                "is_admin": False,
                "is_owner": False,
                "is_bot": False,
                "is_app_user": False,
                "updated": 1_700_000_000,
                "profile": {
                    "real_name": f"Test User {user_id}",
                    "display_name": name,
                    "email": f"{name}@example.test",
                    "team": self.team_id,
                },
            }
            self._users[user_id] = user
        return user

    def _resolve_channel(self, channel: str) -> str:
        # Posting to a user id delivers to the app's DM with that user.
        return f"D{channel}" if channel[:1] in ("U", "W") else channel

    def _message_from(self, params: JSON, ts: str) -> JSON:
        message: JSON = {
            "user": self.bot_user_id,
            "type": "message",
            "ts": ts,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": params.get("text") or "",
            "team": self.team_id,
        }
        for key in ("blocks", "attachments", "metadata"):
            if params.get(key):
                message[key] = params[key]
        if params.get("thread_ts"):
            message["thread_ts"] = str(params["thread_ts"])
            message["parent_user_id"] = self.bot_user_id
        return message

    @staticmethod
    def _check_content(params: JSON) -> None:
        for key in ("blocks", "attachments"):
            if isinstance(params.get(key), str):
                try:
                    params[key] = json.loads(params[key])
                except ValueError:
                    _reject(f"invalid_{key}")
        if not (params.get("text") or params.get("blocks") or params.get("attachments")):
            _reject("no_text")
        if len(str(params.get("text") or "")) > _MAX_TEXT:
            _reject("msg_too_long")
        if "blocks" in params and (errors := _block_errors(params["blocks"])):
            _reject("invalid_blocks", errors=errors, response_metadata={"messages": errors})

    # ------------------------------------------------------------------ methods

    def _auth_test(self, _params: JSON) -> JSON:
        return {
            "ok": True,
            "url": "https://coachbot-test.slack.com/",
            "team": "Coachbot Test",
            "user": "coachbot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: JSON) -> JSON:
        channel = str(params.get("channel") or "")
        if not channel:
            _reject("channel_not_found")
        self._check_content(params)
        channel = self._resolve_channel(channel)
        ts = new_ts()
        message = self._message_from(params, ts)
        self._messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _chat_update(self, params: JSON) -> JSON:
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        if not channel:
            _reject("channel_not_found")
        message = self._messages.get((channel, ts))
        if message is None:
            _reject("message_not_found")
        self._check_content({**params, "text": params.get("text") or message.get("text")})
        updated = {**message, "text": params.get("text", message["text"]) or ""}
        for key in ("blocks", "attachments", "metadata"):
            if key in params:
                updated[key] = params[key]
        updated["edited"] = {"user": self.bot_user_id, "ts": new_ts()}
        self._messages[(channel, ts)] = updated
        shown = {k: v for k, v in updated.items() if k != "edited"}
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": updated["text"],
            "message": copy.deepcopy(shown),
        }

    def _chat_delete(self, params: JSON) -> JSON:
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        if self._messages.pop((channel, ts), None) is None:
            _reject("message_not_found")
        return {"ok": True, "channel": channel, "ts": ts}

    def _chat_post_ephemeral(self, params: JSON) -> JSON:
        if not params.get("channel"):
            _reject("channel_not_found")
        if not params.get("user"):
            _reject("user_not_found")
        self._check_content(params)
        return {"ok": True, "message_ts": new_ts()}

    def _chat_get_permalink(self, params: JSON) -> JSON:
        channel, ts = str(params.get("channel") or ""), str(params.get("message_ts") or "")
        if (channel, ts) not in self._messages:
            _reject("message_not_found")
        permalink = f"https://coachbot-test.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": permalink}

    def _conversations_open(self, params: JSON) -> JSON:
        users = _user_ids(params.get("users"))
        if not users and params.get("channel"):
            return {"ok": True, "channel": {"id": str(params["channel"])}}
        if not users:
            _reject("users_list_not_supplied")
        if any(user not in self._users for user in users):
            _reject("user_not_found")
        if len(users) > 1:
            channel_id = "G" + "".join(sorted(users))
            return {"ok": True, "channel": {"id": channel_id}}
        channel_id = f"D{users[0]}"
        already = channel_id in self._opened_ims
        self._opened_ims.add(channel_id)
        channel: JSON = {"id": channel_id}
        if _is_truthy(params.get("return_im")):
            channel.update(self._im(channel_id))
        answer: JSON = {"ok": True, "channel": channel}
        if already:
            answer.update({"no_op": True, "already_open": True})
        return answer

    def _im(self, channel_id: str) -> JSON:
        return {
            "id": channel_id,
            "created": 1_700_000_000,
            "is_im": True,
            "is_org_shared": False,
            "user": channel_id[1:],
            "is_user_deleted": False,
            "priority": 0,
        }

    def _conversations_info(self, params: JSON) -> JSON:
        channel_id = str(params.get("channel") or "")
        if not channel_id:
            _reject("channel_not_found")
        if channel_id.startswith("D"):
            return {"ok": True, "channel": self._im(channel_id)}
        private = channel_id.startswith("G")
        return {
            "ok": True,
            "channel": {
                "id": channel_id,
                "name": f"channel-{channel_id.lower()}",
                "is_channel": not private,
                "is_group": private,
                "is_im": False,
                "is_mpim": False,
                "is_private": private,
                "is_archived": False,
                "is_general": False,
                "is_member": True,
                "created": 1_700_000_000,
                "creator": "U0",
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0},
            },
        }

    def add_named_channel(self, channel_id: str, name: str) -> None:
        """A channel of the workspace that ``conversations.list`` lists (name without ``#``)."""
        with self._lock:
            self._channels.add(channel_id)
            self._listed.append((channel_id, name))

    def _conversations_list(self, params: JSON) -> JSON:
        # One channel per page, so a caller that ignores the cursor misses channels.
        start = int(str(params.get("cursor") or "0"))
        page = self._listed[start:start + 1]
        following = str(start + 1) if start + 1 < len(self._listed) else ""
        return {"ok": True, "channels": [
            {"id": cid, "name": name, "is_channel": cid.startswith("C"),
             "is_private": cid.startswith("G"), "is_archived": False, "is_member": True}
            for cid, name in page], "response_metadata": {"next_cursor": following}}

    def _reactions_add(self, params: JSON) -> JSON:
        name = str(params.get("name") or "").strip(":")
        channel, ts = str(params.get("channel") or ""), str(params.get("timestamp") or "")
        if not name:
            _reject("invalid_name")
        if not channel or not ts:
            _reject("no_item_specified")
        key = (channel, ts, name)
        if key in self._reactions:
            _reject("already_reacted")
        self._reactions.add(key)
        return {"ok": True}

    def add_member(self, user_id: str, email: str) -> None:
        """A workspace member with this email (found by ``users.lookupByEmail``)."""
        with self._lock:
            self._user(user_id)["profile"]["email"] = email

    def _users_lookup_by_email(self, params: JSON) -> JSON:
        email = str(params.get("email") or "").lower()
        with self._lock:
            found = next((u for u in self._users.values()
                          if u["profile"]["email"].lower() == email), None)
        if found is None:
            _reject("users_not_found")
        return {"ok": True, "user": copy.deepcopy(found)}

    def _users_info(self, params: JSON) -> JSON:
        user_id = str(params.get("user") or "")
        if user_id not in self._users:
            _reject("user_not_found")
        return {"ok": True, "user": copy.deepcopy(self._user(user_id))}

    def _views_publish(self, params: JSON) -> JSON:
        view = params.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except ValueError:
                _reject("invalid_arguments")
        if not isinstance(view, dict) or "type" not in view:
            _reject("invalid_arguments")
        view_id = str(params.get("view_id") or f"V{next(self._view_seq):08d}")
        return {
            "ok": True,
            "view": {
                **view,
                "id": view_id,
                "team_id": self.team_id,
                "app_id": self.app_id,
                "bot_id": self.bot_id,
                "hash": f"{int(time.time())}.fakehash",
            },
        }

    def _views_open(self, params: JSON) -> JSON:
        """``views.open``: a modal, on a trigger_id used once (Slack: within 3 s, once)."""
        trigger = str(params.get("trigger_id") or "")
        if not trigger:
            _reject("invalid_arguments")
        if trigger in self._triggers:
            _reject("exchanged_trigger_id")
        view = params.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except ValueError:
                _reject("invalid_arguments")
        if not isinstance(view, dict):
            _reject("invalid_arguments")
        problems = _modal_errors(view)
        if problems:
            _reject("invalid_arguments", response_metadata={"messages": problems})
        self._triggers.add(trigger)
        answer = self._views_publish(params)
        self._views[answer["view"]["id"]] = copy.deepcopy(answer["view"])
        return answer

    def opened_views(self) -> list[JSON]:
        """The modals opened so far, oldest first, as Slack holds them (with their ``id``)."""
        with self._lock:
            return [copy.deepcopy(v) for v in self._views.values()]

    def _files_get_upload_url(self, params: JSON) -> JSON:
        filename, length = params.get("filename"), params.get("length")
        if not filename or length in (None, ""):
            _reject("invalid_arguments")
        file_id = f"F{next(self._file_seq):08d}"
        self._uploads[file_id] = {
            "id": file_id,
            "filename": str(filename),
            "length": int(length),
            "data": None,
        }
        return {"ok": True, "upload_url": f"{self.url}/upload/v1/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, params: JSON) -> JSON:
        files = params.get("files")
        if not isinstance(files, list) or not files:
            _reject("invalid_arguments")
        completed = []
        for item in files:
            upload = self._uploads.get(str(item.get("id")))
            if upload is None or upload["data"] is None:
                _reject("file_not_found")
            upload["title"] = item.get("title") or upload["filename"]
            upload["channel_id"] = params.get("channel_id")
            upload["initial_comment"] = params.get("initial_comment")
            upload["thread_ts"] = params.get("thread_ts")
            completed.append(
                {
                    "id": upload["id"],
                    "created": 1_700_000_000,
                    "timestamp": 1_700_000_000,
                    "name": upload["filename"],
                    "title": upload["title"],
                    "user": self.bot_user_id,
                    "size": len(upload["data"]),
                    "mimetype": "application/octet-stream",
                    "filetype": "binary",
                    "is_external": False,
                    "url_private": f"{self.url}/files/{upload['id']}",
                }
            )
        return {"ok": True, "files": completed}


# ---------------------------------------------------------------------- inbound builders


def sign_request(
    signing_secret: str, body: bytes | str, timestamp: int | None = None
) -> dict[str, str]:
    """Headers Slack adds to a request it sends to the app: a valid ``v0`` signature."""
    raw = body if isinstance(body, bytes) else body.encode()  # any bytes, as Slack signs them
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(
        signing_secret.encode(), f"v0:{ts}:".encode() + raw, hashlib.sha256
    ).hexdigest()
    return {"X-Slack-Signature": f"v0={digest}", "X-Slack-Request-Timestamp": ts}


_event_ids = itertools.count(1)
_trigger_ids = itertools.count(1)


def new_trigger_id() -> str:
    """A fresh trigger_id: Slack gives one to every command and interaction, never twice."""
    return f"{int(time.time())}.{next(_trigger_ids)}.fake"


def event_callback(
    event: JSON,
    event_id: str | None = None,
    team_id: str = TEAM_ID,
    *,
    api_app_id: str = APP_ID,
    bot_user_id: str = BOT_USER_ID,
    event_time: int | None = None,
) -> JSON:
    """The Events API envelope (``type: event_callback``) around ``event``."""
    return {
        "token": "verification-token",
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_event_ids):010d}",
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-fake-{team_id}",
    }


def url_verification(challenge: str = "challenge-token") -> JSON:
    """The body Slack sends when an Events API request URL is configured."""
    return {"token": "verification-token", "challenge": challenge, "type": "url_verification"}


def message_event(
    user: str,
    text: str,
    channel: str,
    thread_ts: str | None = None,
    ts: str | None = None,
    channel_type: str = "im",
    *,
    team: str = TEAM_ID,
) -> JSON:
    """A ``message`` event from a human user (``channel_type`` "im" or "channel")."""
    ts = ts or new_ts()
    event: JSON = {
        "type": "message",
        "client_msg_id": f"00000000-0000-4000-8000-{ts.replace('.', '')[-12:]}",
        "text": text,
        "user": user,
        "ts": ts,
        "team": team,
        "blocks": [
            {
                "type": "rich_text",
                "block_id": "fake",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
                ],
            }
        ],
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = user
    return event


def reaction_added_event(user: str, reaction: str, channel: str, ts: str) -> JSON:
    """A ``reaction_added`` event on the message ``ts`` in ``channel``."""
    return {
        "type": "reaction_added",
        "user": user,
        "reaction": reaction.strip(":"),
        "item_user": BOT_USER_ID,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": new_ts(),
    }


def block_actions(
    user: str,
    action_id: str,
    value: str,
    channel: str,
    message_ts: str,
    block_id: str = "actions",
    *,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    response_url: str = "https://hooks.slack.com/actions/T1/1/fake",
    button_text: str = "Button",
    message: JSON | None = None,
) -> JSON:
    """The ``block_actions`` interactivity payload for a button click."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team_id},
        "api_app_id": api_app_id,
        "token": "verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": new_trigger_id(),
        "team": {"id": team_id, "domain": "coachbot-test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "directmessage" if channel[:1] == "D" else channel},
        "message": message
        or {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": message_ts,
            "text": "",
            "team": team_id,
            "blocks": [],
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": button_text, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": new_ts(),
            }
        ],
    }


def block_actions_payload(
    user: str,
    action_id: str,
    value: str,
    channel: str,
    message_ts: str,
    block_id: str = "actions",
    **kwargs: Any,
) -> bytes:
    """:func:`block_actions` as Slack posts it: form body ``payload=<json>``.

    Send it with ``Content-Type: application/x-www-form-urlencoded``.
    """
    payload = block_actions(user, action_id, value, channel, message_ts, block_id, **kwargs)
    return urlencode({"payload": json.dumps(payload)}).encode()


def slash_command_body(
    command: str = "/coachbot",
    text: str = "digest",
    user_id: str = "U1",
    channel_id: str = "C1",
    *,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    response_url: str = "https://hooks.slack.com/commands/T1/1/fake",
    trigger_id: str | None = None,
) -> bytes:
    """The form body Slack posts for a slash command."""
    return urlencode(
        {
            "token": "verification-token",
            "team_id": team_id,
            "team_domain": "coachbot-test",
            "channel_id": channel_id,
            "channel_name": "directmessage" if channel_id[:1] == "D" else channel_id.lower(),
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or new_trigger_id(),
        }
    ).encode()


def home_block_actions_payload(user: str, action_id: str, value: str, *, view_id: str,
                               block_id: str = "actions", team_id: str = TEAM_ID,
                               api_app_id: str = APP_ID) -> bytes:
    """A button pressed on the App Home tab, as Slack posts it: its container is the view
    (no channel, no message, no response_url)."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team_id},
        "api_app_id": api_app_id,
        "token": "verification-token",
        "container": {"type": "view", "view_id": view_id},
        "trigger_id": new_trigger_id(),
        "team": {"id": team_id, "domain": "coachbot-test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {"id": view_id, "team_id": team_id, "type": "home", "blocks": [],
                 "private_metadata": "", "callback_id": "", "state": {"values": {}},
                 "hash": "1700000000.fakehash", "app_id": api_app_id, "bot_id": BOT_ID},
        "actions": [{"action_id": action_id, "block_id": block_id,
                     "text": {"type": "plain_text", "text": "Button", "emoji": True},
                     "value": value, "type": "button", "action_ts": new_ts()}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def form_values(view: JSON, typed: dict[str, str]) -> JSON:
    """``view.state.values`` as Slack sends it on submission: every input block, with what
    ``typed`` gives by block id (a text typed, a date picked as YYYY-MM-DD), else empty."""
    values: JSON = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        given = typed.get(block["block_id"])
        if element["type"] == "datepicker":
            state = {"type": "datepicker", "selected_date": given}
        else:
            state = {"type": element["type"], "value": given}
        values[block["block_id"]] = {element["action_id"]: state}
    return values


def view_submission_payload(user: str, view: JSON, typed: dict[str, str], *,
                            team_id: str = TEAM_ID, api_app_id: str = APP_ID) -> bytes:
    """A modal submitted (``view_submission``), as Slack posts it: the view as opened, with
    its ``state`` filled from ``typed`` (by block id)."""
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "coachbot-test"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team_id},
        "api_app_id": api_app_id,
        "token": "verification-token",
        "trigger_id": new_trigger_id(),
        "view": {**view, "state": {"values": form_values(view, typed)},
                 "root_view_id": view.get("id"), "previous_view_id": None},
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return urlencode({"payload": json.dumps(payload)}).encode()
