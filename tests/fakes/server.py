"""What the fake platform servers share: an aiohttp app served from a background thread.

:class:`FakeServer` owns the thread, its event loop and the aiohttp runner (``start`` /
``stop`` / context manager / ``url``), the log of answered requests (guarded by one lock and
announced through a :class:`threading.Condition` so tests can ``wait_for`` them), the
bookkeeping of planned failures, and the decoding of query / JSON / form / multipart bodies.
A platform fake subclasses it and adds its routes (:meth:`FakeServer._add_routes`), its wire
shapes and its helpers.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, ClassVar, Generic, Self, TypeVar

from aiohttp import web

# How long a wait gives up: only a failure detector (a loaded CI machine can be slow);
# a passing test returns as soon as its condition holds.
WAIT = 30.0
# How often a wait looks again although no request arrived: a condition may turn true from
# elsewhere (the database, the clock), and waiting only for the next request once stalled a
# test for the whole WAIT.
RECHECK = 0.05

__all__ = ["JSON", "WAIT", "FailurePlan", "FakeServer", "RecordedCallBase", "UploadedFile"]

JSON = dict[str, Any]
T = TypeVar("T")


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (or a raw upload body), as received by the fake."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class RecordedCallBase:
    """What every fake records about a request it answered (including failed ones)."""

    method: str
    params: JSON
    at: float  # time.monotonic() when the request arrived
    token: str | None
    http_method: str
    status: int  # HTTP status the fake answered with

    @property
    def ok(self) -> bool:
        """Whether the fake answered HTTP 200."""
        return self.status == HTTPStatus.OK


CallT = TypeVar("CallT", bound=RecordedCallBase)


@dataclass
class FailurePlan:
    """An answer to give instead of the real one, ``remaining`` more times (< 0: forever)."""

    status: int
    body: JSON
    remaining: int
    headers: dict[str, str] = field(default_factory=dict)


class FakeServer(Generic[CallT]):
    """Base of the fake platform APIs: an aiohttp app served in a background thread.

    Subclasses set :attr:`server_name` and :attr:`thread_name`, add their routes in
    :meth:`_add_routes`, record what they answer with :meth:`_add_call` and may hook
    :meth:`_on_stopping` (runs before the loop is stopped) and :meth:`_on_starting`.
    """

    #: Name used in error messages, e.g. ``"FakeTelegramAPI"``.
    server_name: ClassVar[str] = "FakeServer"
    #: Name of the background thread.
    thread_name: ClassVar[str] = "fake-server"
    #: Methods left out of the call list a ``wait_for`` timeout reports (e.g. long polls).
    quiet_methods: ClassVar[frozenset[str]] = frozenset()
    #: Whether request bodies are read only for POST (query strings are always read).
    body_only_on_post: ClassVar[bool] = False

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._calls: list[CallT] = []
        self._failures: dict[str, list[FailurePlan]] = {}

        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._port: int | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """Root URL of the running server, e.g. ``http://127.0.0.1:41234``."""
        if self._port is None:
            raise RuntimeError(f"{self.server_name} is not running; call start() first")
        return f"http://{self.host}:{self._port}"

    def start(self) -> Self:
        """Start serving in a background thread; returns once the port is bound."""
        if self._thread is not None:
            raise RuntimeError(f"{self.server_name} already started")
        ready = threading.Event()
        errors: list[BaseException] = []
        self._on_starting()
        self._thread = threading.Thread(
            target=self._serve, args=(ready, errors), name=self.thread_name, daemon=True
        )
        self._thread.start()
        ready.wait(10)
        if errors or self._port is None:
            self._thread.join(5)
            self._thread = None
            raise RuntimeError(f"{self.server_name} failed to start") from (errors or [None])[0]
        return self

    def stop(self) -> None:
        """Stop the server and join its thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        self._on_stopping(loop)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._thread = None
        self._port = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _on_starting(self) -> None:
        """Hook: runs in :meth:`start` before the thread is created."""

    def _on_stopping(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hook: runs in :meth:`stop` before ``loop`` is told to stop."""

    def _add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _serve(self, ready: threading.Event, errors: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        # A fake has nothing in flight worth waiting for when a test ends: stop at once.
        runner = web.AppRunner(self._make_app(), access_log=None, shutdown_timeout=0.1)
        try:
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, self.host, self._requested_port)
            loop.run_until_complete(site.start())
            self._port = runner.addresses[0][1]
        except BaseException as exc:
            errors.append(exc)
            ready.set()
            loop.run_until_complete(runner.cleanup())
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._loop = None

    def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self._add_routes(app)
        return app

    # ------------------------------------------------------------------ recording

    @property
    def calls(self) -> list[tuple[str, JSON]]:
        """Snapshot of every call as ``(method, params)``, in answer order."""
        with self._lock:
            return [(call.method, call.params) for call in self._calls]

    @property
    def recorded(self) -> list[CallT]:
        """Snapshot of every call with its timestamp, token, HTTP status and answer."""
        with self._lock:
            return list(self._calls)

    def calls_of(self, method: str) -> list[JSON]:
        """Params of every call to ``method`` (successful or not)."""
        with self._lock:
            return [call.params for call in self._calls if call.method == method]

    def timestamps(self, method: str | None = None) -> list[float]:
        """Arrival times (``time.monotonic()``) of calls, optionally of one method only."""
        with self._lock:
            return [c.at for c in self._calls if method is None or c.method == method]

    def clear_calls(self) -> None:
        """Forget all recorded calls (platform state such as messages is kept)."""
        with self._lock:
            self._calls.clear()

    def _add_call(self, call: CallT) -> None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[tuple[str, JSON]]], T],
                 timeout: float = WAIT) -> T:
        """Block until ``predicate(calls)`` is truthy and return its value.

        Raises ``TimeoutError`` listing the recorded methods when ``timeout`` passes.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                outcome = predicate(self.calls)
                if outcome:
                    return outcome
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [method for method, _ in self.calls
                            if method not in self.quiet_methods]
                    raise TimeoutError(f"condition not met after {timeout}s; calls: {seen}")
                self._cond.wait(min(remaining, RECHECK))

    def _wait_for_at_least(
        self, n: int, collect: Callable[[], list[JSON]], timeout: float
    ) -> list[JSON]:
        """Wait until ``collect()`` returns at least ``n`` items; return them all."""

        def enough(_calls: list[tuple[str, JSON]]) -> list[JSON] | None:
            found = collect()
            return found if len(found) >= n else None

        return self.wait_for(enough, timeout)

    def wait_for_call(self, method: str, n: int = 1, timeout: float = WAIT) -> list[JSON]:
        """Wait until ``method`` was called at least ``n`` times; return all their params."""
        return self._wait_for_at_least(n, lambda: self.calls_of(method), timeout)

    # ------------------------------------------------------------------ failures

    def clear_failures(self) -> None:
        """Drop every planned failure."""
        with self._lock:
            self._failures.clear()

    def _plan_failure(self, method: str, plan: FailurePlan) -> None:
        """Queue ``plan`` for the next calls of ``method`` (``"*"`` for any)."""
        with self._lock:
            self._failures.setdefault(method, []).append(plan)

    def _next_failure(self, method: str) -> FailurePlan | None:
        """The planned failure for this call of ``method``, if any (call with the lock held)."""
        for key in (method, "*"):
            plans = self._failures.get(key)
            if plans:
                plan = plans[0]
                plan.remaining -= 1
                if plan.remaining <= 0:
                    plans.pop(0)
                return plan
        return None

    # ------------------------------------------------------------------ request bodies

    @staticmethod
    def _decode_form_value(key: str, value: str) -> Any:
        """Turn one query / form value into the param value the platform means."""
        return value

    def _with_files(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        """Hook: place multipart file parts (already in ``params`` by field name)."""
        return params

    async def _read_params(self, request: web.Request) -> JSON:
        """Query string plus JSON, form or multipart body as one params dict."""
        params: JSON = {k: self._decode_form_value(k, v) for k, v in request.query.items()}
        if self.body_only_on_post and request.method != "POST":
            return params
        if not request.body_exists:
            return params
        if request.content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            params.update(body)
            return params
        form = await request.post()
        files: dict[str, UploadedFile] = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):
                with value.file as handle:
                    data = handle.read()
                files[key] = UploadedFile(key, value.filename, value.content_type, data)
                params[key] = files[key]
            else:
                text = value if isinstance(value, str) else bytes(value).decode()
                params[key] = self._decode_form_value(key, text)
        return self._with_files(params, files)
