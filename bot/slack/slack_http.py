"""Slack's HTTP requests (events, interactivity, commands) to the Bolt app, on http.server.

Bolt verifies each request's signature and timestamp; an unsigned, forged or stale one gets
401 before any listener runs. One thread per request, so a slow listener never delays
another request's acknowledgement.
"""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

from aiohttp import web
from slack_bolt import App as BoltApp
from slack_bolt import BoltRequest

MAX_BODY = 1024 * 1024  # Slack's payloads are far smaller; anything bigger is not Slack


class SlackHTTPServer:
    """Serves POST /slack/events (every Slack request URL points there)."""

    def __init__(self, bolt: BoltApp, *, host: str = "0.0.0.0", port: int = 3000,
                 path: str = "/slack/events") -> None:
        self.path = path
        handler = _handler(bolt, path)
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{self.path}"

    def start(self) -> SlackHTTPServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                        name="slack-http")
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(5)


def _handler(bolt: BoltApp, path: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            url = urlparse(self.path)
            if url.path != path:
                self._send(404, b"", {})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, b"", {})
                return
            body = self.rfile.read(length).decode("utf-8")
            headers = {k.lower(): [v] for k, v in self.headers.items()}
            response = bolt.dispatch(BoltRequest(body=body, query=url.query, headers=headers))
            payload = (response.body or "").encode("utf-8")
            self._send(response.status, payload, {k: v[0] for k, v in
                                                  response.headers.items() if v})

        def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass  # request lines are noise; Bolt and our listeners log what matters

    return Handler


class SlackRoute:
    """POST /slack/events on the one HTTP server, when it runs (integrations are on): the
    same Bolt dispatch as `SlackHTTPServer`, so Slack and the integrations share a port."""

    def __init__(self, path: str = "/slack/events") -> None:
        self.path = path
        self.bolt: BoltApp | None = None

    def register(self, app: web.Application) -> None:
        """Add the route (before the server starts)."""
        app.router.add_post(self.path, self.post)

    def attach(self, bolt: BoltApp) -> None:
        """Start answering with this Bolt app (Slack's runner builds it)."""
        self.bolt = bolt

    async def post(self, request: web.Request) -> web.Response:
        if self.bolt is None:
            return web.Response(status=503)  # Slack retries; the runner is starting
        body = (await request.read()).decode("utf-8")
        headers = {k.lower(): [v] for k, v in request.headers.items()}
        answer = await asyncio.to_thread(self.bolt.dispatch, BoltRequest(
            body=body, query=request.query_string, headers=headers))
        return web.Response(status=answer.status, body=(answer.body or "").encode("utf-8"),
                            headers={k: v[0] for k, v in answer.headers.items()
                                     if v and k.lower() != "content-length"})
