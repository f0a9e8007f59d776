"""X display numbers: pick a free ``:N`` and tell whether a running X server on it is ours."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
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


def window_manager_running(display: int) -> bool:
    """True when a window manager runs on ``:display`` (the root window has ``_NET_SUPPORTING_WM_CHECK``).

    The app is started only after that: a window mapped while the window manager is still starting can be
    left unmapped for good (openbox), i.e. a black desktop. Xlib through ctypes: libX11 is there with any X app.
    """
    xlib = _xlib()
    if xlib is None:
        return True  # cannot tell: do not hold the stack up
    dpy = xlib.XOpenDisplay(f":{display}".encode())
    if not dpy:
        return False
    try:
        atom = xlib.XInternAtom(dpy, b"_NET_SUPPORTING_WM_CHECK", True)
        if not atom:
            return False
        actual_type, actual_format = ctypes.c_ulong(), ctypes.c_int()
        items, after, data = ctypes.c_ulong(), ctypes.c_ulong(), ctypes.c_void_p()
        status = xlib.XGetWindowProperty(
            dpy, xlib.XDefaultRootWindow(dpy), atom, 0, 1, False, 0,  # AnyPropertyType
            ctypes.byref(actual_type), ctypes.byref(actual_format), ctypes.byref(items), ctypes.byref(after),
            ctypes.byref(data),
        )  # fmt: skip
        if data.value:
            xlib.XFree(data)
        return status == 0 and items.value > 0
    finally:
        xlib.XCloseDisplay(dpy)


@functools.cache
def _xlib() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("X11")
    if name is None:
        return None
    xlib = ctypes.CDLL(name)
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XInternAtom.restype = ctypes.c_ulong
    xlib.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    xlib.XDefaultRootWindow.restype = ctypes.c_ulong
    xlib.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    xlib.XGetWindowProperty.argtypes = [
        ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_long, ctypes.c_long, ctypes.c_int, ctypes.c_ulong,
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
    ]  # fmt: skip
    xlib.XFree.argtypes = [ctypes.c_void_p]
    xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    return xlib
