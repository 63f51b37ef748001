"""The inspector's desk served by Datasette: its parameters, cells, cards and limits (db/plugins/desk.py
is the thin Datasette plugin that calls these; db/templates holds the pages)."""

from __future__ import annotations

# The desk serves its database under this name whatever the file is called, so every link, the metadata
# and the dashboard (all written for /monitor/…) work for data/mine.db too.
DESK_DATABASE = "monitor"
