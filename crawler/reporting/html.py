"""The report as one printable HTML page (A4, Chinese), rendered with Jinja2, every value escaped."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from crawler.reporting.model import Report
from db.desk.cells import format_time
from evidence.pages import is_http_url

TEMPLATES = Path(__file__).with_name("templates")


def render_html(report: Report) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["when"] = lambda value: format_time(value) if value else "—"
    env.tests["http_url"] = is_http_url
    return env.get_template("report.html").render(report=report)


def write_html(report: Report, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path
