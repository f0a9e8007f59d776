"""Clipboard both ways and remote resize, through the authenticated WebSocket, on both stacks."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time

import pytest
from desktop_support import with_rfb

pytestmark = pytest.mark.desktop

TEXT_IN = "hello-slicer-cloud"
TEXT_OUT = "from-the-x-clipboard-42"


def _xclip(desktop, selection: str) -> str:
    result = subprocess.run(
        ["xclip", "-o", "-selection", selection], env=desktop.x_env(), capture_output=True, text=True, timeout=10
    )
    return result.stdout if result.returncode == 0 else ""


@pytest.fixture(autouse=True)
def _needs_xclip():
    if shutil.which("xclip") is None:
        pytest.skip("xclip is not installed (./scripts/install.sh --test)")


@pytest.mark.parametrize("selection", ["clipboard", "primary"])
def test_text_sent_by_the_viewer_lands_on_the_x_clipboard(xterm_desktop, selection):
    async def paste(client):
        await client.capture()
        # Read it while connected: Xtigervnc gives the selection up when the viewer that owns it leaves.
        # x11vnc drops cut text for its first ~10 s (it sets up its selection watching), so the text is sent
        # again, like a user who copies again, until it lands.
        deadline = time.monotonic() + 30
        found = ""
        while time.monotonic() < deadline and found != TEXT_IN:
            await client.cut_text(TEXT_IN)
            for _ in range(6):
                await asyncio.sleep(0.3)
                found = await asyncio.to_thread(_xclip, xterm_desktop, selection)
                if found == TEXT_IN:
                    break
        return found

    assert with_rfb(xterm_desktop, paste) == TEXT_IN


@pytest.mark.parametrize("selection", ["clipboard", "primary"])
def test_text_copied_in_the_desktop_reaches_the_viewer(xterm_desktop, selection):
    text = f"{TEXT_OUT}-{selection}"

    async def copy(client):
        await client.capture()
        # xclip owns the selection (in the foreground with -quiet) until it is killed.
        owner = subprocess.Popen(
            ["xclip", "-i", "-quiet", "-selection", selection],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=xterm_desktop.x_env(),
        )
        try:
            owner.stdin.write(text.encode())
            owner.stdin.close()
            got = await client.wait_for(lambda: text in client.cut_texts, timeout=20)
            return got, client.cut_texts
        finally:
            owner.kill()
            owner.wait(10)

    got, seen = with_rfb(xterm_desktop, copy)
    assert got, f"no ServerCutText {text!r}; received {seen!r}"


def test_set_desktop_size_resizes_the_remote_screen(xterm_desktop):
    if xterm_desktop.variant != "tigervnc":
        pytest.skip("x11vnc on Xvfb cannot resize its screen: noVNC scales it instead (docs/desktop.md)")

    async def resize(client):
        await client.capture()
        start = (client.width, client.height)
        await client.set_desktop_size(800, 600)
        replied = await client.wait_for(lambda: any(s[1:] == (800, 600) for s in client.screens), timeout=20)
        screen = await client.capture()
        await client.set_desktop_size(*start)  # leave the shared desktop as it was
        await client.wait_for(lambda: (client.width, client.height) == start, timeout=20)
        return start, replied, client.screens, screen.shape

    start, replied, screens, shape = with_rfb(xterm_desktop, resize)
    assert start != (800, 600)
    assert replied, f"no ExtendedDesktopSize reply for 800x600: {screens}"
    assert next(s for s in screens if s[1:] == (800, 600))[0] == 0  # status 0: accepted
    assert shape == (600, 800, 3)
