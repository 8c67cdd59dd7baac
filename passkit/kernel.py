"""The Jupyter kernel passkit starts for its audits and dashboard: ipykernel, minus one slow optional import.

    python -m passkit.kernel -f CONNECTION_FILE

Altair imports jsonschema, whose optional IRI format check imports rfc3987_syntax, and that module
builds ~35 Lark parsers on import: 1.4 s of every kernel's start here (python-jsonschema/jsonschema#1428).
passkit checks no IRIs. Only processes passkit starts itself skip it (this kernel, the `passkit`
command); `import passkit` in anyone else's process leaves their jsonschema as it is.
"""

import sys


def skip_slow_optional_imports():
    """Mark rfc3987_syntax absent, so jsonschema skips its IRI check (before jsonschema is imported)."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


def argv(executable: str = sys.executable) -> list[str]:
    """The kernel command, as a kernelspec's argv. No input history: nobody recalls an audit's or a
    dashboard's cells, and writing it to SQLite cost every cell (about half of a short notebook's run)."""
    return [executable, "-m", "passkit.kernel", "-f", "{connection_file}", "--HistoryManager.enabled=False"]


def main():
    skip_slow_optional_imports()
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
