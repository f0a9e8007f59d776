"""``slicer-cloud`` command line. Builds the settings object and hands it to a front end."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from . import __version__, extensions
from .errors import ConfigError
from .settings import Settings, fields, load_settings

logger = logging.getLogger("slicer_cloud")


# Settings that `desktop` shares with `serve`; fields marked command="desktop" belong to `desktop` only.
DESKTOP_SHARED = {"host", "port", "data", "token", "no_auth", "allowed_origins", "log_level"}


def _owners(f) -> tuple[str, ...]:
    owner = f.metadata.get("command", "serve")
    return (owner,) if isinstance(owner, str) else tuple(owner)


def add_setting_flags(parser: argparse.ArgumentParser, command: str = "serve", shared: Iterable[str] = ()) -> None:
    """Add a ``--flag`` for every setting of ``command`` (its ``command=`` metadata) and the ``shared`` ones."""
    defaults = Settings()
    shared = set(shared) | (DESKTOP_SHARED if command == "desktop" else set())
    by_name = {f.name: f for f in fields()}
    for name, f in by_name.items():
        if f.metadata.get("cli") is False:
            continue
        if command not in _owners(f) and name not in shared:
            continue
        flag = "--" + name.replace("_", "-")
        help_text = f.metadata["help"]
        if str(f.type).startswith("bool"):
            parser.add_argument(flag, dest=name, action="store_true", default=None, help=help_text)
            continue
        default = getattr(defaults, name)
        if not f.metadata.get("secret") and default not in (None, []):
            help_text += f" (default: {default})"
        env = "SLICER_CLOUD_" + name.upper()
        parser.add_argument(flag, dest=name, default=None, metavar=name.upper(), help=f"{help_text} [env {env}]")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slicer-cloud", description="3D Slicer over the internet: web viewer, API node, desktop."
    )
    parser.add_argument("--version", action="version", version=f"slicer-cloud {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve one session: a live Slicer scene with the web viewer",
        description="Serve one session on one port: the web viewer at /, the file API, /healthz. "
        "Settings come from defaults, then --config FILE (TOML), then SLICER_CLOUD_* variables, then flags.",
    )
    serve.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="FILE",
        help="NRRD, NIfTI, MHA/MHD, DICOM folder or zip, MRB/MRML, STL/OBJ/VTK, .seg.nrrd to load",
    )
    serve.add_argument("--config", type=Path, default=None, help="TOML settings file ([serve] table or top level)")
    add_setting_flags(serve)
    desktop = commands.add_parser(
        "desktop",
        help="a full desktop app (Slicer, or the built-in native viewer) in the browser through noVNC",
        description="Run an app on a virtual X display and serve it through noVNC on one port, behind the token. "
        "Settings come from defaults, then --config FILE (TOML), then SLICER_CLOUD_* variables, then flags.",
    )
    desktop.add_argument("--config", type=Path, default=None, help="TOML settings file ([serve] table or top level)")
    desktop.add_argument(
        "--check", action="store_true", help="list what the desktop needs, what is installed, and what to install"
    )
    add_setting_flags(desktop, "desktop")
    for add_command in extensions.command_adders():
        add_command(commands, add_setting_flags)
    return parser


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("aiohttp.access", "wslink", "trame_server", "trame_client", "trame_slicer", "trame_rca"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def _port_problem(host: str, port: int) -> str | None:
    """Why (host, port) cannot be bound, checked before the slow start-up; None when it can."""
    if port == 0:
        return None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            return f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port or --host"
    return None


def serve(settings: Settings) -> int:
    # Offscreen EGL (Mesa llvmpipe on a CPU): no X server needed; without this VTK tries X first and logs errors.
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    from .server import ServeUrls, WebServer

    problem = _port_problem(settings.host, settings.port)
    if problem:
        logger.error(problem)
        return 2

    def announce(urls: ServeUrls) -> None:
        # The one place where slicer-cloud prints: the URLs the user opens.
        print(f"slicer-cloud is serving {settings.data.resolve()}", flush=True)
        print(f"Open: {urls.url}", flush=True)
        if urls.share_url != urls.url:
            print(f"Read-only share link: {urls.share_url}", flush=True)

    web = WebServer(settings, on_ready=announce)
    web.load_startup()
    web.run()
    return 0


def desktop(settings: Settings, check: bool = False) -> int:
    from .desktop.app import DesktopUrls, run_desktop
    from .desktop.check import report, requirements

    text, ready = report(requirements())
    if check:
        print(text, flush=True)
        return 0 if ready else 1
    if not ready:
        logger.error("the desktop cannot start:\n%s", text)
        return 1
    problem = _port_problem(settings.host, settings.port)
    if problem:
        logger.error(problem)
        return 2

    def announce(urls: DesktopUrls) -> None:
        print(f"slicer-cloud desktop on display :{urls.display}, data root {settings.data.resolve()}", flush=True)
        print(f"Open: {urls.url}", flush=True)

    return run_desktop(settings, on_ready=announce)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    flags = {k: v for k, v in vars(args).items() if k not in {"command", "config", "files", "check"}}
    try:
        settings = load_settings(getattr(args, "config", None), flags=flags)
    except ConfigError as exc:
        parser.exit(2, f"slicer-cloud: error: {exc.message}\n")
    settings.files = [Path(f) for f in getattr(args, "files", [])]
    missing = [str(f) for f in settings.files if not f.exists()]
    if missing:
        parser.exit(2, f"slicer-cloud: error: file not found: {', '.join(missing)}\n")
    _configure_logging(settings.log_level)
    if args.command == "serve":
        return serve(settings)
    if args.command == "desktop":
        return desktop(settings, check=args.check)
    return int(args.handler(args, settings))


if __name__ == "__main__":
    sys.exit(main())
