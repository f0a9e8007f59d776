"""X display numbers: pick a free ``:N`` and tell whether a running X server on it is ours."""

from __future__ import annotations

from pathlib import Path

X_TMP = Path("/tmp")  # noqa: S108 - where X servers put their lock files and sockets, by convention
FIRST_DISPLAY = 20  # leave :0-:19 to real sessions, ssh -X forwarding (10+) and other tools
LAST_DISPLAY = 999


def lock_file(display: int, tmp: Path = X_TMP) -> Path:
    return tmp / f".X{display}-lock"


def socket_file(display: int, tmp: Path = X_TMP) -> Path:
    return tmp / ".X11-unix" / f"X{display}"


def display_in_use(display: int, tmp: Path = X_TMP) -> bool:
    """True when an X server holds (or left behind) the lock file or the socket of ``:display``."""
    return lock_file(display, tmp).exists() or socket_file(display, tmp).exists()


def free_display(start: int = FIRST_DISPLAY, skip: set[int] | None = None, tmp: Path = X_TMP) -> int:
    """The lowest display number >= ``start`` with neither a lock file nor a socket (and not in ``skip``).

    Two desktops starting at once may pick the same number; the X server's lock file decides, and the loser
    retries with the next number (see :func:`owns_display`).
    """
    skip = skip or set()
    for display in range(start, LAST_DISPLAY + 1):
        if display not in skip and not display_in_use(display, tmp):
            return display
    raise RuntimeError(f"no free X display between :{start} and :{LAST_DISPLAY}: remove stale /tmp/.X*-lock files")


def owns_display(display: int, pid: int, tmp: Path = X_TMP) -> bool:
    """True when the X server with process id ``pid`` holds the lock of ``:display`` and its socket exists."""
    try:
        holder = int(lock_file(display, tmp).read_text().strip())
    except (OSError, ValueError):
        return False
    return holder == pid and socket_file(display, tmp).exists()
