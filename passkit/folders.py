"""Where passkit writes: output folders it may fill or replace, and folder names that never collide.

passkit marks every folder it writes with MARKER. It writes into an empty or new folder, or into
one it marked earlier (replacing its own files), and refuses anything else: the data folder or a
folder inside it, a system folder, a file, or a folder of someone else's files.
"""

import os
import re
import shutil
import tempfile
from pathlib import Path

from .errors import PasskitError

MARKER = ".passkit-output"
# Folders no report belongs in, nor anywhere inside the first group.
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/sbin", "/sys", "/usr")
SYSTEM_FOLDERS = ("/", "/home", "/media", "/mnt", "/opt", "/root", "/run", "/srv", "/tmp", "/var", "/Users",
                  "/Applications", "/System", "/Library")


def check_output(out, data_dir=None, option: str = "--out") -> Path:
    """`out`, resolved, if passkit may write there; else one line saying why not (exit 2)."""
    path = Path(out).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise PasskitError(f"is a file, not a folder; give {option} a folder", file=path)
    if data_dir is not None:
        data = Path(data_dir).expanduser().resolve()
        if path == data or data in path.parents:
            raise PasskitError(f"is the data folder or inside it; passkit never writes among the exports: choose "
                               f"another {option}", file=path)
    if (str(path) in SYSTEM_FOLDERS or path == Path.home()
            or any(str(path) == tree or str(path).startswith(tree + "/") for tree in SYSTEM_TREES)):
        raise PasskitError(f"is a system folder; choose another {option}", file=path)
    if path.is_dir() and not is_ours(path) and any(path.iterdir()):
        raise PasskitError(f"holds files passkit did not write; choose an empty or new {option}", file=path)
    return path


def is_ours(folder: Path) -> bool:
    return (Path(folder) / MARKER).is_file()


def mark(folder: Path):
    (Path(folder) / MARKER).write_text("Written by passkit, which may replace the files in this folder.\n",
                                       encoding="utf-8")


def slug(text: str) -> str:
    """'Demo High' -> 'demo-high'; '2025-26 Q3' -> '2025-26-q3'."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "audit"


def unique_slugs(names) -> dict[str, str]:
    """{name: folder name}: slugs, with -2, -3... where two names give the same one ('North High', 'North/High')."""
    found, used = {}, set()
    for name in names:
        base = candidate = slug(name)
        number = 2
        while candidate in used:
            candidate, number = f"{base}-{number}", number + 1
        used.add(candidate)
        found[name] = candidate
    return found


# ---- temporary folders that outlive a killed process ---------------------------------------------

def staging_name(folder: Path) -> str:
    """A hidden name beside `folder` that says which process is writing it."""
    return f".{folder.name}.{os.getpid()}.partial"


def staging(folder: Path) -> Path:
    """A new hidden folder beside `folder` to write it in (readable as the umask allows, not mkdtemp's 0700)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(folder.parent)
    path = Path(tempfile.mkdtemp(prefix=staging_name(folder) + "-", dir=folder.parent))
    path.chmod(0o777 & ~umask())
    return path


def swap_in(staging: Path, folder: Path):
    """Move a finished `staging` folder to `folder`, replacing an earlier one (which was checked as ours)."""
    if folder.exists():
        old = folder.with_name(f".{folder.name}.{os.getpid()}.old")
        folder.rename(old)
        staging.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(folder)


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_stale(parent: Path):
    """Remove staging folders (`.NAME.PID.partial`, `.NAME.PID.old`) of processes no longer running."""
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return
    for entry in entries:
        match = re.fullmatch(r"\..+\.(\d+)\.(partial|old)(-\w+)?", entry.name)
        if match and entry.is_dir() and not alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


def alive(pid: int) -> bool:
    """Whether process `pid` runs (this one included; another user's counts)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
