"""A tiny router and HTTP server for the demo world: HEAD, ETag / Last-Modified, keep-alive."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    base_url: str  # scheme://host:port as the client addressed us
    match: re.Match[str] | None = None


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    last_modified: Any = None  # aware datetime: enables If-Modified-Since
    conditional: bool = True  # answer 304 to a matching If-None-Match / If-Modified-Since


Handler = Callable[[Request], Response]


class Router:
    def __init__(self) -> None:
        self.routes: list[tuple[re.Pattern[str], Handler]] = []

    def add(self, pattern: str, handler: Handler) -> None:
        self.routes.append((re.compile(pattern), handler))

    def dispatch(self, req: Request) -> Response:
        for pattern, handler in self.routes:
            m = pattern.fullmatch(req.path)
            if m:
                req.match = m
                return handler(req)
        return Response(404, b"<html><body><h1>404 Not Found</h1></body></html>")


def _not_modified(req: Request, resp: Response, etag: str) -> bool:
    inm = req.headers.get("if-none-match")
    if inm is not None:
        return etag in [t.strip() for t in inm.split(",")]
    ims = req.headers.get("if-modified-since")
    if ims and resp.last_modified is not None:
        try:
            return resp.last_modified.replace(microsecond=0) <= parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
    return False


class Politeness:
    """What a crawler's politeness looks like from the server: per Host header, the most requests in
    flight at once, the shortest and the mean gap between arrivals (GET /_demo/politeness, ?reset=1)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.inflight: dict[str, int] = {}
            self.hosts: dict[str, dict[str, Any]] = {}

    def arrive(self, host: str) -> None:
        now = time.monotonic()
        with self.lock:
            n = self.inflight[host] = self.inflight.get(host, 0) + 1
            h = self.hosts.setdefault(
                host, {"requests": 0, "max_concurrent": 0, "min_interval_s": None, "_first": now}
            )
            if h["requests"]:
                gap = now - h["_last"]
                h["min_interval_s"] = gap if h["min_interval_s"] is None else min(h["min_interval_s"], gap)
            h["requests"] += 1
            h["_last"] = now
            h["mean_interval_s"] = (now - h["_first"]) / (h["requests"] - 1) if h["requests"] > 1 else None
            h["max_concurrent"] = max(h["max_concurrent"], n)

    def leave(self, host: str) -> None:
        with self.lock:
            self.inflight[host] -= 1

    def report(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {
                host: {k: round(v, 4) if isinstance(v, float) else v for k, v in h.items() if k[0] != "_"}
                for host, h in self.hosts.items()
            }


def make_server(router: Router, host: str, port: int) -> ThreadingHTTPServer:
    politeness = Politeness()

    class DemoHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "demo-world/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _handle(self, head: bool) -> None:
            parts = urlsplit(self.path)
            host_header = self.headers.get("Host") or f"{host}:{port}"
            req = Request(
                method=self.command,
                path=parts.path,
                query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                headers={k.lower(): v for k, v in self.headers.items()},
                base_url=f"http://{host_header}",
            )
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if parts.path == "/_demo/politeness":
                if req.query.get("reset"):
                    politeness.reset()
                body = json.dumps(politeness.report()).encode()
                resp = Response(200, body, "application/json", conditional=False)
                self._send(req, resp, head)
                return
            politeness.arrive(host_header)
            try:
                try:
                    resp = router.dispatch(req)
                except Exception as exc:
                    resp = Response(500, f"<h1>500</h1><pre>{type(exc).__name__}</pre>".encode())
                self._send(req, resp, head)
            finally:
                politeness.leave(host_header)

        def _send(self, req: Request, resp: Response, head: bool) -> None:
            status, body = resp.status, resp.body
            etag = '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'
            if status == 200 and resp.conditional and _not_modified(req, resp, etag):
                status, body = 304, b""
            self.send_response(status)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(body)))
            if resp.status == 200 and resp.conditional:
                self.send_header("ETag", etag)
                if resp.last_modified is not None:
                    last = resp.last_modified.astimezone(UTC)
                    self.send_header("Last-Modified", format_datetime(last, usegmt=True))
            for k, v in resp.headers.items():
                self.send_header(k, v)
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def do_GET(self) -> None:
            self._handle(head=False)

        def do_POST(self) -> None:
            self._handle(head=False)

        def do_HEAD(self) -> None:
            self._handle(head=True)

    server = _Server((host, port), DemoHandler)
    server.daemon_threads = True
    server.politeness = politeness
    return server


class _Server(ThreadingHTTPServer):
    politeness: Politeness

    # socketserver's default listen backlog is 5: a crawler opening 32 connections at once overflows it,
    # the kernel drops SYNs and clients wait 1-3 s to retry — enough to fake timeouts on healthy links.
    request_queue_size = 256


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread
