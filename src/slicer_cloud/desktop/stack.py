"""The desktop stack described as data: which processes, with which command templates, in which order.

Like jupyter-server-proxy, a process is a command template (``{display}``, ``{geometry}``, ``{vnc_socket}``,
``{data}``...) plus how to tell it is ready and what to do when it exits. The :class:`~.supervisor.Supervisor`
runs the list in order and stops it in reverse.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Readiness = Literal["x_display", "x_display_vnc", "window_manager", "unix_socket", "started"]
RestartPolicy = Literal["always", "never", "end_session"]
VncServer = Literal["tigervnc", "x11vnc"]
VncChoice = Literal["auto", "tigervnc", "x11vnc"]
VNC_ENV = "SLICER_CLOUD_DESKTOP_VNC"  # auto (default) | tigervnc | x11vnc
GL_ENV = "SLICER_CLOUD_DESKTOP_GL"  # auto (default) | cpu | virtualgl
NVIDIA_DEVICE = Path("/dev/nvidia0")


@dataclass(frozen=True)
class ProcessSpec:
    """One process of the stack.

    :param name: short name used in logs and by tests (``xvfb``, ``wm``, ``app``, ``vnc``).
    :param command: argv template; every item is formatted with the stack's placeholders.
    :param ready: how the supervisor knows the process is up: its X display answers (``x_display``; with
        ``x_display_vnc`` its VNC unix socket accepts too: Xtigervnc is both), its unix socket accepts, or simply
        that it started; ``window_manager``: a window manager has taken the screen (``_NET_SUPPORTING_WM_CHECK``).
    :param restart: ``always`` restart it when it exits; ``never`` leave it; ``end_session`` end the desktop with
        its exit code (``--exit-with-app``).
    :param env: extra environment (templates too); ``DISPLAY`` is always set.
    :param cwd: working folder (template), default the data root.
    :param optional: a missing executable is logged and skipped instead of failing the start.
    """

    name: str
    command: tuple[str, ...]
    ready: Readiness = "started"
    restart: RestartPolicy = "always"
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str = "{data}"
    optional: bool = False

    def argv(self, values: Mapping[str, object]) -> list[str]:
        return [part.format(**values) for part in self.command]

    def environment(self, values: Mapping[str, object]) -> dict[str, str]:
        return {key: value.format(**values) for key, value in self.env.items()}


@dataclass
class StackConfig:
    """What the stack is built from (from :class:`~slicer_cloud.settings.Settings`)."""

    app: list[str]
    geometry: str = "1600x1000"
    exit_with_app: bool = False
    window_manager: bool = True
    vnc: VncChoice = "auto"
    gl_prefix: tuple[str, ...] = ()


def choose_vnc(choice: str | None = None, environ: Mapping[str, str] | None = None) -> VncServer:
    """Which display + VNC server runs the desktop.

    ``tigervnc`` (Debian's tigervnc-standalone-server: Xtigervnc is the X server and the VNC server in one) when
    installed: it honours the browser's resize requests (SetDesktopSize) and syncs the clipboard. Otherwise
    ``x11vnc`` on ``Xvfb`` (fixed screen size, scaled by noVNC; clipboard synced too). ``choice`` (or the
    ``SLICER_CLOUD_DESKTOP_VNC`` environment variable) forces one: ``auto``, ``tigervnc`` or ``x11vnc``.
    """
    environ = os.environ if environ is None else environ
    choice = (choice if choice not in (None, "auto") else environ.get(VNC_ENV, "auto")).strip().lower()
    if choice not in ("auto", "tigervnc", "x11vnc"):
        raise ValueError(f"{VNC_ENV} must be auto, tigervnc or x11vnc, not {choice!r}")
    if choice == "auto":
        return "tigervnc" if shutil.which("Xtigervnc") else "x11vnc"
    return choice  # type: ignore[return-value]


def gl_prefix(environ: Mapping[str, str] | None = None, device: Path = NVIDIA_DEVICE) -> list[str]:
    """What the app's command is prefixed with for its OpenGL: ``vglrun -d egl`` or nothing (Mesa on the CPU).

    ``auto`` (default): VirtualGL's EGL back end when an NVIDIA GPU is there (``/dev/nvidia0``) and ``vglrun`` is
    installed: the app's GLX calls are rendered on the GPU without a second X server. ``cpu`` never;
    ``virtualgl`` always (an error when ``vglrun`` is missing). Set with ``SLICER_CLOUD_DESKTOP_GL``.
    """
    environ = os.environ if environ is None else environ
    choice = environ.get(GL_ENV, "auto").strip().lower()
    if choice not in ("auto", "cpu", "virtualgl"):
        raise ValueError(f"{GL_ENV} must be auto, cpu or virtualgl, not {choice!r}")
    vglrun = shutil.which("vglrun")
    if choice == "virtualgl" and vglrun is None:
        raise ValueError(f"{GL_ENV}=virtualgl but vglrun is not installed: install VirtualGL (docs/desktop.md, GPU)")
    if choice == "cpu" or vglrun is None:
        return []
    return [vglrun, "-d", "egl"] if choice == "virtualgl" or device.exists() else []


def slicer_executable(environ: Mapping[str, str] | None = None) -> str | None:
    """Slicer when installed: ``SLICER_EXECUTABLE``, else ``Slicer`` on ``PATH``; None when neither exists."""
    environ = os.environ if environ is None else environ
    configured = environ.get("SLICER_EXECUTABLE")
    if configured and Path(configured).is_file() and os.access(configured, os.X_OK):
        return configured
    return shutil.which("Slicer")


def native_viewer_command() -> list[str]:
    return [sys.executable, "-m", "slicer_cloud.desktop.native_viewer", "--geometry", "{geometry}", "{data}"]


def app_command(app: str | None, environ: Mapping[str, str] | None = None) -> list[str]:
    """argv of the app: ``--app CMD`` split like a shell would, else Slicer, else the built-in native viewer."""
    if app:
        return shlex.split(app)
    slicer = slicer_executable(environ)
    return [slicer] if slicer else native_viewer_command()


def _xtigervnc() -> ProcessSpec:
    """Xtigervnc: X server and VNC server in one process; resizable (RandR + SetDesktopSize), clipboard built in."""
    return ProcessSpec(
        "xvnc",
        (
            "Xtigervnc", ":{display}", "-geometry", "{geometry}", "-depth", "24",
            "-nolisten", "tcp", "-nolisten", "unix-abstract",
            # No TCP port at all (-rfbport -1): only the unix socket in the session's private 0700 folder,
            # reachable through the authenticated WebSocket bridge (docs/adr/0004-desktop-vnc-behind-the-bridge.md).
            "-rfbport", "-1", "-rfbunixpath", "{vnc_socket}", "-rfbunixmode", "0600", "-SecurityTypes", "None",
            # Browser-driven resize and both clipboard directions (Xtigervnc's defaults, stated so they stay on).
            "-AcceptSetDesktopSize=1", "-AcceptCutText=1", "-SendCutText=1", "-SendPrimary=1", "-SetPrimary=1",
            "-AlwaysShared", "-desktop", "slicer-cloud",
        ),
        ready="x_display_vnc",
        cwd="/",
    )  # fmt: skip


def _xvfb() -> ProcessSpec:
    return ProcessSpec(
        "xvfb",
        ("Xvfb", ":{display}", "-screen", "0", "{geometry}x24", "-nolisten", "tcp", "-nolisten", "unix-abstract"),
        ready="x_display",
        cwd="/",
    )


def _x11vnc() -> ProcessSpec:
    return ProcessSpec(
        "vnc",
        # No TCP port at all (-rfbport 0): a unix socket in the session's private 0700 folder, reachable only
        # through the authenticated WebSocket bridge. See docs/adr/0004-desktop-vnc-behind-the-bridge.md.
        (
            "x11vnc", "-display", ":{display}", "-unixsock", "{vnc_socket}",
            # -rfbport 0 only stops IPv4, -rfbportv6 -1 the IPv6 one (-localhost would refuse the unix socket).
            "-rfbport", "0", "-rfbportv6", "-1",
            "-forever", "-shared", "-nopw", "-noxdamage", "-quiet", "-xkb", "-ncache", "0",
            # Clipboard both ways is x11vnc's default (no -nosel/-noprimary/-noclipboard/-noset*/-seldir here):
            # PRIMARY and CLIPBOARD changes go to the viewers as ServerCutText; ClientCutText sets both selections.
        ),
        ready="unix_socket",
        cwd="/",
    )  # fmt: skip


def build_stack(config: StackConfig) -> list[ProcessSpec]:
    """The processes of one desktop, in start order.

    ``tigervnc``: Xtigervnc (X + VNC), window manager, app. ``x11vnc``: Xvfb, window manager, app, x11vnc.
    """
    vnc = choose_vnc(config.vnc)
    stack = [_xtigervnc() if vnc == "tigervnc" else _xvfb()]
    if config.window_manager:
        stack.append(ProcessSpec("wm", ("openbox", "--sm-disable"), ready="window_manager", optional=True))
    app = tuple(config.app)
    if config.gl_prefix and Path(app[0]).name != "vglrun":  # --app "vglrun ..." is taken as given
        app = (*config.gl_prefix, *app)
    stack.append(
        ProcessSpec(
            "app",
            app,
            restart="end_session" if config.exit_with_app else "always",
            # A real GLX window on the X display (Mesa llvmpipe, or VirtualGL when set up), not offscreen EGL.
            env={"VTK_DEFAULT_OPENGL_WINDOW": "vtkXOpenGLRenderWindow"},
        )
    )
    if vnc == "x11vnc":
        stack.append(_x11vnc())
    return stack
