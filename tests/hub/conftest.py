from __future__ import annotations


def pytest_configure(config):
    # Also declared in pyproject.toml; repeated here so this folder runs on its own.
    config.addinivalue_line("markers", "hub: starts a real JupyterHub or Jupyter server with the Slicer launchers")
    config.addinivalue_line("markers", "docker: starts dockerd and builds/runs the deploy/ image")
