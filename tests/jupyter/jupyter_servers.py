"""JupyterLab and Voila started for tests: loopback only, a token, a temporary root folder, no browser."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from helpers.serve import free_port

EXAMPLES = Path(__file__).parents[2] / "examples"
JUPYTER_TOKEN = "jupyter-test-token-0123456789"


@dataclass
class JupyterProcess:
    kind: str
    root: Path
    port: int
    process: subprocess.Popen
    log: Path
    token: str = JUPYTER_TOKEN

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def copy_examples(root: Path) -> None:
    for notebook in EXAMPLES.glob("*.ipynb"):
        shutil.copy(notebook, root / notebook.name)


def _root_flag(app: str) -> list[str]:
    """Test machines often run as root, which Jupyter refuses without this flag."""
    return [f"--{app}.allow_root=True"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []


def _env(root: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "JUPYTER_CONFIG_DIR": str(root.parent / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(root.parent / "jupyter-runtime"),
    }
    env.pop("JUPYTER_TOKEN", None)
    return env


def start_jupyter_lab(root: Path, log: Path, wait: float = 120) -> JupyterProcess:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={JUPYTER_TOKEN}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        *_root_flag("ServerApp"),
    ]
    return _start("lab", args, root, port, log, wait, "/api/status")


def start_voila(root: Path, notebook: str, log: Path, wait: float = 120) -> JupyterProcess:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "voila",
        notebook,
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        f"--Voila.root_dir={root}",
        f"--IdentityProvider.token={JUPYTER_TOKEN}",
    ]
    return _start("voila", args, root, port, log, wait, "/")


def _start(kind: str, args: list[str], root: Path, port: int, log: Path, wait: float, probe: str) -> JupyterProcess:
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=_env(root), cwd=root)
    proc = JupyterProcess(kind, root, port, process, log)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{kind} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            req = urllib.request.Request(proc.base + probe, headers={"Authorization": f"token {JUPYTER_TOKEN}"})
            with urllib.request.urlopen(req, timeout=5):
                return proc
        except urllib.error.HTTPError as err:
            if err.code in (401, 403):  # answering, and refusing without the token
                return proc
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.5)
    proc.stop()
    raise RuntimeError(f"{kind} did not answer within {wait} s:\n{log.read_text()[-3000:]}")
