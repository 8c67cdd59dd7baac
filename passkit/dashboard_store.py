"""The preset ranges' screens, computed once by `passkit dashboard` and read by every page's kernel.

Twenty admins opening the dashboard at once would otherwise each compute the same quarter in their
own kernel, each with pandas, DuckDB and Altair loaded (~300 MB and ~2 s of CPU a page). Instead,
`prepare` writes `dashboard/` in the cache folder: `meta.json` (the days, grades, schools and
sections the page offers, and which file holds which range) and one JSON file per preset range for
all grades and schools (`dashboard_data.screen`). A kernel reads them with nothing but `json`; what
is not stored (a custom range, a grade) it computes itself, loading the rest of passkit then.

Written at every start of `passkit dashboard` (a few seconds for a district), atomically, so a page
never reads half a file and never a screen made by other code.
"""

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

FOLDER = "dashboard"
META = "meta.json"
FORMAT = 1  # bump when meta.json changes shape


def key(selection) -> str:
    return "|".join([selection.start.isoformat(), selection.end.isoformat(), selection.grade or "",
                     selection.school or ""])


def prepare(data, quarters=(), announce=None) -> Path:
    """Compute the presets' screens for `data` into its cache folder; return the store's folder."""
    from . import dashboard, dashboard_data
    from .params import prior_range
    from .tables import Tables

    folder = Path(data.cache) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    facts = dashboard_data.page_facts(data)
    days = [dt.date.fromisoformat(day) for day in facts["days"]]
    screens = {}
    options = dashboard.presets(days, quarters) if days else {}
    for start, end in dict.fromkeys(options.values()):
        selection = dashboard.Selection(start, end)
        prior = prior_range(start, end, dashboard.quarter_presets(options))
        screen = dashboard_data.screen(Tables(data, start, end, prior=prior))
        name = hashlib.sha256(key(selection).encode()).hexdigest()[:20] + ".json"
        _write(folder / name, screen)
        screens[key(selection)] = name
    _write(folder / META, {"format": FORMAT, "screen_format": dashboard_data.SCREEN_FORMAT, **facts,
                           "screens": screens})  # last: a page finds every screen it names
    if announce:
        announce(f"Computed {len(screens)} preset ranges for the dashboard's pages")
    return folder


def _write(path: Path, value):
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(value, separators=(",", ":")), encoding="utf-8")
    partial.replace(path)


class StoredSource:
    """A page's data read from the store, and computed in the kernel (see `dashboard_data.LiveSource`)
    only for what is not stored. Raises FileNotFoundError / ValueError when there is no usable store."""

    KEPT = 8  # screens kept in memory

    def __init__(self, cache):
        self.cache = Path(cache)
        self.folder = self.cache / FOLDER
        meta = json.loads((self.folder / META).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError("the dashboard store has another format")
        self.format = meta["screen_format"]
        self.files = meta.pop("screens")
        self.facts = meta
        self.kept: dict = {}
        self._live = None

    @property
    def live(self):
        """The kernel's own computing, opened on first need (this is where pandas and DuckDB load)."""
        if self._live is None:
            from .dashboard_data import LiveSource
            from .data import open_cache

            self._live = LiveSource(open_cache(self.cache), facts=self.facts)
        return self._live

    def screen(self, selection) -> dict:
        if selection in self.kept:
            return self.kept[selection]
        found = self._stored(selection)
        if found is None:
            return self.live.screen(selection)
        self.kept[selection] = found
        while len(self.kept) > self.KEPT:
            self.kept.pop(next(iter(self.kept)))
        return found

    def _stored(self, selection) -> dict | None:
        name = self.files.get(key(selection))
        if name is None:
            return None
        try:
            found = json.loads((self.folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):  # replaced or removed meanwhile: compute it instead
            return None
        return found if found.get("format") == self.format else None

    def tables(self, selection):
        return self.live.tables(selection)
