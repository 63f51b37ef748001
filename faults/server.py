"""The fault server: the demo world behind hostile answers, one port (one origin) per fault and scope.

Each stage serves the demo world's healthy portal, feed, MP and Weibo accounts, and answers the stage's
requests — the entry ones (homepage, feed, first MP list page, Weibo API) or the deep ones (column and
article pages, later list pages, long texts) — with its fault: hangs, resets, 5xx/429 with Retry-After,
truncated and malformed bodies, wrong charsets both ways, huge and gzip-bomb bodies, redirect loops,
login and captcha pages, JSON fields of the wrong type. A collector origin records what reaches it, to
prove that no credential leaves in a Referer or a URL.
"""

from __future__ import annotations

import functools
import json
import random
import re
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from demo.http import Request, Response, Router, _not_modified
from demo.server import build_router

HANG_S = 40.0
HUGE_BYTES = 64 * 1024 * 1024
LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>统一身份认证平台</title></head><body>"
    "<h1>统一身份认证</h1><form method='post'><input name='username'><input type='password' name='pwd'>"
    "<button>登录</button></form></body></html>"
).encode()
CAPTCHA_PAGE = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>安全验证</title></head><body>"
    "<p>请输入验证码后继续访问</p><img src='/verify/captcha.png'><input name='code'></body></html>"
).encode()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048


@dataclass(frozen=True)
class Fault:
    name: str
    kind: str  # network / refusal / charset / oversized / content: what it may justify
    needs_healthy: bool = False  # the fault transforms the healthy answer


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault("hang", "network"),
        Fault("reset", "network"),
        Fault("http500", "network"),
        Fault("http503_retry_after", "network"),
        Fault("truncated", "network", True),
        Fault("redirect_loop", "network"),
        Fault("http429_retry_after", "refusal"),
        Fault("login_redirect", "refusal"),
        Fault("captcha_redirect", "refusal"),
        Fault("captcha", "refusal"),
        Fault("gbk_declared_utf8", "charset", True),
        Fault("utf8_declared_gbk", "charset", True),
        Fault("huge", "oversized"),
        Fault("gzip_bomb", "oversized"),
        Fault("malformed", "content", True),
        Fault("empty", "content"),
        Fault("not_html", "content"),
        Fault("wrong_json_types", "content", True),
    )
}


@dataclass
class Stage:
    """One origin: a fault applied to the entry requests, or to every other request."""

    fault: Fault
    scope: str  # entry / deep
    port: int = 0
    hits: int = 0

    @property
    def name(self) -> str:
        return f"{self.fault.name}@{self.scope}"


def is_entry(path: str, query: dict[str, str]) -> bool:
    """The first request of a target: homepage, feed, first MP list page, the Weibo API."""
    if re.fullmatch(r"/sites/[\w-]+/(index\.html)?", path):
        return True
    if path.startswith("/feeds/"):
        return True
    if path == "/cgi-bin/appmsgpublish":
        return query.get("begin", "0") in ("", "0")
    return (
        path == "/api/container/getIndex" and query.get("page", "1") in ("", "1") and "since_id" not in query
    )


def gzip_bomb(mib: int = 200) -> bytes:
    """A gzip body of about 200 KB that inflates to ``mib`` MiB of zeros (compressed chunk by chunk)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    return b"".join([*(packer.compress(chunk) for _ in range(mib)), packer.flush()])


def _charset(ctype: str, charset: str) -> str:
    base = ctype.split(";", 1)[0].strip() or "text/html"
    return f"{base}; charset={charset}"


# The envelope is left whole (a broken envelope is the malformed fault): fields inside it go wrong.
ENVELOPE = frozenset(
    {"ok", "data", "base_resp", "publish_page", "publish_list", "publish_info", "cards", "mblog"}
)
# The first time each of these fields appears it gets a value no parser reads (so a lost field is
# always counted); other fields of the wrong type are drawn at random, seeded by the request.
ALWAYS_WRONG = {"created_at": "昨天 25:99", "create_time": "不是时间", "reposts_count": "9" * 30}


def corrupt_json(data: Any, rng: random.Random) -> Any:
    """The healthy answer with fields of the wrong type where the platforms have sent them."""
    wrong: list[Any] = ["abc", [], {"x": 1}, None, "99999999999999999999", True]
    pending = dict(ALWAYS_WRONG)

    def walk(node: Any, depth: int = 0) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for k, v in node.items():
                if k in pending:
                    out[k] = pending.pop(k)
                elif k in ENVELOPE:
                    out[k] = walk(v, depth + 1)
                elif k in ("cardlistInfo", "tabsInfo", "page_info", "user") and rng.random() < 0.5:
                    out[k] = rng.choice(["ok", [], 0])
                elif not isinstance(v, dict | list) and rng.random() < 0.25:
                    out[k] = rng.choice(wrong)
                else:
                    out[k] = walk(v, depth + 1)
            return out
        if isinstance(node, list):
            return [walk(v, depth + 1) if rng.random() > 0.1 else rng.choice(wrong) for v in node]
        if isinstance(node, str) and node[:1] in "{[" and depth < 6:
            try:
                return json.dumps(walk(json.loads(node), depth + 1), ensure_ascii=False)
            except ValueError:
                return node
        return node

    return walk(data)


@dataclass
class Collector:
    """What reached the collector origin: (path with query, Referer) per request."""

    seen: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, path: str, referer: str) -> None:
        with self.lock:
            self.seen.append((path, referer))


class FaultWorld:
    """The stages, their servers, and the id aliases that let one demo account be a target per stage."""

    def __init__(self, world: Any, stages: list[Stage], host: str = "127.0.0.1") -> None:
        self.world, self.host = world, host
        self.router: Router = build_router(world)
        self.stages = stages
        self.aliases: dict[str, str] = {}  # a stage target's own uid / fakeid -> the demo account's
        self.collector = Collector()
        self.collector_port = 0
        self.secret_port = 0  # an MP origin whose links and redirects lead to the collector
        self.secret_modes: dict[str, str] = {}  # fakeid alias -> "cross" / "sso"
        self.servers: list[ThreadingHTTPServer] = []
        self.bomb = gzip_bomb()
        self.rng = random.Random(7)

    # --- serving ------------------------------------------------------------------------------

    def start(self) -> None:
        for stage in self.stages:
            server = self._serve(functools.partial(self.handle_stage, stage=stage))
            stage.port = server.server_address[1]
        self.collector_port = self._serve(self.handle_collector).server_address[1]
        self.secret_port = self._serve(self.handle_secret).server_address[1]

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()

    def _serve(self, handle: Callable[[BaseHTTPRequestHandler], None]) -> ThreadingHTTPServer:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                handle(self)

            do_HEAD = do_GET
            do_POST = do_GET

        class Server(ThreadingHTTPServer):
            request_queue_size = 256
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                return  # a client that hangs up on a hostile answer is the point, not news

        server = Server((self.host, 0), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.servers.append(server)
        return server

    def demo_request(self, h: BaseHTTPRequestHandler, port: int) -> Request:
        parts = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        for key in ("value", "containerid", "fakeid"):
            if key in query:
                for alias, real in self.aliases.items():
                    query[key] = query[key].replace(alias, real)
        length = int(h.headers.get("Content-Length") or 0)
        if length:
            h.rfile.read(length)
        return Request(
            method=h.command,
            path=parts.path,
            query=query,
            headers={k.lower(): v for k, v in h.headers.items()},
            base_url=f"http://{self.host}:{port}",
        )

    def healthy(self, req: Request) -> Response:
        try:
            return self.router.dispatch(req)
        except Exception as exc:
            return Response(500, f"<h1>500</h1><pre>{type(exc).__name__}</pre>".encode())

    @staticmethod
    def send(
        h: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        ctype: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
        *,
        length: int | None = None,
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    def send_healthy(self, h: BaseHTTPRequestHandler, req: Request, resp: Response) -> None:
        import hashlib

        status, body = resp.status, resp.body
        etag = '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'
        if status == 200 and resp.conditional and _not_modified(req, resp, etag):
            status, body = 304, b""
        headers = dict(resp.headers)
        if resp.status == 200 and resp.conditional:
            headers["ETag"] = etag
        self.send(h, status, body, resp.content_type, headers)

    def handle_stage(self, h: BaseHTTPRequestHandler, *, stage: Stage) -> None:
        req = self.demo_request(h, stage.port)
        if req.path == "/sso/login":
            return self.send(h, 200, LOGIN_PAGE)
        if req.path.startswith("/verify/"):
            return self.send(h, 200, CAPTCHA_PAGE)
        entry = is_entry(req.path, req.query)
        if entry != (stage.scope == "entry"):
            return self.send_healthy(h, req, self.healthy(req))
        stage.hits += 1
        self.apply(h, req, stage)
        return None

    # --- the faults ---------------------------------------------------------------------------

    def apply(self, h: BaseHTTPRequestHandler, req: Request, stage: Stage) -> None:
        name = stage.fault.name
        resp = self.healthy(req) if stage.fault.needs_healthy else None
        url = f"http://{self.host}:{stage.port}{h.path}"
        if name == "hang":
            time.sleep(HANG_S)
            h.close_connection = True
        elif name == "reset":
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.close_connection = True
        elif name == "http500":
            self.send(h, 500, b"<h1>500 Internal Server Error</h1>")
        elif name in ("http503_retry_after", "http429_retry_after"):
            status = 503 if name.startswith("http503") else 429
            self.send(h, status, b"<h1>busy</h1>", headers={"Retry-After": "1"})
        elif name == "redirect_loop":
            n = int(req.query.get("loop", "0") or 0)
            target = f"{req.path}?{urlencode({**req.query, 'loop': (n + 1) % 2})}"
            self.send(h, 302, b"", headers={"Location": target})
        elif name == "login_redirect":
            self.send(h, 302, b"", headers={"Location": f"/sso/login?service={quote(url, safe='')}"})
        elif name == "captcha_redirect":
            self.send(h, 302, b"", headers={"Location": f"/verify/captcha?from={quote(url, safe='')}"})
        elif name == "captcha":
            self.send(h, 200, CAPTCHA_PAGE)
        elif name == "empty":
            self.send(h, 200, b"")
        elif name == "not_html":
            self.send(h, 200, PNG, "image/png")
        elif name == "huge":
            self.stream_huge(h)
        elif name == "gzip_bomb":
            self.send(h, 200, self.bomb, "text/html; charset=utf-8", {"Content-Encoding": "gzip"})
        else:
            assert resp is not None
            self.transform(h, resp, name)

    def stream_huge(self, h: BaseHTTPRequestHandler) -> None:
        """A body with no Content-Length that goes on until the client hangs up (or HUGE_BYTES)."""
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Connection", "close")
        h.end_headers()
        chunk = b"<p>" + "很长的页面".encode() * 2000 + b"</p>\n"
        sent = 0
        try:
            while sent < HUGE_BYTES and h.command != "HEAD":
                h.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            pass
        h.close_connection = True

    def transform(self, h: BaseHTTPRequestHandler, resp: Response, name: str) -> None:
        body, ctype = resp.body, resp.content_type
        if name == "truncated":
            h.send_response(resp.status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body) + 4096))
            h.end_headers()
            if h.command != "HEAD":
                h.wfile.write(body[: len(body) // 2])
            h.close_connection = True
            return None
        if name == "malformed":
            junk = bytes(self.rng.randrange(256) for _ in range(8192))
            return self.send(h, resp.status, body[: len(body) // 3] + junk, ctype)
        if name in ("gbk_declared_utf8", "utf8_declared_gbk"):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                return self.send(h, resp.status, body, ctype)
            if name == "gbk_declared_utf8":
                return self.send(h, resp.status, text.encode("gbk", "replace"), _charset(ctype, "utf-8"))
            text = re.sub(r"<meta charset=['\"]?utf-8['\"]?>", '<meta charset="gb2312">', text, flags=re.I)
            return self.send(h, resp.status, text.encode("utf-8"), _charset(ctype, "GBK"))
        if name == "wrong_json_types" and "json" in ctype:
            try:
                data = json.loads(body)
            except ValueError:
                return self.send(h, resp.status, body, ctype)
            rng = random.Random(zlib.crc32(h.path.encode()))  # the same answer for the same URL
            bad = json.dumps(corrupt_json(data, rng), ensure_ascii=False).encode()
            return self.send(h, resp.status, bad, ctype)
        return self.send(h, resp.status, body, ctype)

    # --- secrets ------------------------------------------------------------------------------

    def handle_collector(self, h: BaseHTTPRequestHandler) -> None:
        """Another origin: records every request (its URL, Referer, Cookie), answers with demo pages."""
        self.collector.record(h.path, f"{h.headers.get('Referer', '')} | {h.headers.get('Cookie', '')}")
        req = self.demo_request(h, self.collector_port)
        self.send_healthy(h, req, self.healthy(req))

    @property
    def collector_origin(self) -> str:
        # Another host name for the same loopback address: another origin, and another cookie domain.
        return f"http://localhost:{self.collector_port}"

    def handle_secret(self, h: BaseHTTPRequestHandler) -> None:
        """An MP origin. For a "cross" target its list links the articles on the collector's origin and
        its second page redirects there; for an "sso" target the list redirects to an SSO login page
        that quotes the list URL, token included, in its query."""
        req = self.demo_request(h, self.secret_port)
        if req.path == "/sso/login":
            return self.send(h, 200, LOGIN_PAGE)
        fakeid = parse_qs(urlsplit(h.path).query).get("fakeid", [""])[-1]
        mode = self.secret_modes.get(fakeid)
        if req.path != "/cgi-bin/appmsgpublish" or mode is None:
            return self.send_healthy(h, req, self.healthy(req))
        here = f"http://{self.host}:{self.secret_port}{h.path}"
        if mode == "sso":
            return self.send(h, 302, b"", headers={"Location": f"/sso/login?service={quote(here, safe='')}"})
        if req.query.get("begin", "0") not in ("", "0"):
            return self.send(h, 302, b"", headers={"Location": f"{self.collector_origin}/collect/next"})
        req.base_url = self.collector_origin
        resp = self.healthy(req)
        return self.send(h, resp.status, resp.body, resp.content_type)
