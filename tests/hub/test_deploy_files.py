"""deploy/: compose.yaml validated by docker-compose, cloud-init user data by ``cloud-init schema``, the Zero to
JupyterHub values against the chart's documented keys, and the Dockerfile's contract."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).parents[2] / "deploy"
SECRETS = {
    "SLICER_CLOUD_TOKEN": "t" * 24,
    "SLICER_CLOUD_DESKTOP_TOKEN": "d" * 24,
    "HUB_PASSWORD": "p" * 12,
    "ORTHANC_PASSWORD": "o" * 12,
}
CLOUD_INIT = sorted((DEPLOY / "cloud-init").glob("*.yaml"))

# Documented values of the Zero to JupyterHub chart (z2jh.jupyter.org "Configuration Reference", chart 4.x) that the
# values file may use; a key under one of FREE_FORM is passed to JupyterHub / KubeSpawner as is.
Z2JH_KEYS = {
    "hub.config", "hub.extraConfig", "hub.db.type", "hub.db.pvc.storage", "hub.db.pvc.storageClassName",
    "hub.extraEnv", "hub.baseUrl", "hub.concurrentSpawnLimit",
    "proxy.https.enabled", "proxy.https.hosts", "proxy.https.letsencrypt.contactEmail", "proxy.https.type",
    "proxy.service.type",
    "singleuser.image.name", "singleuser.image.tag", "singleuser.image.pullPolicy", "singleuser.cmd",
    "singleuser.defaultUrl", "singleuser.uid", "singleuser.fsGid", "singleuser.startTimeout", "singleuser.extraEnv",
    "singleuser.storage.type", "singleuser.storage.capacity", "singleuser.storage.homeMountPath",
    "singleuser.storage.dynamic.storageClass", "singleuser.memory.guarantee", "singleuser.memory.limit",
    "singleuser.cpu.guarantee", "singleuser.cpu.limit", "singleuser.profileList", "singleuser.extraResource.limits",
    "cull.enabled", "cull.timeout", "cull.every", "cull.users", "cull.adminUsers", "cull.maxAge", "cull.concurrency",
    "scheduling.userScheduler.enabled", "prePuller.hook.enabled", "ingress.enabled", "ingress.hosts",
}  # fmt: skip
FREE_FORM = ("hub.config", "hub.extraConfig", "hub.extraEnv", "singleuser.extraEnv", "singleuser.profileList")
PROFILE_KEYS = {"display_name", "description", "default", "kubespawner_override", "profile_options", "slug"}


def leaf_paths(tree: dict, prefix: str = "") -> list[str]:
    paths = []
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and not path.startswith(FREE_FORM):
            paths += leaf_paths(value, path + ".")
        else:
            paths.append(path)
    return paths


def test_the_helm_values_use_only_documented_zero_to_jupyterhub_keys():
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    unknown = [p for p in leaf_paths(values) if p not in Z2JH_KEYS]
    assert not unknown, f"not a documented Zero to JupyterHub value: {unknown}"
    for profile in values["singleuser"]["profileList"]:
        assert set(profile) <= PROFILE_KEYS, profile
    assert values["singleuser"]["cmd"] == "jupyterhub-singleuser"
    assert values["cull"]["enabled"] is True
    assert {p["display_name"].split()[0] for p in values["singleuser"]["profileList"]} == {"CPU", "GPU"}


@pytest.mark.skipif(shutil.which("cloud-init") is None, reason="needs Debian's cloud-init: apt-get install cloud-init")
@pytest.mark.parametrize("path", CLOUD_INIT, ids=lambda p: p.name)
def test_the_cloud_init_user_data_passes_cloud_init_schema(path):
    out = subprocess.run(["cloud-init", "schema", "--config-file", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Valid cloud-config" in out.stdout


@pytest.mark.parametrize("path", CLOUD_INIT, ids=lambda p: p.name)
def test_the_cloud_init_set_up_script_is_valid_bash_and_serves_on_loopback_behind_caddy(path, tmp_path):
    config = yaml.safe_load(path.read_text())
    files = {f["path"]: f["content"] for f in config["write_files"]}
    script = tmp_path / "setup"
    script.write_text(files["/usr/local/sbin/slicer-cloud-setup"])
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    assert "--host 127.0.0.1" in text and "--ip 127.0.0.1" in text, "the session must only be reachable via Caddy"
    assert "reverse_proxy 127.0.0.1:$PORT" in text and "tls internal" in text
    assert "caddy" in config["packages"]


def test_the_gpu_user_data_runs_the_same_set_up_as_the_cpu_one():
    def script(name):
        files = yaml.safe_load((DEPLOY / "cloud-init" / name).read_text())["write_files"]
        text = next(f["content"] for f in files if f["path"] == "/usr/local/sbin/slicer-cloud-setup")
        return text.replace("Environment=VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow\n", "")

    assert script("slicer-cloud.yaml") == script("slicer-cloud-gpu.yaml")


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="needs Debian's docker-compose")
def test_docker_compose_accepts_the_compose_file_with_every_secret_set():
    env = {**os.environ, **SECRETS}
    out = subprocess.run(["docker-compose", "-f", str(DEPLOY / "compose.yaml"), "config"], capture_output=True,
                         text=True, env=env, cwd=DEPLOY)  # fmt: skip
    assert out.returncode == 0, out.stderr
    config = yaml.safe_load(out.stdout)
    assert set(config["services"]) == {"slicer", "desktop", "hub", "orthanc"}
    for name, service in config["services"].items():
        assert "healthcheck" in service, f"{name} has no health check"
    assert "ports" not in config["services"]["orthanc"], "the PACS must not be published on the host"
    assert {"slicer-data", "desktop-data", "hub-state", "orthanc-db"} <= set(config["volumes"])


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="needs Debian's docker-compose")
@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_docker_compose_refuses_to_start_without_each_secret(missing):
    env = {**os.environ, **SECRETS}
    env.pop(missing)
    out = subprocess.run(["docker-compose", "-f", str(DEPLOY / "compose.yaml"), "config", "-q"], capture_output=True,
                         text=True, env=env, cwd=DEPLOY)  # fmt: skip
    assert out.returncode != 0
    assert missing in out.stderr


def test_every_published_compose_port_asks_for_credentials():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for name, service in compose["services"].items():
        if "ports" not in service:
            continue
        env = service.get("environment", {})
        guarded = any(re.search(r"\$\{[A-Z_]+:\?", str(v)) for k, v in env.items() if "TOKEN" in k or "PASSWORD" in k)
        assert guarded, f"{name} is published without a required token or password"


def test_the_dockerfile_is_layered_and_takes_a_base_image():
    text = (DEPLOY / "Dockerfile").read_text()
    assert text.index("apt-get install") < text.index("COPY pyproject.toml") < text.index("COPY src")
    assert "rm -rf /tmp/deps" in text, "the stand-in package must not leave a stale build folder"
    assert re.search(r"^ARG BASE_IMAGE=debian:bookworm-slim$", text, re.M)
    assert "USER 1000" in text and 'ENTRYPOINT ["tini", "--"]' in text and "HEALTHCHECK" in text
