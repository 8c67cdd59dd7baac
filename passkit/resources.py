"""Files passkit ships beside its code: the report notebooks, the Voila configuration and page template,
and the example parameter files.

The repository keeps them at its top level (`notebooks/`, `config/`, `parameters/`), where analysts
open them; the wheel carries the same files inside the package (pyproject's force-include), so an
installed passkit finds them here without the repository. A source checkout's editable install
has no copy inside the package and uses the repository's.
"""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SHIPPED = ("notebooks", "config", "parameters")


def path(name: str) -> Path:
    """The folder `name` (one of SHIPPED) as this installation has it."""
    if name not in SHIPPED:
        raise ValueError(f"passkit ships {SHIPPED}, not {name!r}")
    inside = PACKAGE / name
    return inside if inside.is_dir() else PACKAGE.parent / name


def notebook(name: str) -> Path:
    return path("notebooks") / f"{name}.ipynb"
