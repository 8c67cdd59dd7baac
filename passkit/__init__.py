"""passkit: hall-pass analytics from your pass system's exports.

    import passkit
    data = passkit.load("exports/", timezone="America/Chicago")
    passkit.reports.room_usage(data, "2026-01-05", "2026-03-27")
"""

import sys

__version__ = "0.1.0"

# Altair imports jsonschema, whose optional 'iri' format check imports rfc3987_syntax, and that module
# builds ~35 Lark parsers on import: 1.5 s of every notebook kernel's and command's start on this
# machine (python-jsonschema/jsonschema#1428). passkit checks no IRIs; marked absent, jsonschema skips it.
sys.modules.setdefault("rfc3987_syntax", None)

from . import reports  # noqa: E402  (after __version__, which the cache key reads)
from .data import PassData, load  # noqa: E402
from .errors import PasskitError  # noqa: E402

__all__ = ["PassData", "PasskitError", "load", "reports", "__version__"]
