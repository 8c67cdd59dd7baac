"""passkit: hall-pass analytics from your pass system's exports.

    import passkit
    data = passkit.load("exports/", timezone="America/Chicago")
    passkit.reports.room_usage(data, "2026-01-05", "2026-03-27")
"""

import importlib

__version__ = "0.1.0"

from . import registry  # noqa: E402  (after __version__, which the cache key reads)
from .errors import PasskitError  # noqa: E402

# pandas, DuckDB and narwhals load on first use (PEP 562): a dashboard kernel showing stored screens
# never needs them, and starts in a fraction of the time and memory. The registry loads the built-in
# reports, in page order, the first time it is asked for one.
_LAZY = {"PassData": "data", "load": "data", "Tables": "tables", "reports": "reports"}

__all__ = ["PassData", "PasskitError", "Tables", "load", "registry", "reports", "__version__"]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'passkit' has no attribute {name!r}")
    module = importlib.import_module(f".{_LAZY[name]}", __name__)
    return module if name == _LAZY[name] else getattr(module, name)
