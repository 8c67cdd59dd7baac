"""passkit: hall-pass analytics from your pass system's exports.

    import passkit
    data = passkit.load("exports/", timezone="America/Chicago")
    passkit.reports.room_usage(data, "2026-01-05", "2026-03-27")
"""

__version__ = "0.1.0"

from . import reports  # noqa: E402  (after __version__, which the cache key reads)
from .data import PassData, load  # noqa: E402
from .errors import PasskitError  # noqa: E402

__all__ = ["PassData", "PasskitError", "load", "reports", "__version__"]
