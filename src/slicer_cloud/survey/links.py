"""Link cleaning and normalisation: the same repository or page is counted once, however it was written.

Two forms of a URL are used:

- :func:`clean` drops what never identifies a page: the scheme, ``www.``, the fragment, tracking parameters, a
  trailing slash or ``index.html``, and lowercases the host. The catalog is matched against this form, so a pattern
  can look into a path (``.../modules/scripted/webserver``).
- :func:`normalise` goes further and maps every link into one repository to that repository
  (``github.com/owner/repo``, also from ``raw.githubusercontent.com`` and ``owner.github.io/repo``), versioned
  documentation pages to one page (``x.readthedocs.io/en/latest/a`` -> ``x.readthedocs.io/a``) and YouTube short links
  to the watch page. Links are counted per normalised form.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit

TRACKING = re.compile(r"^(utm_[a-z]+|fbclid|gclid|ref_src|si|mc_[a-z]+)$", re.IGNORECASE)
GITHUB_NOT_OWNERS = {
    "orgs",
    "topics",
    "search",
    "settings",
    "marketplace",
    "features",
    "sponsors",
    "about",
    "collections",
    "explore",
    "notifications",
    "login",
}
READTHEDOCS_VERSION = re.compile(r"^/(?:[a-z]{2}(?:[-_][a-z]+)?/)?(?:latest|stable|main|master|v?\d+(?:\.\w+)*)(/|$)")


@lru_cache(maxsize=65536)  # forums cite the same links again and again
def split(url: str) -> tuple[str, str, str] | None:
    """(host, path, query) of an absolute http(s) URL, host lowercased without ``www.``; None for anything else."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    host = host.removeprefix("www.")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    path = re.sub(r"/(index\.html?)?$", "", path)
    query = urlencode(
        sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING.match(k))
    )
    return host, path, query


def clean(url: str) -> str | None:
    """The cleaned form of ``url`` (``host/path?query``), or None when it is not an http(s) URL."""
    parts = split(url)
    if parts is None:
        return None
    host, path, query = parts
    return host + path + (f"?{query}" if query else "")


def _github(host: str, path: str) -> str | None:
    segments = [s for s in path.split("/") if s]
    if host in ("github.com", "raw.githubusercontent.com") and len(segments) >= 2:
        owner, repo = segments[0].lower(), segments[1].lower().removesuffix(".git")
        if owner not in GITHUB_NOT_OWNERS:
            return f"github.com/{owner}/{repo}"
    if host in ("github.com",) and len(segments) == 1:
        return f"github.com/{segments[0].lower()}"
    if host.endswith(".github.io"):
        owner = host.removesuffix(".github.io")
        return f"{owner}.github.io/{segments[0].lower()}" if segments else f"{owner}.github.io"
    return None


def normalise(url: str) -> str | None:
    """The form under which ``url`` is counted, or None when it is not an http(s) URL."""
    parts = split(url)
    if parts is None:
        return None
    host, path, query = parts
    repo = _github(host, path)
    if repo:
        return repo
    if host == "youtu.be" and path.strip("/"):
        return f"youtube.com/watch?v={path.strip('/')}"
    if host.endswith("youtube.com") and path == "/watch":
        video = dict(parse_qsl(query)).get("v")
        return f"youtube.com/watch?v={video}" if video else host + path
    if host.endswith(".readthedocs.io"):
        path = READTHEDOCS_VERSION.sub("/", path).rstrip("/")
    return host + path + (f"?{query}" if query else "")


def is_external(url: str, forum_host: str) -> bool:
    """True for an http(s) link to another site than the forum (and its CDN uploads)."""
    parts = split(url)
    if parts is None:
        return False
    host = parts[0].split(":")[0]
    forum = forum_host.lower().removeprefix("www.")
    return host != forum and not host.endswith("." + forum)
