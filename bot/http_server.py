"""The one HTTP server of `coachbot run`: health, readiness, and the routes each integration
registers (payments, bookings, the API, the /join page).

Every route answers errors in one JSON shape, `{"error": {"code", "message", "field"}}`.
A request body is read here, once, before any route sees it: refused unread when its
Content-Length is missing (411) or over `MAX_BODY` (413; aiohttp itself answers 400 to a
negative or malformed one), a chunked one cut off at the same size (413), and a sender too
slow to finish it within `READ_TIMEOUT` answered 408. Routes then get the bytes from
`request.read()` without waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger("coachbot.http")


class _OneShortLine(logging.Filter):
    """A request aiohttp cannot parse, logged as one short warning with the error's type."""

    # aiohttp logs it as an ERROR with a traceback quoting the bad line: a stranger's
    # bytes, up to 8 kB, in our log.

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            kind = record.exc_info[0].__name__ if record.exc_info[0] else "error"
            record.msg, record.args = "http request refused unparsed: %s", (kind,)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_server_log = logging.getLogger("coachbot.http.server")
_server_log.addFilter(_OneShortLine())

# Stripe's, Cal.com's and Calendly's events and our API's requests are a few kB; a quarter
# of a megabyte leaves room for the largest of them and none for abuse.
MAX_BODY = 256 * 1024
# Our senders post a few kB at once; a body trickling in for longer holds a connection open
# for nothing (slowloris).
READ_TIMEOUT = 10.0
# An idle keep-alive connection is closed after this long (aiohttp keeps it an hour).
IDLE_TIMEOUT = 30.0
# How long a stop waits for requests in flight; each is a few database statements.
SHUTDOWN_TIMEOUT = 5.0
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_READ_TIMEOUT = web.AppKey("read_timeout", float)

Register = Callable[[web.Application], None]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error(status: int, code: str, message: str, field: str | None = None, *,
          headers: dict[str, str] | None = None) -> web.Response:
    """The one error shape of every route."""
    return web.json_response({"error": {"code": code, "message": message, "field": field}},
                             status=status, headers=headers)


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read the body within its bounds; turn anything unexpected into the error shape."""
    if request.method in _WITH_BODY:
        refused = await _read_body(request)
        if refused is not None:
            return refused
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        return error(413, "too_large", f"the body is over {MAX_BODY} bytes")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason)
    except Exception as exc:
        # Only the type: the message may quote SQL parameters (a client's data).
        log.error("http request failed path=%s error=%s", request.path, type(exc).__name__)
        log.debug("http request failure detail", exc_info=exc)
        return error(500, "internal", "something went wrong on our side; try again")


async def _read_body(request: web.Request) -> web.Response | None:
    """Read the body into the request (bounded, timed); an error answer when refused."""
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if request.content_length is None and not chunked:
        return error(411, "length_required", "send a Content-Length")
    if request.content_length is not None and request.content_length > MAX_BODY:
        return error(413, "too_large", f"the body is over {MAX_BODY} bytes")
    try:
        async with asyncio.timeout(request.app[_READ_TIMEOUT]):
            await request.read()  # aiohttp keeps the bytes: the route's read() is instant
    except web.HTTPRequestEntityTooLarge:
        return error(413, "too_large", f"the body is over {MAX_BODY} bytes")
    except TimeoutError:
        return error(408, "timeout", "the body did not arrive in time")
    return None


class HttpServer:
    """One aiohttp application on one host and port."""

    def __init__(self, *, host: str, port: int, ready: Callable[[], bool],
                 shutdown_timeout: float = SHUTDOWN_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT) -> None:
        self.host = host
        self.port = port
        self.shutdown_timeout = shutdown_timeout
        self._ready = ready
        self.app = web.Application(client_max_size=MAX_BODY, middlewares=[_guard])
        self.app[_READ_TIMEOUT] = read_timeout
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/readyz", self._readyz)
        self._runner: web.AppRunner | None = None

    def add(self, register: Register) -> None:
        """Let an integration add its routes (before `start`)."""
        register(self.app)

    async def start(self) -> None:
        """Listen; `port` becomes the bound port (useful when 0 was asked for)."""
        self._runner = web.AppRunner(self.app, access_log=None, keepalive_timeout=IDLE_TIMEOUT,
                                     shutdown_timeout=self.shutdown_timeout,
                                     logger=_server_log)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        log.info("http server listening host=%s port=%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Serve until `stop` is set or the task is cancelled."""
        await self.start()
        try:
            await (stop.wait() if stop is not None else asyncio.Event().wait())
        finally:
            await self.stop()

    async def _healthz(self, _: web.Request) -> web.Response:
        # Alive: the process answers. Whether it can work is /readyz's question.
        return web.json_response({"ok": True})

    async def _readyz(self, _: web.Request) -> web.Response:
        if await asyncio.to_thread(self._ready):
            return web.json_response({"ok": True, "database": "reachable"})
        return error(503, "not_ready", "the database is not reachable")
