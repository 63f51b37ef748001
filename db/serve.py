"""Serve the database with Datasette, read-only, with this project's metadata, plugin, pages and limits.

The file is opened as it lives — crawls keep writing to it — through read-only connections (Datasette's
mutable mode: ``?mode=ro``, plus ``query_only`` and a value-length limit from db/plugins/desk.py), so every
request sees what was committed last. It is served as /monitor whatever the file is called.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from core.labels import LABELS

METADATA_DIR = Path(__file__).with_name("metadata")
PLUGINS_DIR = Path(__file__).with_name("plugins")
TEMPLATES_DIR = Path(__file__).with_name("templates")


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def resolve_labels(value: Any) -> Any:
    """``{$labels: update_state}`` -> that closed set's Chinese labels, ``{$values: level}`` -> its values,
    in the enum's order (chart legends, filter options): the YAML never retypes a closed set."""
    if isinstance(value, dict):
        if set(value) == {"$labels"}:
            return list(LABELS[value["$labels"]].values())
        if set(value) == {"$values"}:
            return list(LABELS[value["$values"]])
        return {k: resolve_labels(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_labels(v) for v in value]
    return value


def build_metadata() -> dict[str, Any]:
    """Datasette metadata: the fragments in db/metadata/*.yml, deep-merged in file-name order.

    Each stage (portal, accounts, detection, the desk) owns one fragment, so none edits another's.
    """
    merged: dict[str, Any] = {}
    for path in sorted(METADATA_DIR.glob("*.yml")):
        merged = _merge(merged, yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return resolve_labels(merged)  # type: ignore[no-any-return]


def write_metadata() -> Path:
    digest = hashlib.sha1(
        json.dumps(build_metadata(), sort_keys=True).encode(), usedforsecurity=False
    ).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"govmedia-monitor-metadata-{digest}.json"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(build_metadata(), ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(path)
    return path


def datasette_command(db_path: str | Path, *, port: int, host: str = "127.0.0.1") -> list[str]:
    """The argv that serves ``db_path``: read-only live file, SQL time limit, metadata, the desk plugin."""
    cmd = [
        str(Path(sys.executable).with_name("datasette")),
        "serve",
        str(db_path),
        "--metadata",
        str(write_metadata()),
        "--host",
        host,
        "--port",
        str(port),
        "--setting",
        "sql_time_limit_ms",
        "3000",
        "--setting",
        "default_page_size",
        "50",
        "--setting",
        "allow_download",
        "off",
        # suggested facets try every column on every table page: ~1.2 s at 100,000 findings
        "--setting",
        "suggest_facets",
        "off",
    ]
    cmd += ["--plugins-dir", str(PLUGINS_DIR), "--template-dir", str(TEMPLATES_DIR)]
    return cmd


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m db.serve",
        description="Serve the monitor database with Datasette. Example: python -m db.serve "
        "data/monitor.db --port 8001",
    )
    parser.add_argument("db", nargs="?", default=os.environ.get("MONITOR_DB", "data/monitor.db"))
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    if not Path(args.db).exists():
        print(f"{args.db} does not exist yet: import targets and crawl first (see README)", file=sys.stderr)
        return 1
    from db import open_db

    open_db(args.db).close()  # bring an older file up to the current schema before serving
    cmd = datasette_command(args.db, port=args.port, host=args.host)
    print(f"Datasette: http://{args.host}:{args.port}/", flush=True)
    os.execv(cmd[0], cmd)  # noqa: S606
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
