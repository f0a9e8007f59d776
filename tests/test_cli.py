"""The command line: help documents every setting, bad input exits with code 2 and a clear message."""

from __future__ import annotations

import subprocess
import sys

import pytest

from slicer_cloud.settings import Settings, fields, load_settings


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "slicer_cloud", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_serve_help_documents_the_flags():
    result = run_cli("serve", "--help")
    assert result.returncode == 0
    for flag in (
        "--host",
        "--port",
        "--data",
        "--token",
        "--no-auth",
        "--restore",
        "--log-level",
        "--config",
        "--view-token",
        "SLICER_CLOUD_TOKEN",
    ):
        assert flag in result.stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["serve", "--port", "notaport"], "port"),
        (["serve", "--port", "70000"], "out of range"),
        (["serve", "--bogus-flag"], "unrecognized arguments"),
        (["serve", "--host", "0.0.0.0", "--no-auth"], "--no-auth is refused"),
        (["serve", "--token", "short"], "at least 8"),
        (["serve", "--log-level", "LOUD"], "log level"),
        (["serve", "/no/such/file.nrrd"], "file not found"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_flags_exit_2_with_a_clear_message(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_config_file_or_env_value_exits_2(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[serve]\nport = 'x'\n")
    result = run_cli("serve", "--config", str(config))
    assert result.returncode == 2 and "port" in result.stderr
    result = run_cli("serve", env={"SLICER_CLOUD_PORT": "eighty"})
    assert result.returncode == 2 and "SLICER_CLOUD_PORT" in result.stderr


def test_settings_layer_defaults_then_file_then_env_then_flags(tmp_path):
    config = tmp_path / "s.toml"
    config.write_text("[serve]\nport = 9000\nhost = '127.0.0.1'\nautosave-interval = 30\n")
    settings = load_settings(
        config, environ={"SLICER_CLOUD_PORT": "9100", "SLICER_CLOUD_NO_AUTH": "1"}, flags={"port": "9200"}
    )
    assert (settings.port, settings.autosave_interval, settings.no_auth) == (9200, 30.0, True)
    assert load_settings(config, environ={}).port == 9000
    assert load_settings(None, environ={}).port == Settings().port


def test_every_setting_has_help():
    assert all(f.metadata.get("help") for f in fields())


def test_a_port_in_use_is_a_clear_error_before_start_up():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("serve", "--port", str(port), "--token", "abcdefgh12")
    assert result.returncode == 2
    assert "choose another --port" in result.stderr
    assert "Traceback" not in result.stderr
