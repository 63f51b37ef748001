"""The report as an Excel workbook (openpyxl): 汇总, 不合格对象, then one sheet per indicator."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from crawler.reporting.model import Report, Tally
from db.desk.cells import format_time
from evidence.pages import is_http_url

HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")
BOLD = Font(bold=True)
LINK = Font(color="1F5F99", underline="single")
WRAP = Alignment(wrap_text=True, vertical="top")
SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")

SUMMARY_SHEET = "汇总"
FAILING_SHEET = "不合格对象"
TALLY_HEADERS = ("对象数", "可检查", "合格", "不合格", "无法检查", "合格率（%）")
FAILING_HEADERS = (
    "序号",
    "地区",
    "主办单位",
    "名称",
    "平台",
    "层级",
    "判定",
    "依据",
    "不合格指标",
    "首次发现",
    "证据链接",
    "取证文件",
    "问题卡片",
)
FINDING_HEADERS = (
    "序号",
    "地区",
    "主办单位",
    "名称",
    "平台",
    "层级",
    "性质",
    "证据",
    "首次发现",
    "最近发现",
    "状态",
    "整改时间",
    "证据链接",
    "取证文件",
    "问题卡片",
)


def sheet_title(text: str, taken: set[str]) -> str:
    """An Excel sheet name: no []:*?/\\, at most 31 characters, unique in the workbook."""
    base = SHEET_NAME_BAD.sub("、", text)[:31]
    name, n = base, 2
    while name in taken:
        suffix = f"（{n}）"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name)
    return name


def _header(ws: Worksheet, row: int, headers: Sequence[str]) -> None:
    for col, text in enumerate(headers, 1):
        cell = ws.cell(row=row, column=col, value=text)
        cell.font, cell.fill, cell.alignment = BOLD, HEADER_FILL, WRAP


def _link(ws: Worksheet, row: int, col: int, url: str | None, text: str | None = None) -> None:
    if not url or not is_http_url(url):
        return
    cell = ws.cell(row=row, column=col, value=text or url)
    cell.hyperlink, cell.font = url, LINK


def _widths(ws: Worksheet, widths: Sequence[int]) -> None:
    for col, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(col)].width = width


def _tally_rows(ws: Worksheet, row: int, title: str, tallies: Iterable[Tally]) -> int:
    ws.cell(row=row, column=1, value=title).font = BOLD
    _header(ws, row + 1, (title.split("（")[0].removeprefix("按"), *TALLY_HEADERS))
    row += 2
    for t in tallies:
        values: list[Any] = [
            t.name,
            t.targets,
            t.checkable,
            t.qualified,
            t.unqualified,
            t.unchecked,
            t.pass_rate,
        ]
        for col, value in enumerate(values, 1):
            ws.cell(row=row, column=col, value="—" if value is None else value)
        row += 1
    return row + 1


def _summary(ws: Worksheet, report: Report) -> None:
    ws["A1"] = report.title
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = report.scope_text
    as_of = format_time(report.as_of) if report.as_of else "—"
    ws["A3"] = f"判定时间点：{as_of}；生成时间：{format_time(report.generated_at)}"
    row = _tally_rows(ws, 5, "总体", [report.total])
    row = _tally_rows(ws, row, "按地区", report.by_region)
    row = _tally_rows(ws, row, "按层级", report.by_level)
    row = _tally_rows(ws, row, "按主办单位", report.by_org)
    ws.cell(row=row, column=1, value="按指标").font = BOLD
    _header(ws, row + 1, ("问题", "指标", "性质", "涉及对象", "问题数", "未整改"))
    row += 2
    for ind in report.indicators:
        values = (
            ind.label,
            ind.indicator,
            ind.findings[0]["severity_label"],
            ind.targets,
            len(ind.findings),
            ind.open,
        )
        for col, value in enumerate(values, 1):
            ws.cell(row=row, column=col, value=value)
        row += 1
    _widths(ws, (28, 26, 10, 10, 10, 10, 12))


def _failing(ws: Worksheet, report: Report) -> None:
    _header(ws, 1, FAILING_HEADERS)
    for i, t in enumerate(report.failing, 1):
        first = t["reasons"][0] if t["reasons"] else {}
        row = i + 1
        values = (
            i,
            t["region_name"],
            t["org"],
            t["name"],
            t["platform_label"],
            t["level"],
            t["verdict"],
            t["basis"],
            t["reason_text"],
            format_time(first.get("first_seen_at") or ""),
        )
        for col, value in enumerate(values, 1):
            ws.cell(row=row, column=col, value=value).alignment = WRAP
        _link(ws, row, 11, first.get("evidence_link"))
        if first.get("capture"):
            ws.cell(row=row, column=12, value=f"evidence/{first['capture']}")
        _link(ws, row, 13, first.get("card_url"), f"问题 #{first.get('id')}")
    ws.freeze_panes = "A2"
    _widths(ws, (6, 14, 22, 20, 10, 8, 8, 14, 40, 17, 40, 30, 14))


def _indicator(ws: Worksheet, findings: list[dict[str, Any]]) -> None:
    _header(ws, 1, FINDING_HEADERS)
    for i, f in enumerate(findings, 1):
        row = i + 1
        values = (
            i,
            f["region_name"],
            f["org"],
            f["name"],
            f["platform_label"],
            f["level"],
            f["severity_label"],
            f["evidence_text"],
            format_time(f["first_seen_at"]),
            format_time(f["last_seen_at"]),
            f["state_label"],
            format_time(f["resolved_at"] or ""),
        )
        for col, value in enumerate(values, 1):
            ws.cell(row=row, column=col, value=value).alignment = WRAP
        _link(ws, row, 13, f["evidence_link"])
        if f["capture"]:
            ws.cell(row=row, column=14, value=f"evidence/{f['capture']}")
        _link(ws, row, 15, f["card_url"], f"问题 #{f['id']}")
    ws.freeze_panes = "A2"
    _widths(ws, (6, 14, 22, 20, 10, 8, 10, 50, 17, 17, 8, 17, 40, 30, 14))


def write_xlsx(report: Report, path: Path) -> Path:
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = SUMMARY_SHEET
    _summary(summary, report)
    _failing(wb.create_sheet(FAILING_SHEET), report)
    taken = {SUMMARY_SHEET, FAILING_SHEET}
    for ind in report.indicators:
        _indicator(wb.create_sheet(sheet_title(ind.label, taken)), ind.findings)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
