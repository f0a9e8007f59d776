"""A real Orthanc with the DICOMweb plugin (Debian ``orthanc``, ``orthanc-dicomweb``), on loopback, with a user."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ORTHANC = "/usr/sbin/Orthanc"
PLUGIN_DIRS = ("/usr/share/orthanc/plugins", "/usr/lib/orthanc")
USER = "radiologist"
PASSWORD = "orthanc-test-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dicomweb_plugin() -> str:
    for folder in PLUGIN_DIRS:
        for path in sorted(Path(folder).glob("libOrthancDicomWeb.so*")):
            return str(path)
    raise RuntimeError("the Orthanc DICOMweb plugin is missing: apt-get install orthanc-dicomweb")


@dataclass
class Orthanc:
    process: subprocess.Popen
    port: int
    folder: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.base}/dicom-web"

    @property
    def env(self) -> dict[str, str]:
        """Credentials for a source named ``orthanc``."""
        return {"SLICER_CLOUD_DICOMWEB_ORTHANC_USER": USER, "SLICER_CLOUD_DICOMWEB_ORTHANC_PASSWORD": PASSWORD}

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.base + path, auth=(USER, PASSWORD), timeout=30, **kwargs)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_orthanc(folder: Path) -> Orthanc:
    """Start Orthanc with authentication on, DICOMweb at /dicom-web, no DICOM network port; wait until it answers."""
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    config = {
        "Name": "slicer-cloud-tests",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "storage"),
        "HttpPort": port,
        "DicomServerEnabled": False,
        "DicomPort": _free_port(),
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {USER: PASSWORD},
        "Plugins": [dicomweb_plugin()],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False},
        "HttpThreadsCount": 16,
        "StorageCompression": False,
    }
    (folder / "orthanc.json").write_text(json.dumps(config))
    log = (folder / "orthanc.log").open("wb")
    process = subprocess.Popen([ORTHANC, str(folder / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT)
    server = Orthanc(process, port, folder)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Orthanc exited: {(folder / 'orthanc.log').read_text()[-2000:]}")
        try:
            if server.get("/system").status_code == 200:
                return server
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError("Orthanc did not answer within 30 s")
