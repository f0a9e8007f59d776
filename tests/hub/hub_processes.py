"""A real Jupyter server (with jupyter-server-proxy and slicer-cloud's launchers) for tests, and probes of the
sessions it starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests

JUPYTER_TOKEN = "jupyter-token-0123456789"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class JupyterServer:
    process: subprocess.Popen
    port: int
    log: Path
    token: str = JUPYTER_TOKEN

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, *, authenticated: bool = True, **kwargs) -> requests.Response:
        headers = {"Authorization": f"token {self.token}"} if authenticated else {}
        return requests.get(self.base + path, headers=headers, timeout=200, allow_redirects=False, **kwargs)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_jupyter(home: Path, data: Path, log: Path) -> JupyterServer:
    """``jupyter server`` on a free loopback port with a token; the launchers come from the entry points."""
    port = free_port()
    env = {**os.environ, "HOME": str(home), "SLICER_CLOUD_DATA": str(data), "PYTHONUNBUFFERED": "1"}
    env.pop("SLICER_CLOUD_TOKEN", None)
    args = [
        sys.executable, "-m", "jupyter", "server", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
        f"--IdentityProvider.token={JUPYTER_TOKEN}", f"--ServerApp.root_dir={home}", "--allow-root",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=home)
    server = JupyterServer(process, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter server exited:\n{log.read_text()[-3000:]}")
        try:
            if server.get("/api/status").status_code == 200:
                return server
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"jupyter server did not start:\n{log.read_text()[-3000:]}")


def session_processes(root_pid: int, mode: str) -> list[psutil.Process]:
    """The ``slicer-cloud MODE`` processes below ``root_pid``."""
    found = []
    for child in psutil.Process(root_pid).children(recursive=True):
        try:
            cmdline = child.cmdline()
        except psutil.NoSuchProcess:
            continue
        if "slicer_cloud" in cmdline and mode in cmdline:
            found.append(child)
    return found


def listening_port(process: psutil.Process) -> int:
    """The TCP port a session listens on, and check it listens on loopback only."""
    listening = [c for c in process.net_connections("tcp") if c.status == psutil.CONN_LISTEN]
    assert listening, "the session listens on no TCP port"
    for conn in listening:
        assert conn.laddr.ip in ("127.0.0.1", "::1"), f"the session listens on {conn.laddr.ip}, not loopback only"
    return listening[0].laddr.port
