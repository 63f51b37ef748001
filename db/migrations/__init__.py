"""The schema as an ordered list of named migrations; applied in place so an old database upgrades.

Each module ``mNNN_<name>.py`` in this package registers its functions on ``migrations``; modules
are imported in file-name order. A merged migration is never edited: add a new one.
"""

from __future__ import annotations

import importlib
import pkgutil

from sqlite_utils import Migrations

migrations = Migrations("govmedia-monitor")


def _load_all() -> None:
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("m"))
    for name in names:
        importlib.import_module(f"{__name__}.{name}")


_load_all()
