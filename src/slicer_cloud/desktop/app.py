"""Wiring root of ``slicer-cloud desktop``: settings -> stack -> supervisor -> authenticated bridge -> one port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from ..auth.tokens import TokenAuth, new_secret
from ..settings import Settings
from .bridge import make_app
from .stack import StackConfig, app_command, build_stack, choose_vnc, gl_prefix
from .supervisor import StackError, Supervisor

logger = logging.getLogger(__name__)


@dataclass
class DesktopUrls:
    url: str
    display: int


def _url(settings: Settings, auth: TokenAuth, port: int) -> str:
    host = settings.host if ":" not in settings.host else f"[{settings.host}]"
    base = f"http://{host}:{port}/"
    return f"{base}?token={auth.token}" if auth.enabled else base


async def serve_desktop(settings: Settings, on_ready: Callable[[DesktopUrls], None] | None = None) -> int:
    """Run one desktop until SIGINT/SIGTERM (exit 0) or, with ``exit_with_app``, until the app exits (its code)."""
    # Only edit access: a view-only share of a VNC desktop would still send keys and clicks.
    auth = TokenAuth(token=settings.token or new_secret(), enabled=not settings.no_auth)
    with tempfile.TemporaryDirectory(prefix="slicer-cloud-desktop-") as private:  # mode 0700
        private_dir = Path(private)
        values: dict[str, object] = {
            "geometry": settings.geometry,
            "data": str(settings.data.resolve()),
            "vnc_socket": str(private_dir / "vnc.sock"),
        }
        try:
            vnc = choose_vnc()  # Xtigervnc when installed (remote resize), else Xvfb + x11vnc
            gl = gl_prefix()  # VirtualGL (EGL) on an NVIDIA GPU when installed, else Mesa on the CPU
        except ValueError as exc:  # a wrong SLICER_CLOUD_DESKTOP_* value
            logger.error("%s", exc)
            return 2
        logger.info("app OpenGL: %s", "VirtualGL, EGL back end (NVIDIA GPU)" if gl else "Mesa (CPU)")
        config = StackConfig(app=app_command(settings.app), geometry=settings.geometry,
                             exit_with_app=settings.exit_with_app, vnc=vnc, gl_prefix=tuple(gl))  # fmt: skip
        supervisor = Supervisor(build_stack(config), values, log_dir=private_dir)
        resize = "remote" if vnc == "tigervnc" else "scale"
        runner = web.AppRunner(
            make_app(auth, private_dir / "vnc.sock", allowed_origins=settings.allowed_origins, resize=resize),
            access_log=None,
        )
        stop = asyncio.get_running_loop().create_future()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(0))
        try:
            await supervisor.start()
            await runner.setup()
            site = web.TCPSite(runner, settings.host.strip("[]"), settings.port)
            await site.start()
            port = runner.addresses[0][1]
            logger.info("desktop on display :%d (%s), logs in %s", supervisor.display, vnc, private_dir)
            if on_ready is not None:
                on_ready(DesktopUrls(_url(settings, auth, port), supervisor.display))
            assert supervisor.exit_code is not None
            done, _ = await asyncio.wait({stop, supervisor.exit_code}, return_when=asyncio.FIRST_COMPLETED)
            code = done.pop().result()
        except StackError as exc:
            logger.error("%s", exc)
            code = 1
        finally:
            logger.info("stopping the desktop")
            with contextlib.suppress(Exception):
                await runner.cleanup()
            await supervisor.stop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        return code


def run_desktop(settings: Settings, on_ready: Callable[[DesktopUrls], None] | None = None) -> int:
    return asyncio.run(serve_desktop(settings, on_ready))
