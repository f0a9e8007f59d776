"""The hub's jupyterhub_config.py turns the command's flags into JupyterHub settings; bad flags are refused."""

from __future__ import annotations

import subprocess
import sys

import pytest
from traitlets.config.loader import PyFileConfigLoader

from slicer_cloud.hub.cli import CONFIG


def load(monkeypatch, tmp_path, **values):
    monkeypatch.setenv("SLICER_CLOUD_HUB_STATE", str(tmp_path / "state"))
    for name, value in values.items():
        monkeypatch.setenv(f"SLICER_CLOUD_HUB_{name}", value)
    return PyFileConfigLoader(CONFIG.name, path=str(CONFIG.parent)).load_config()


@pytest.mark.parametrize(
    ("auth", "authenticator"),
    [("dummy", "dummy"), ("shared", "shared-password"), ("native", "native"), ("oauth", "generic-oauth")],
)
def test_each_login_choice_selects_its_authenticator(monkeypatch, tmp_path, auth, authenticator):
    config = load(monkeypatch, tmp_path, AUTH=auth, USERS="alice,bob", PASSWORD="a-long-password")
    assert config.JupyterHub.authenticator_class == authenticator
    assert config.Authenticator.allowed_users == {"alice", "bob"}


def test_the_idle_culler_runs_as_a_service_with_the_timeout_and_a_role(monkeypatch, tmp_path):
    config = load(monkeypatch, tmp_path, IDLE_TIMEOUT="600")
    (service,) = config.JupyterHub.services
    assert "--timeout=600" in service["command"] and "--cull-every=100" in service["command"]
    (role,) = config.JupyterHub.load_roles
    assert "delete:servers" in role["scopes"] and role["services"] == ["idle-culler"]
    assert config.Spawner.environment["JUPYTERHUB_ACTIVITY_INTERVAL"] == "100"


def test_no_idle_timeout_means_no_culler(monkeypatch, tmp_path):
    config = load(monkeypatch, tmp_path, IDLE_TIMEOUT="0")
    assert "services" not in config.JupyterHub


def test_state_limits_and_public_url_reach_jupyterhub_and_the_sessions(monkeypatch, tmp_path):
    config = load(monkeypatch, tmp_path, MEM_LIMIT="4G", CPU_LIMIT="2", PUBLIC_URL="https://slicer.example.org/")
    assert config.JupyterHub.db_url == f"sqlite:///{tmp_path / 'state' / 'jupyterhub.sqlite'}"
    assert config.Spawner.mem_limit == "4G" and config.Spawner.cpu_limit == 2.0
    assert config.Spawner.environment["SLICER_CLOUD_ALLOWED_ORIGINS"] == "https://slicer.example.org"
    assert config.Spawner.cmd[1:] == ["-m", "jupyterhub.singleuser"]


def test_an_unknown_login_choice_is_an_error_that_names_the_choices(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="dummy, shared, native, oauth or pam"):
        load(monkeypatch, tmp_path, AUTH="nobody")


def hub_command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slicer_cloud", "hub", *args], capture_output=True, text=True,
                          timeout=60)  # fmt: skip


def test_dummy_login_is_refused_off_loopback():
    out = hub_command("--auth", "dummy", "--ip", "0.0.0.0")
    assert out.returncode == 2
    assert "--auth dummy accepts any password: refused on 0.0.0.0" in out.stderr


def test_print_config_prints_the_readable_configuration():
    out = hub_command("--print-config")
    assert out.returncode == 0
    assert out.stdout == CONFIG.read_text()
