"""A real ``slicer-cloud desktop`` process for tests, and a way to talk RFB to it through its WebSocket."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psutil
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from rfb import RfbClient  # noqa: E402

TOKEN = "desktop-token-0123456789"
XTERM = "xterm -geometry 80x24+10+10"
VNC_ENV = "SLICER_CLOUD_DESKTOP_VNC"
# The two stacks: Xtigervnc (X + VNC in one, remote resize; chosen when installed) and Xvfb + x11vnc (fallback).
VARIANTS = ("tigervnc", "x11vnc")
VNC_PROCESS = {"tigervnc": "Xtigervnc", "x11vnc": "x11vnc"}


@dataclass
class DesktopProcess:
    process: subprocess.Popen
    log: Path
    url: str
    display: int
    variant: str = "x11vnc"

    @property
    def vnc_process(self) -> str:
        """Name of the process that serves VNC (for tigervnc: the X server itself)."""
        return VNC_PROCESS[self.variant]

    def x_env(self) -> dict[str, str]:
        return {**os.environ, "DISPLAY": f":{self.display}"}

    @property
    def base(self) -> str:
        return self.url.split("/?")[0]

    @property
    def ws_url(self) -> str:
        return self.base + "/websockify"

    def child(self, name: str) -> psutil.Process | None:
        for child in psutil.Process(self.process.pid).children():
            if child.name() == name:
                return child
        return None

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait(10)


def start_desktop(tmp: Path, *extra: str, wait: float = 60, variant: str | None = None) -> DesktopProcess:
    """Start ``slicer-cloud desktop`` on a free port; wait for the printed URL.

    :param variant: ``tigervnc`` or ``x11vnc`` forces that stack; None leaves the automatic choice.
    """
    log = tmp / f"desktop-{time.monotonic_ns()}.log"
    args = [sys.executable, "-m", "slicer_cloud", "desktop", "--port", "0", "--token", TOKEN, "--data", str(tmp)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SLICER_CLOUD_TOKEN", None)
    if variant is not None:
        env[VNC_ENV] = variant
    with log.open("wb") as out:
        process = subprocess.Popen([*args, *extra], stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        text = log.read_text()
        url = re.search(r"^Open: (\S+)$", text, re.M)
        display = re.search(r"on display :(\d+)", text)
        chosen = re.search(r"on display :\d+ \((\w+)\)", text)
        if url and display and chosen:
            return DesktopProcess(process, log, url.group(1), int(display.group(1)), chosen.group(1))
        if process.poll() is not None:
            raise RuntimeError(f"slicer-cloud desktop exited with {process.returncode}:\n{text[-3000:]}")
        time.sleep(0.2)
    process.kill()
    process.wait()
    raise RuntimeError(f"slicer-cloud desktop printed no URL within {wait} s:\n{log.read_text()[-3000:]}")


async def _with_rfb(desktop: DesktopProcess, action):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as session:
        client = await RfbClient.connect(session, desktop.ws_url, headers=headers)
        try:
            return await action(client)
        finally:
            await client.close()


def with_rfb(desktop: DesktopProcess, action):
    """Run ``await action(client)`` on a fresh authenticated RFB connection; returns its result."""
    return asyncio.run(_with_rfb(desktop, action))


def wait_for_screen(desktop: DesktopProcess, ready, timeout: float = 120, region=None):
    """Capture screens until ``ready(screen)`` holds; return that screen."""
    deadline = time.monotonic() + timeout
    screen = None

    async def grab(client):
        nonlocal screen
        while time.monotonic() < deadline:
            screen = await client.capture()
            if ready(screen if region is None else screen[region]):
                return screen
            await asyncio.sleep(1)
        return None

    found = with_rfb(desktop, grab)
    assert found is not None, f"the screen never became ready; log:\n{desktop.log.read_text()[-2000:]}"
    return found


def x_screen_size(desktop: DesktopProcess) -> tuple[int, int] | None:
    """The X screen's size as the X server reports it (``xdpyinfo``), or None when it does not answer."""
    result = subprocess.run(["xdpyinfo"], env=desktop.x_env(), capture_output=True, text=True, timeout=10)
    found = re.search(r"dimensions:\s+(\d+)x(\d+) pixels", result.stdout)
    return (int(found.group(1)), int(found.group(2))) if found else None


def skip_unless_installed(variant: str) -> None:
    program = "Xtigervnc" if variant == "tigervnc" else "x11vnc"
    if shutil.which(program) is None:
        pytest.skip(f"{program} is not installed (./scripts/install.sh)")
