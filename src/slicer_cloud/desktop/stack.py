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

Readiness = Literal["x_display", "unix_socket", "started"]
RestartPolicy = Literal["always", "never", "end_session"]


@dataclass(frozen=True)
class ProcessSpec:
    """One process of the stack.

    :param name: short name used in logs and by tests (``xvfb``, ``wm``, ``app``, ``vnc``).
    :param command: argv template; every item is formatted with the stack's placeholders.
    :param ready: how the supervisor knows the process is up: its X display answers, its unix socket accepts,
        or simply that it started.
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


def build_stack(config: StackConfig) -> list[ProcessSpec]:
    """The processes of one desktop, in start order: X server, window manager, app, VNC server."""
    stack = [
        ProcessSpec(
            "xvfb",
            ("Xvfb", ":{display}", "-screen", "0", "{geometry}x24", "-nolisten", "tcp", "-nolisten", "unix-abstract"),
            ready="x_display",
            cwd="/",
        )
    ]
    if config.window_manager:
        stack.append(ProcessSpec("wm", ("openbox", "--sm-disable"), optional=True))
    stack.append(
        ProcessSpec(
            "app",
            tuple(config.app),
            restart="end_session" if config.exit_with_app else "always",
            # A real GLX window on the X display (Mesa llvmpipe, or VirtualGL when set up), not offscreen EGL.
            env={"VTK_DEFAULT_OPENGL_WINDOW": "vtkXOpenGLRenderWindow"},
        )
    )
    stack.append(
        ProcessSpec(
            "vnc",
            # No TCP port at all (-rfbport 0): a unix socket in the session's private 0700 folder, reachable only
            # through the authenticated WebSocket bridge. See docs/adr/0004-desktop-vnc-behind-the-bridge.md.
            (
                "x11vnc", "-display", ":{display}", "-unixsock", "{vnc_socket}",
                # -rfbport 0 only stops IPv4, -rfbportv6 -1 the IPv6 one (-localhost would refuse the unix socket).
                "-rfbport", "0", "-rfbportv6", "-1",
                "-forever", "-shared", "-nopw", "-noxdamage", "-quiet", "-xkb", "-ncache", "0",
            ),
            ready="unix_socket",
            cwd="/",
        )
    )  # fmt: skip
    return stack
