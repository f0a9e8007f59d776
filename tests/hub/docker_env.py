"""A private ``dockerd`` for tests (its own socket, exec root and no network set-up: containers use the host's
network), and a Debian base image made locally with ``debootstrap`` + ``docker import`` (no registry is reachable).

The debootstrap tarball and dockerd's data root (its image layers, so a rebuild only redoes changed layers) are
cached in ``~/.cache/slicer-cloud-test/`` between runs; delete the folder to start from nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("SLICER_CLOUD_TEST_CACHE", Path.home() / ".cache" / "slicer-cloud-test"))
SUITE = "bookworm"
BASE_TAG = "slicer-cloud-test/debian:bookworm"


class DockerUnavailable(RuntimeError):
    """dockerd cannot run here (not root, no dockerd, no cgroups); the message says why."""


def debian_mirror() -> str:
    """The Debian mirror apt uses on this machine (deb822 .sources or a sources.list line)."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for uri in re.findall(r"^URIs:\s*(\S+)", text, re.M) + re.findall(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.M):
            if "security" not in uri and "debian" in uri:
                return uri
    return "http://deb.debian.org/debian"


@dataclass
class Docker:
    host: str
    process: subprocess.Popen
    root: Path
    log: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host, "DOCKER_BUILDKIT": "0"}

    def run(self, *args: str, timeout: float = 600, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        out = subprocess.run(["docker", *args], env=self.env(), capture_output=True, text=True, timeout=timeout,
                             **kwargs)  # fmt: skip
        if check and out.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args[:3])} failed ({out.returncode}):\n{out.stdout[-3000:]}\n"
                               f"{out.stderr[-3000:]}")  # fmt: skip
        return out

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)


def start_dockerd() -> Docker:
    """Start a private dockerd, or raise :class:`DockerUnavailable` saying why it cannot."""
    if os.geteuid() != 0:
        raise DockerUnavailable("dockerd needs root; run the docker tests as root")
    for tool in ("dockerd", "docker"):
        if shutil.which(tool) is None:
            raise DockerUnavailable(f"{tool} is not installed: apt-get install docker.io")
    root = Path(tempfile.mkdtemp(prefix="slicer-cloud-dockerd-"))
    sock = root / "docker.sock"
    log = root / "dockerd.log"
    data_root = CACHE / "dockerd-data"
    data_root.mkdir(parents=True, exist_ok=True)
    args = ["dockerd", "--data-root", str(data_root), "--exec-root", str(root / "exec"), "-H", f"unix://{sock}",
            "--pidfile", str(root / "docker.pid"), "--iptables=false", "--ip6tables=false",
            "--bridge=none"]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    docker = Docker(f"unix://{sock}", process, root, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = log.read_text(errors="replace")[-2000:]
            shutil.rmtree(root, ignore_errors=True)
            raise DockerUnavailable(f"dockerd exited with {process.returncode}:\n{text}")
        if sock.exists() and docker.run("version", check=False, timeout=20).returncode == 0:
            docker.run("container", "prune", "-f", check=False)  # left by an interrupted run
            return docker
        time.sleep(0.5)
    docker.stop()
    raise DockerUnavailable("dockerd did not answer within 60 s")


def base_tarball() -> Path:
    """A minimal Debian root file system (debootstrap), cached."""
    tarball = CACHE / f"debian-{SUITE}-minbase.tar"
    if tarball.exists():
        return tarball
    if shutil.which("debootstrap") is None:
        raise DockerUnavailable("debootstrap is not installed: apt-get install debootstrap")
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="slicer-cloud-debootstrap-", dir=CACHE) as work:
        rootfs = Path(work) / "rootfs"
        subprocess.run(["debootstrap", "--variant=minbase", SUITE, str(rootfs), debian_mirror()], check=True,
                       capture_output=True, timeout=1200)  # fmt: skip
        # apt in the image uses the same mirror as this machine
        (rootfs / "etc/apt/sources.list").write_text(f"deb {debian_mirror()} {SUITE} main\n")
        shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
        (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
        partial = tarball.with_suffix(".part")
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(partial), "."], check=True, timeout=600)
        partial.rename(tarball)
    return tarball


def import_base(docker: Docker) -> str:
    """The locally made Debian image, imported into ``docker``; returns its tag."""
    if docker.run("image", "inspect", BASE_TAG, check=False).returncode == 0:
        return BASE_TAG
    with base_tarball().open("rb") as tar:
        subprocess.run(["docker", "import", "-", BASE_TAG], stdin=tar, env=docker.env(), check=True,
                       capture_output=True, timeout=600)  # fmt: skip
    return BASE_TAG


if __name__ == "__main__":  # warm the cache: python tests/hub/docker_env.py
    print(base_tarball())
