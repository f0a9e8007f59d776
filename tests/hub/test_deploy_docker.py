"""deploy/Dockerfile built and run for real: a private dockerd, a Debian base made with debootstrap (no registry is
reachable), ``--network host``; ``serve`` in the container answers /healthz, asks for the token and renders."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))

from docker_env import Docker, DockerUnavailable, import_base, start_dockerd  # noqa: E402
from hub_processes import free_port  # noqa: E402

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1800)]

ROOT = Path(__file__).parents[2]
IMAGE = "slicer-cloud:test"
TOKEN = "container-token-0123456789"
HOST_CAS = Path("/usr/local/share/ca-certificates")


def build_context(into: Path) -> Path:
    """What the image needs from the checkout (tracked files only), plus this machine's extra certificate
    authorities so that pip in the build trusts a TLS-inspecting proxy if there is one."""
    tracked = subprocess.run(["git", "ls-files", "pyproject.toml", "README.md", "src", "deploy"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    for name in tracked:
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    for name in ("src/slicer_cloud/hub", "deploy"):  # this feature's files, committed or not yet
        shutil.copytree(ROOT / name, into / name, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    cas = into / "deploy" / "ca-certificates"
    cas.mkdir(parents=True, exist_ok=True)
    for crt in HOST_CAS.glob("*.crt") if HOST_CAS.is_dir() else []:
        shutil.copy2(crt, cas / crt.name)
    return into


@pytest.fixture(scope="module")
def docker():
    try:
        running = start_dockerd()
    except DockerUnavailable as why:
        pytest.skip(f"the container tests cannot run here: {why}")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def image(docker: Docker):
    base = import_base(docker)
    with tempfile.TemporaryDirectory(prefix="slicer-cloud-build-") as tmp:
        context = build_context(Path(tmp))
        start = time.monotonic()
        docker.run("build", "--network", "host", "-f", "deploy/Dockerfile", "--target", "runtime",
                   "--build-arg", f"BASE_IMAGE={base}", "-t", IMAGE, str(context), timeout=1500)  # fmt: skip
        print(f"image built in {time.monotonic() - start:.0f} s")
    return IMAGE


@pytest.fixture(scope="module")
def container(docker: Docker, image: str):
    port = free_port()
    name = f"slicer-cloud-test-{port}"
    docker.run("run", "-d", "--name", name, "--network", "host", "-e", f"SLICER_CLOUD_TOKEN={TOKEN}",
               "-e", f"SLICER_CLOUD_PORT={port}", "-e", "SLICER_CLOUD_HOST=127.0.0.1", image)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=5).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if docker.run("inspect", "-f", "{{.State.Running}}", name).stdout.strip() != "true":
            break
        time.sleep(1)
    yield name, base
    docker.run("rm", "-f", name, check=False)


def test_serve_in_the_container_answers_healthz_and_requires_the_token(container):
    _, base = container
    health = requests.get(base + "/healthz", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert requests.get(base + "/api/v1/nodes", timeout=10).status_code == 401
    page = requests.get(base + "/", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_serve_in_the_container_renders_the_sample(container):
    _, base = container
    reply = requests.get(base + "/api/v1/views/red/image?format=png&size=256",
                         headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)  # fmt: skip
    assert reply.status_code == 200, reply.text[:300]
    pixels = np.asarray(Image.open(io.BytesIO(reply.content)).convert("L"), dtype=float)
    assert pixels.shape == (256, 256) and pixels.std() > 10, "the slice view is blank"


def test_the_image_runs_as_a_non_root_user_and_has_the_jupyter_launchers(docker, image):
    out = docker.run(
        "run",
        "--rm",
        "--network",
        "host",
        image,
        "sh",
        "-c",
        'id -u; command -v jupyterhub-singleuser; python3 -c "from importlib.metadata import '
        "entry_points; print(sorted(e.name for e in entry_points(group='jupyter_serverproxy_servers')))\"",
    )
    uid, singleuser, launchers = out.stdout.strip().splitlines()
    assert uid == "1000"
    assert singleuser.endswith("/jupyterhub-singleuser")
    assert "'slicer'" in launchers and "'slicer-desktop'" in launchers, launchers


def test_docker_stop_ends_the_session_cleanly(docker, container):
    name, _ = container
    start = time.monotonic()
    docker.run("stop", "-t", "60", name, timeout=120)
    code = docker.run("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip()
    assert code == "0", docker.run("logs", name, check=False).stdout[-2000:]
    assert time.monotonic() - start < 60, "the session ignored SIGTERM until docker killed it"


def test_without_dockerd_the_reason_is_clear(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda tool: None)
    monkeypatch.setattr("os.geteuid", lambda: 0)
    with pytest.raises(DockerUnavailable, match="dockerd is not installed: apt-get install docker.io"):
        start_dockerd()


def compose_for_the_test(docker: Docker, ports: dict[str, int]) -> dict:
    """deploy/compose.yaml as docker-compose reads it, cut to ``slicer`` + ``orthanc`` on the host's network (this
    dockerd sets up no bridge) and free ports, with the images built here."""
    import yaml

    env = {**docker.env(), **SECRETS}
    out = subprocess.run(["docker-compose", "-f", str(ROOT / "deploy" / "compose.yaml"), "config"], env=env,
                         capture_output=True, text=True, check=True)  # fmt: skip
    config = yaml.safe_load(out.stdout)
    services = {name: config["services"][name] for name in ("slicer", "orthanc")}
    for service in services.values():
        for key in ("build", "ports", "expose", "depends_on", "healthcheck"):
            service.pop(key, None)
        service["network_mode"] = "host"
    services["orthanc"]["environment"].update(
        ORTHANC_HTTP_PORT=str(ports["orthanc"]), ORTHANC_DICOM_PORT=str(ports["dicom"])
    )
    services["slicer"]["environment"].update(
        SLICER_CLOUD_PORT=str(ports["slicer"]),
        SLICER_CLOUD_HOST="127.0.0.1",
        SLICER_CLOUD_DICOMWEB=f"orthanc=http://127.0.0.1:{ports['orthanc']}/dicom-web",
    )
    return {"services": services, "volumes": {k: v for k, v in config["volumes"].items() if k != "hub-state"}}


SECRETS = {
    "SLICER_CLOUD_TOKEN": TOKEN,
    "SLICER_CLOUD_DESKTOP_TOKEN": "desktop-token-0123456789",
    "HUB_PASSWORD": "hub-password-0123",
    "ORTHANC_PASSWORD": "orthanc-password-0123",
}


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="needs Debian's docker-compose")
def test_compose_brings_up_slicer_and_orthanc_and_the_viewer_browses_the_pacs(docker, image, tmp_path):
    import yaml

    sys.path.insert(0, str(ROOT / "tests"))
    from helpers.datagen import write_ct_dicom_series

    base = import_base(docker)
    with tempfile.TemporaryDirectory(prefix="slicer-cloud-orthanc-") as tmp:
        shutil.copytree(ROOT / "deploy" / "orthanc", tmp, dirs_exist_ok=True)
        docker.run("build", "--network", "host", "--build-arg", f"BASE_IMAGE={base}", "-t",
                   "slicer-cloud-orthanc:latest", tmp, timeout=900)  # fmt: skip
    docker.run("tag", image, "slicer-cloud:latest")
    ports = {"orthanc": free_port(), "dicom": free_port(), "slicer": free_port()}
    compose_file = tmp_path / "compose.yaml"
    compose_file.write_text(yaml.safe_dump(compose_for_the_test(docker, ports)))
    compose = ["docker-compose", "-f", str(compose_file), "-p", f"slicertest{ports['slicer']}"]
    env = {**docker.env(), **SECRETS}
    up = subprocess.run([*compose, "up", "-d"], env=env, capture_output=True, text=True, timeout=300)
    assert up.returncode == 0, up.stderr
    try:
        orthanc = f"http://127.0.0.1:{ports['orthanc']}"
        slicer = f"http://127.0.0.1:{ports['slicer']}"
        auth = ("slicer", SECRETS["ORTHANC_PASSWORD"])
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                ready = requests.get(orthanc + "/system", auth=auth, timeout=5).status_code == 200
                ready = ready and requests.get(slicer + "/healthz", timeout=5).status_code == 200
                if ready:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(1)
        assert requests.get(orthanc + "/system", timeout=5).status_code == 401, "the PACS must ask for credentials"
        series = write_ct_dicom_series(tmp_path / "ct", slices=4, size=32)
        for path in series:
            stored = requests.post(orthanc + "/instances", data=path.read_bytes(), auth=auth, timeout=30)
            assert stored.status_code == 200, stored.text
        study_uid = stored.json().get("ParentStudy")
        studies = requests.get(slicer + "/api/v1/dicom/orthanc/studies", timeout=60,
                               headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
        assert studies.status_code == 200, studies.text[:500]
        assert study_uid and studies.text, "no studies listed"
        import pydicom

        uid = pydicom.dcmread(series[0]).StudyInstanceUID
        assert uid in studies.text, f"the viewer does not list the study stored in Orthanc: {studies.text[:500]}"
    finally:
        subprocess.run([*compose, "down", "-v"], env=env, capture_output=True, timeout=120)
