"""Files named by REST clients: ``localfile`` paths confined to the data root, and URL downloads from allow-listed
hosts only (``Settings.allowed_url_hosts``; empty = refused). Never a server-side fetch of an arbitrary URL."""

from __future__ import annotations

import logging
import shutil
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path, PurePosixPath

from ..errors import BadRequest, Forbidden, InvalidData, TooLarge, UnsafePath
from .paths import DataRoot

logger = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT_S = 60
CHUNK = 1 << 20


def client_path(root: DataRoot, localfile: str) -> str:
    """A client ``localfile`` (absolute inside the root, or relative to it) as a root-relative POSIX path."""
    if not localfile or "\x00" in localfile:
        raise BadRequest("give localfile=PATH, relative to the data folder (or absolute inside it)")
    if localfile.startswith("/"):
        try:
            return root.relative(Path(localfile))
        except UnsafePath:
            raise UnsafePath("localfile points outside the data folder; use a path inside it") from None
    return localfile


def resolve_existing(root: DataRoot, localfile: str) -> Path:
    """The server path of an existing file or folder named by a client, inside the data root."""
    return root.resolve(client_path(root, localfile), must_exist=True)


def resolve_destination(root: DataRoot, localfile: str) -> Path:
    """A server path to write a client-named file to (overwriting, as the original does), inside the data root."""
    return root.new_file_path(client_path(root, localfile), overwrite=True)


def check_url(url: str, allowed_hosts: list[str]) -> urllib.parse.SplitResult:
    """Refuse URLs unless http(s) to an allow-listed host; ``file:`` URLs are handled as ``localfile``."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BadRequest("url must be http(s)://... (use localfile=PATH for files in the data folder)")
    host = (parts.hostname or "").lower()
    allowed = {h.strip().lower() for h in allowed_hosts if h.strip()}
    if not allowed:
        raise Forbidden(
            "loading from URLs is off: put the file in the data folder and use localfile=PATH, or start the "
            "server with --allowed-url-hosts HOST[,HOST...]"
        )
    if host not in allowed:
        raise Forbidden(f"host {host[:100]!r} is not in allowed_url_hosts; add it with --allowed-url-hosts")
    return parts


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to hosts that are allow-listed too."""

    def __init__(self, allowed_hosts: list[str]) -> None:
        self.allowed_hosts = allowed_hosts

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001 - urllib's signature
        check_url(newurl, self.allowed_hosts)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def download(url: str, allowed_hosts: list[str], work_dir: Path, max_bytes: int) -> Path:
    """Download an allow-listed URL into a fresh folder under ``work_dir`` (blocking: run it in a thread)."""
    parts = check_url(url, allowed_hosts)
    name = PurePosixPath(urllib.parse.unquote(parts.path)).name or "download"
    name = "".join(ch for ch in name if ch.isalnum() or ch in "._-")[:120] or "download"
    folder = work_dir / f"download-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    dest = folder / name
    opener = urllib.request.build_opener(_SameHostRedirects(allowed_hosts))
    try:
        with opener.open(url, timeout=DOWNLOAD_TIMEOUT_S) as response, dest.open("wb") as out:  # noqa: S310
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise TooLarge(f"the download is larger than max_upload_bytes ({max_bytes} bytes)")
            written = 0
            while chunk := response.read(CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise TooLarge(f"the download is larger than max_upload_bytes ({max_bytes} bytes)")
                out.write(chunk)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        logger.info("download from %s failed: %s", parts.hostname, exc)
        raise InvalidData("the URL could not be downloaded; check that it is reachable from the server") from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return dest
