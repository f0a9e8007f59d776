"""A real ``slicer-cloud serve`` process for tests: started on a free loopback port, stopped with SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

TOKEN = "test-token-0123456789"
VIEW_TOKEN = "view-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServerProcess:
    """A running session: its URLs, tokens, data root, process and log."""

    data: Path
    port: int
    process: subprocess.Popen
    log: Path
    token: str = TOKEN
    view_token: str = VIEW_TOKEN
    args: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/?token={self.token}"

    @property
    def share_url(self) -> str:
        return f"{self.base}/?token={self.view_token}"

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = "default",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> tuple[int, dict | bytes]:
        """One HTTP request; returns (status, parsed JSON or raw bytes)."""
        headers = dict(headers or {})
        if token == "default":
            token = self.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, raw, ctype = resp.status, resp.read(), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as err:
            status, raw, ctype = err.code, err.read(), err.headers.get("Content-Type", "")
        return status, (json.loads(raw) if "json" in ctype else raw)

    def json(self, method: str, path: str, payload: dict, **kwargs) -> tuple[int, dict | bytes]:
        headers = {"Content-Type": "application/json"}
        return self.request(method, path, body=json.dumps(payload).encode(), headers=headers, **kwargs)

    def rss_mb(self) -> float:
        import psutil

        return psutil.Process(self.process.pid).memory_info().rss / 2**20

    def alive(self) -> bool:
        status, body = self.request("GET", "/healthz", token=None, timeout=10)
        return status == 200 and body["status"] == "ok"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                return self.process.wait(10)
        return self.process.returncode


def start_server(
    data: Path,
    *extra: str,
    log: Path | None = None,
    wait: float = 120,
    token: str = TOKEN,
    view_token: str = VIEW_TOKEN,
) -> ServerProcess:
    """Start ``slicer-cloud serve`` on a free port and wait until /healthz answers."""
    port = free_port()
    log = log or data.parent / f"serve-{port}.log"
    args = [
        sys.executable,
        "-m",
        "slicer_cloud",
        "serve",
        "--port",
        str(port),
        "--data",
        str(data),
        "--token",
        token,
        "--view-token",
        view_token,
        *extra,
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SLICER_CLOUD_TOKEN", None)
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = ServerProcess(
        data=data, port=port, process=process, log=log, token=token, view_token=view_token, args=args
    )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"slicer-cloud serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if server.alive():
                return server
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"slicer-cloud serve did not answer within {wait} s:\n{log.read_text()[-3000:]}")
