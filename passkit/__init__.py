"""passkit: hall-pass analytics from your pass system's exports.

    import passkit
    data = passkit.load("exports/", timezone="America/Chicago")
    passkit.reports.room_usage(data, "2026-01-05", "2026-03-27")
"""

__version__ = "0.1.0"

from . import registry  # noqa: E402  (after __version__, which the cache key reads)

registry.load_builtins()  # the built-in reports, registered in page order

from . import reports  # noqa: E402
from .data import PassData, load  # noqa: E402
from .errors import PasskitError  # noqa: E402
from .tables import Tables  # noqa: E402

__all__ = ["PassData", "PasskitError", "Tables", "load", "registry", "reports", "__version__"]
