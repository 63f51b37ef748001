"""Datasette plugin for the desk: one database name, read-only connections with limits, Chinese cells,
finding and target cards, checked parameters, evidence files, CSV for Chinese Excel.

The logic lives in db/desk/ (pure functions and the cards' SQL); this module only wires Datasette's
hooks to it. Scraped text is never trusted as HTML: every cell is escaped, and only http(s) URLs become
links.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import urllib.parse
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

# Datasette loads --plugins-dir modules by path: the project's packages need its root on sys.path.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from datasette import hookimpl  # noqa: E402
from datasette.utils.asgi import NotFound, Response  # noqa: E402
from markupsafe import Markup  # noqa: E402

from core.labels import column_header, column_label, label, param_label  # noqa: E402
from db.desk import DESK_DATABASE, cards, cells, params  # noqa: E402
from db.desk.limits import guard_connection  # noqa: E402
from db.evidence import evidence_dir  # noqa: E402

Scope = MutableMapping[str, Any]
ASGIApp = Callable[..., Awaitable[None]]

BOM = "\ufeff".encode()
STATIC = Path(__file__).resolve().parents[1] / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "application/javascript; charset=utf-8"}
# A captured page is shown as it was, with none of its scripts, requests or forms: its own origin-less
# sandbox, no subresources (nothing is fetched from the site when an inspector opens it).
EVIDENCE_HTML_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


@hookimpl
def startup(datasette: Any) -> None:
    """Serve the one database file as /monitor whatever its file name (mine.db, backup-2026.db…)."""
    if DESK_DATABASE in datasette.databases:
        return
    files = [db for name, db in datasette.databases.items() if name != "_internal" and db.path]
    if len(files) == 1:
        db = files[0]
        datasette.remove_database(db.name)
        datasette.add_database(db, name=DESK_DATABASE)


@hookimpl
def prepare_connection(conn: sqlite3.Connection, database: str) -> None:
    if database == DESK_DATABASE:  # not Datasette's own _internal database, which it writes
        guard_connection(conn)


@hookimpl
def render_cell(row: Any, value: Any, column: str, table: str | None, database: str) -> Markup | None:
    if database != DESK_DATABASE:
        return None
    return cells.render_cell(value, column, row, table)


@hookimpl
def prepare_jinja2_environment(env: Any) -> None:
    env.filters["desk_header"] = column_header
    env.filters["desk_param"] = param_label
    env.filters["desk_time"] = cells.format_time
    env.filters["desk_value"] = cells.render_value
    env.filters["desk_link"] = cells.link
    env.filters["desk_label"] = lambda value, closed_set: label(closed_set, value)
    env.filters["desk_column_label"] = lambda value, column: column_label(column, value) or value
    env.filters["desk_short"] = lambda text, n=80: text if len(text or "") <= n else text[: n - 1] + "…"
    env.globals["desk_card_link"] = cells.card_link


def _canned(datasette: Any, name: str | None) -> dict[str, Any] | None:
    if not name:
        return None
    queries = (datasette.metadata(database=DESK_DATABASE) or {}).get("queries") or {}
    query = queries.get(name)
    return query if isinstance(query, dict) else None


@hookimpl
def extra_template_vars(
    template: str, view_name: str, table: str | None, database: str, request: Any, datasette: Any
) -> Any:
    if database != DESK_DATABASE or request is None:
        return {}

    async def inner() -> dict[str, Any]:
        db = datasette.get_database(DESK_DATABASE)

        async def execute(sql: str, args: Any) -> list[dict[str, Any]]:
            result = await db.execute(sql, list(args))
            return [dict(r) for r in result.rows]

        found: dict[str, Any] = {"desk_database": DESK_DATABASE}
        pks = request.url_vars.get("pks")
        if view_name == "row" and table in ("findings", "targets") and pks and pks.isdigit():
            card = cards.finding_card if table == "findings" else cards.target_card
            found["desk_card"] = await card(execute, int(pks))
        query = _canned(datasette, request.url_vars.get("table"))
        if template.startswith("query") and query is not None:
            _, problems = params.check_params(request.args, query.get("params") or [])
            found["desk_problems"] = problems
            found["desk_params"] = {p: param_label(p) for p in query.get("params") or []}
        return found

    return inner


# --- routes: evidence files and the desk's own static files ------------------------------------------


async def evidence_file(request: Any, datasette: Any) -> Response:
    if not await datasette.permission_allowed(request.actor, "view-instance", default=True):
        raise NotFound("Not found")
    sha, kind = request.url_vars["sha"], request.url_vars["kind"]
    db = datasette.get_database(DESK_DATABASE)
    rows = (
        await db.execute(
            "SELECT path, content_type FROM evidence WHERE sha256 = ? AND kind = ? AND path IS NOT NULL "
            "AND path != '' LIMIT 1",
            [sha, kind],
        )
    ).rows
    if not rows or db.path is None:
        raise NotFound("No such capture")
    root = evidence_dir(db.path)
    path = (root / rows[0]["path"]).resolve()
    if root not in path.parents or not path.is_file():
        raise NotFound("No such capture")
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=86400"}
    if kind == "png":
        return Response(path.read_bytes(), content_type="image/png", headers=headers)
    content_type = rows[0]["content_type"] or "text/html"
    if request.args.get("source"):
        charset = content_type.split("charset=", 1)[1].split(";")[0] if "charset=" in content_type else None
        content_type = "text/plain" + (f"; charset={charset}" if charset else "")
    return Response(
        path.read_bytes(),
        content_type=content_type,
        headers={**headers, "Content-Security-Policy": EVIDENCE_HTML_CSP},
    )


async def static_file(request: Any) -> Response:
    name = request.url_vars["name"]
    path = STATIC / name
    if path.suffix not in STATIC_TYPES or not path.is_file():
        raise NotFound("Not found")
    return Response(path.read_bytes(), content_type=STATIC_TYPES[path.suffix])


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [
        (r"^/-/evidence/(?P<sha>[0-9a-f]{64})\.(?P<kind>html|png)$", evidence_file),
        (r"^/-/desk/(?P<name>[a-z0-9_-]+\.(css|js))$", static_file),
    ]


@hookimpl
def extra_css_urls() -> list[str]:
    return ["/-/desk/desk.css"]


@hookimpl
def extra_js_urls(template: str) -> list[dict[str, Any]]:
    return [{"url": "/-/desk/dashboard.js"}] if template == "dashboard_view.html" else []


@hookimpl
def extra_body_script(template: str, datasette: Any) -> str:
    """On the dashboard: each metric card's list (its chart's ``drilldown``), for /-/desk/dashboard.js."""
    if template != "dashboard_view.html":
        return ""
    config = datasette.plugin_config("datasette-dashboards") or {}
    drill = {
        slug: chart["drilldown"]
        for dashboard in config.values()
        if isinstance(dashboard, dict)
        for slug, chart in (dashboard.get("charts") or {}).items()
        if isinstance(chart, dict) and str(chart.get("drilldown", "")).startswith(f"/{DESK_DATABASE}/")
    }
    payload = json.dumps(drill, ensure_ascii=False).replace("<", "\\u003c")
    return f"window.DESK_DRILLDOWN = {payload};"


@hookimpl
def register_magic_parameters(datasette: Any) -> list[tuple[str, Any]]:
    def desk(key: str, request: Any) -> str:
        if key == "base":  # the desk's own address, for links that leave it (Atom entries)
            return str(datasette.absolute_url(request, "/"))
        raise KeyError(key)

    return [("desk", desk)]


# --- ASGI: parameters normalized or refused, CSV with a BOM ------------------------------------------


def _query_args(scope: Scope) -> list[tuple[str, str]]:
    raw = scope.get("query_string", b"").decode("utf-8", "replace")
    return urllib.parse.parse_qsl(raw, keep_blank_values=True)


def _canned_from_path(path: str) -> tuple[str | None, str]:
    parts = path.strip("/").split("/")
    if len(parts) != 2 or parts[0] != DESK_DATABASE:
        return None, ""
    name, _, ext = parts[1].partition(".")
    return urllib.parse.unquote(name), ext


async def _json_error(send: Any, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", b"%d" % len(data)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def _with_bom(send: Any) -> Any:
    state = {"csv": False, "sent": False}

    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = message.get("headers") or []
            kind = next((v for k, v in headers if k.lower() == b"content-type"), b"")
            state["csv"] = message["status"] == 200 and kind.startswith((b"text/csv", b"text/plain"))
            if state["csv"]:
                headers = [
                    (k, (b"%d" % (int(v) + len(BOM))) if k.lower() == b"content-length" else v)
                    for k, v in headers
                ]
                message = {**message, "headers": headers}
        elif message["type"] == "http.response.body" and state["csv"] and not state["sent"]:
            state["sent"] = True
            message = {**message, "body": BOM + message.get("body", b"")}
        await send(message)

    return wrapped


@hookimpl
def asgi_wrapper(datasette: Any) -> Callable[[ASGIApp], ASGIApp]:
    def wrap(app: ASGIApp) -> ASGIApp:
        async def desk_app(scope: Scope, receive: Any, send: Any) -> None:
            if scope.get("type") != "http":
                await app(scope, receive, send)
                return
            args = _query_args(scope)
            name, ext = _canned_from_path(scope["path"])
            query = _canned(datasette, name)
            declared = list((query or {}).get("params") or [])
            names = {*declared, "level"}  # level as the importer reads it, on any page
            given = dict(args)
            values, problems = params.check_params(given, [n for n in names if n in given])
            if problems and query is not None and ext in ("json", "csv", "atom"):
                await _json_error(
                    send,
                    400,
                    {
                        "ok": False,
                        "status": 400,
                        "title": "参数有误 · invalid parameter",
                        "error": "；".join(str(p) for p in problems),
                        "problems": [
                            {"param": p.param, "value": p.value, "message": p.message} for p in problems
                        ],
                    },
                )
                return
            bad = {p.param for p in problems}
            fixed = [(k, values[k] if k in values and k not in bad else v) for k, v in args]
            if fixed != args:
                scope = {**scope, "query_string": urllib.parse.urlencode(fixed).encode("latin-1")}
            if scope["path"].endswith(".csv"):
                send = _with_bom(send)
            await app(scope, receive, send)

        return desk_app

    return wrap
