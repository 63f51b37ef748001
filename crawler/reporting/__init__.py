"""Reports to hand in (检查报告 / 通报): detection's verdicts and findings for a region, level or 主办单位
and a period, as an Excel workbook or a printable page (``scrapy report``)."""
