"""``slicer-cloud hub``: a preconfigured JupyterHub on one machine, one Slicer session per user.

The command only turns its flags into ``SLICER_CLOUD_HUB_*`` variables for :file:`jupyterhub_config.py` (a readable
file users can copy with ``--print-config``), checks what is missing, starts ``jupyterhub`` and prints the URL.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ..settings import Settings, is_loopback_host

CONFIG = Path(__file__).with_name("jupyterhub_config.py")
AUTHS = ("shared", "dummy", "native", "oauth", "pam")
SPAWNERS = ("simple", "system", "systemd")
PROXY = "configurable-http-proxy"
PROXY_INSTALL = f"npm install --prefix {sys.prefix} {PROXY}@5 && ln -s ../node_modules/.bin/{PROXY} {sys.prefix}/bin/"
AUTH_MODULES = {"native": "nativeauthenticator", "oauth": "oauthenticator", "pam": "pamela"}
AUTH_PACKAGES = {"native": "jupyterhub-nativeauthenticator", "oauth": "oauthenticator", "pam": "pamela"}


def add_command(commands: Any, add_setting_flags: Any) -> None:
    """Add ``slicer-cloud hub`` to the command line."""
    hub = commands.add_parser(
        "hub",
        help="many users on one machine: a preconfigured JupyterHub with the Slicer launchers",
        description="Run JupyterHub (SQLite, configurable-http-proxy, a local spawner, the idle culler) so that each "
        "user logs in and gets their own Slicer Web and Slicer Desktop. The configuration is a readable "
        "jupyterhub_config.py: see --print-config.",
    )
    hub.add_argument("--ip", default="127.0.0.1", help="address to bind (default: 127.0.0.1, loopback only)")
    hub.add_argument("--port", type=int, default=8000, help="public port (default: 8000)")
    hub.add_argument("--users", default="", help="comma-separated user names allowed to log in (default: anyone)")
    hub.add_argument("--admins", default="", help="comma-separated admin user names (they manage users at /hub/admin)")
    hub.add_argument(
        "--auth",
        choices=AUTHS,
        default="shared",
        help="shared: one password for all (printed at start); dummy: any password, loopback only; native: sign-up "
        "with admin approval; oauth: an OAuth2/OIDC provider (OAUTH_* variables); pam: system accounts "
        "(default: shared)",
    )
    hub.add_argument("--password", default=None, help="the shared password (default: $SLICER_CLOUD_HUB_PASSWORD or "
                     "a random one)")  # fmt: skip
    hub.add_argument(
        "--spawner",
        choices=SPAWNERS,
        default="simple",
        help="simple: servers run as this OS user (homes under --state); system: as each system user (run as root); "
        "systemd: a systemd unit per user with enforced limits (default: simple)",
    )
    hub.add_argument(
        "--idle-timeout",
        type=int,
        default=3600,
        help="stop a user's server after this many seconds without activity; the scene is autosaved first "
        "(0: never; default: 3600)",
    )
    hub.add_argument("--mem-limit", default="", help="memory per user, e.g. 4G (enforced by --spawner systemd)")
    hub.add_argument("--cpu-limit", default="", help="CPU cores per user, e.g. 2 (enforced by --spawner systemd)")
    hub.add_argument("--state", type=Path, default=None, help="folder for the database, secrets and user homes "
                     "(default: ~/.local/share/slicer-cloud/hub)")  # fmt: skip
    hub.add_argument("--public-url", default="", help="the URL users open when TLS ends in a proxy in front, "
                     "e.g. https://slicer.example.org")  # fmt: skip
    hub.add_argument("--default-url", default="/lab", help="page a user lands on (default: /lab; e.g. /slicer/)")
    hub.add_argument("--config", type=Path, default=None, help="use this jupyterhub_config.py instead of the built-in")
    hub.add_argument("--print-config", action="store_true", help="print the built-in jupyterhub_config.py and exit")
    add_setting_flags(hub, "hub", shared={"log_level"})
    hub.set_defaults(handler=run)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def find_proxy() -> str | None:
    """configurable-http-proxy on PATH or in this environment's ``node_modules`` (``npm install --prefix``)."""
    found = shutil.which(PROXY)
    if found:
        return found
    local = Path(sys.prefix) / "node_modules" / ".bin" / PROXY
    return str(local) if local.exists() else None


def problems(args: argparse.Namespace) -> list[str]:
    """What stops the hub from starting, each with what to do."""
    found = []
    if args.auth == "dummy" and not is_loopback_host(args.ip):
        found.append(f"--auth dummy accepts any password: refused on {args.ip}; use --auth shared, native or oauth")
    if not 0 < args.port < 65536:
        found.append(f"--port {args.port} is out of range: use 1-65535")
    if find_proxy() is None:
        found.append(f"{PROXY} (npm) is not installed: {PROXY_INSTALL}")
    module = AUTH_MODULES.get(args.auth)
    if module is not None and _missing(module):
        found.append(f"--auth {args.auth} needs {AUTH_PACKAGES[args.auth]}: pip install {AUTH_PACKAGES[args.auth]}")
    if args.spawner == "systemd" and _missing("systemdspawner"):
        found.append("--spawner systemd needs jupyterhub-systemdspawner: pip install jupyterhub-systemdspawner")
    if args.spawner in ("system", "systemd") and os.geteuid() != 0:
        found.append(f"--spawner {args.spawner} starts servers as other users: run the hub as root")
    if args.config is not None and not args.config.is_file():
        found.append(f"--config {args.config} does not exist: write one with --print-config")
    return found


def _missing(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is None


def hub_environment(args: argparse.Namespace, password: str | None) -> dict[str, str]:
    """The ``SLICER_CLOUD_HUB_*`` variables :file:`jupyterhub_config.py` reads."""
    values = {
        "IP": args.ip,
        "PORT": str(args.port),
        "HUB_PORT": str(_free_port()),
        "PROXY_API_PORT": str(_free_port()),
        "PROXY_COMMAND": find_proxy() or PROXY,
        "USERS": args.users,
        "ADMINS": args.admins,
        "AUTH": args.auth,
        "SPAWNER": args.spawner,
        "IDLE_TIMEOUT": str(max(0, args.idle_timeout)),
        "MEM_LIMIT": args.mem_limit,
        "CPU_LIMIT": args.cpu_limit,
        "PUBLIC_URL": args.public_url,
        "DEFAULT_URL": args.default_url,
        "PYTHON": sys.executable,
    }
    if args.state is not None:
        values["STATE"] = str(args.state.expanduser().resolve())
    if password:
        values["PASSWORD"] = password
    return {f"SLICER_CLOUD_HUB_{k}": v for k, v in values.items()}


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 90) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url + "hub/health", timeout=5) as response:  # noqa: S310 - our own URL
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    return False


def _how_to_add_users(args: argparse.Namespace, url: str) -> str:
    how = {
        "shared": "anyone with the password logs in under a name of their choice"
        + (" from --users" if args.users else ""),  # fmt: skip
        "dummy": "any name and any password (loopback only, for trying it out)",
        "native": f"users sign up at {url}hub/signup; an admin (--admins) approves them at {url}hub/authorize",
        "oauth": "users log in with your OAuth provider; limit who with --users",
        "pam": "users log in with their system accounts (adduser NAME); limit who with --users",
    }[args.auth]
    return f"Users: {how}. Add users with --users NAME,... or, as an admin, at {url}hub/admin."


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Start JupyterHub and wait for it; returns its exit status."""
    config = args.config or CONFIG
    if args.print_config:
        print(CONFIG.read_text(encoding="utf-8"), end="", flush=True)
        return 0
    found = problems(args)
    if found:
        for problem in found:
            print(f"slicer-cloud hub: error: {problem}", file=sys.stderr, flush=True)
        return 2
    password = None
    if args.auth == "shared":
        password = args.password or os.environ.get("SLICER_CLOUD_HUB_PASSWORD") or secrets.token_urlsafe(12)
        if len(password) < 8:
            print("slicer-cloud hub: error: the shared password must be at least 8 characters", file=sys.stderr)
            return 2
    env = {**os.environ, **hub_environment(args, password)}
    level = {"WARNING": "WARN"}.get(settings.log_level.upper(), settings.log_level.upper())
    command = [sys.executable, "-m", "jupyterhub", "-f", str(config), f"--log-level={level}"]
    host = args.ip if ":" not in args.ip else f"[{args.ip}]"
    url = (args.public_url.rstrip("/") + "/") if args.public_url else f"http://{host}:{args.port}/"
    process = subprocess.Popen(command, env=env)
    forward = lambda signum, _frame: process.send_signal(signum)  # noqa: E731
    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        local_url = f"http://{'127.0.0.1' if args.ip in ('0.0.0.0', '') else host}:{args.port}/"  # noqa: S104
        if _wait_until_up(local_url, process):
            print(f"slicer-cloud hub is running with the configuration {config}", flush=True)
            print(f"Open: {url}", flush=True)
            if password:
                print(f"Shared password: {password}", flush=True)
            print(_how_to_add_users(args, url), flush=True)
            print("Each user opens Slicer Web (/user/NAME/slicer/) or Slicer Desktop from the JupyterLab launcher.",
                  flush=True)  # fmt: skip
        return process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
