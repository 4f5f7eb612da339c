"""The one HTTP server of `coachbot run`: health, readiness, and the routes each integration
registers (payments, bookings, the API, the /join page).

Every route answers errors in one JSON shape, `{"error": {"code", "message", "field"}}`.
A body larger than `MAX_BODY` is refused from its Content-Length before a byte of it is
read (and aiohttp stops reading a chunked one at the same size).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger("coachbot.http")

# Stripe's, Cal.com's and Calendly's events and our API's requests are a few kB; a quarter
# of a megabyte leaves room for the largest of them and none for abuse.
MAX_BODY = 256 * 1024

Register = Callable[[web.Application], None]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error(status: int, code: str, message: str, field: str | None = None, *,
          headers: dict[str, str] | None = None) -> web.Response:
    """The one error shape of every route."""
    return web.json_response({"error": {"code": code, "message": message, "field": field}},
                             status=status, headers=headers)


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse an oversized body unread; turn anything unexpected into the error shape."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return error(413, "too_large", f"the body is over {MAX_BODY} bytes")
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


class HttpServer:
    """One aiohttp application on one host and port."""

    def __init__(self, *, host: str, port: int, ready: Callable[[], bool]) -> None:
        self.host = host
        self.port = port
        self._ready = ready
        self.app = web.Application(client_max_size=MAX_BODY, middlewares=[_guard])
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/readyz", self._readyz)
        self._runner: web.AppRunner | None = None

    def add(self, register: Register) -> None:
        """Let an integration add its routes (before `start`)."""
        register(self.app)

    async def start(self) -> None:
        """Listen; `port` becomes the bound port (useful when 0 was asked for)."""
        # A stop waits this long for requests in flight (a webhook update being stored).
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=5.0)
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
