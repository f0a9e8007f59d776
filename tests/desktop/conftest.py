"""Fixtures of the desktop tests; the helpers they share live in ``desktop_support`` (a unique module name: every
test folder has its own conftest.py)."""

from __future__ import annotations

import pytest
from desktop_support import VARIANTS, XTERM, DesktopProcess, skip_unless_installed, start_desktop


@pytest.fixture(scope="module", params=VARIANTS)
def xterm_desktop(request, tmp_path_factory) -> DesktopProcess:
    """A desktop running xterm, once per stack: quick to start, for the protocol, auth and supervision tests."""
    skip_unless_installed(request.param)
    desktop = start_desktop(
        tmp_path_factory.mktemp("desktop"), "--app", XTERM, "--geometry", "1024x768", variant=request.param
    )
    assert desktop.variant == request.param
    yield desktop
    desktop.stop()
