"""A client of a Discourse forum's public JSON endpoints, with an on-disk cache and polite request pacing.

Built on ``requests`` + ``requests-cache`` (an SQLite file: every answer is stored, so a rerun or a resumed run
never asks twice) and urllib3's ``Retry`` (429 and 5xx are retried with back-off, honouring ``Retry-After``). Only
requests that miss the cache reach :class:`PoliteAdapter`, which paces them (``rate`` per second) and counts them.

Endpoints used (all public, no API key): ``/search.json?q=...&page=N``, ``/t/{id}.json``, ``/categories.json``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests_cache import NEVER_EXPIRE, CachedSession
from urllib3.util.retry import Retry

from .. import __version__
from .errors import ForumError

logger = logging.getLogger(__name__)

RETRY_STATUSES = (429, 500, 502, 503, 504)
CACHED_STATUSES = (200, 404, 410)  # a vanished topic is an answer too: not asked again


class _Retry(Retry):
    """urllib3's Retry with a ceiling on how long one ``Retry-After`` may make us wait."""

    max_retry_after: float = 120.0

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(value, self.max_retry_after)


@dataclass
class RequestStats:
    """What went over the network (cache hits are not requests)."""

    requests: int = 0
    cached: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("requests", "cached", "rate_limited", "server_errors")}


class RateLimiter:
    """Spaces request starts at least ``1 / rate`` seconds apart, across threads (``rate <= 0``: no pacing)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


class PoliteAdapter(HTTPAdapter):
    """The transport under the cache: paces and counts the requests that really go out, retries included."""

    def __init__(self, limiter: RateLimiter, stats: RequestStats, **kwargs: Any) -> None:
        self.limiter = limiter
        self.stats = stats
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.limiter.wait()
        try:
            response = super().send(request, **kwargs)
        except requests.RequestException:
            self.stats.add(requests=1)
            raise
        history = getattr(getattr(response.raw, "retries", None), "history", ()) or ()
        statuses = [h.status for h in history if h.status] + [response.status_code]
        self.stats.add(
            requests=1 + len(history),
            rate_limited=sum(s == 429 for s in statuses),
            server_errors=sum(s >= 500 for s in statuses),
        )
        return response


@dataclass
class Fetched:
    """One answer: ``data`` is the parsed JSON when ``status`` is 200 and the body parsed; ``error`` says otherwise."""

    status: int
    data: Any = None
    error: str = ""
    from_cache: bool = False

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.error


def forum_base(url: str) -> str:
    """``url`` checked to be an http(s) forum address, without a trailing slash."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ForumError(
            f"--forum {url!r} is not an http(s) URL; give the forum's address, e.g. https://discourse.slicer.org"
        )
    return url.strip().rstrip("/")


class DiscourseClient:
    """GETs JSON from one Discourse forum through a persistent cache.

    ``cache_path``: the SQLite cache file. ``concurrency``: connections kept per host (use as many worker threads).
    ``rate``: network requests per second at most. ``retries``: attempts after a 429/5xx/connection error.
    ``backoff``: urllib3 back-off factor in seconds. ``offline``: answer from the cache only (a miss is an error).
    """

    def __init__(
        self,
        base_url: str,
        cache_path: Path,
        *,
        concurrency: int = 2,
        rate: float = 3.0,
        retries: int = 5,
        backoff: float = 1.0,
        timeout: float = 30.0,
        offline: bool = False,
    ) -> None:
        self.base = forum_base(base_url)
        self.host = urlsplit(self.base).hostname or ""
        self.timeout = timeout
        self.stats = RequestStats()
        Path(cache_path).parent.mkdir(parents=True, exist_ok=True)
        self.session = CachedSession(
            str(cache_path),
            backend="sqlite",
            expire_after=NEVER_EXPIRE,
            allowable_codes=CACHED_STATUSES,
            allowable_methods=("GET",),
            wal=True,  # write-ahead log: one commit per answer without a full sync each time (~5x faster here)
        )
        self.session.settings.only_if_cached = offline
        self.session.headers["User-Agent"] = f"slicer-cloud-survey/{__version__} (+https://discourse.slicer.org)"
        self.session.headers["Accept"] = "application/json"
        retry = _Retry(
            total=retries,
            connect=min(retries, 2),  # a forum that refuses connections is down or mistyped: say so soon
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            backoff_factor=backoff,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        adapter = PoliteAdapter(
            RateLimiter(rate), self.stats, max_retries=retry, pool_connections=1, pool_maxsize=max(1, concurrency)
        )
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> DiscourseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Fetched:
        """GET ``path`` (relative to the forum) and parse its JSON; never raises for one bad answer.

        Raises :class:`ForumError` only when the forum cannot be reached at all (connection refused, DNS, timeout
        after the retries), because then nothing else will work either.
        """
        url = f"{self.base}{path}"
        try:
            response = self.session.get(url, params=params, timeout=self.timeout)
        except requests.exceptions.RetryError as exc:
            return Fetched(429, error=f"gave up after retries ({exc.__class__.__name__})")
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ForumError(
                f"cannot reach {self.base} ({exc.__class__.__name__}); check --forum and the network, then rerun: "
                "answers received so far are cached"
            ) from exc
        from_cache = bool(getattr(response, "from_cache", False))
        if from_cache:
            self.stats.add(cached=1)
        if response.status_code == 504 and self.session.settings.only_if_cached:
            return Fetched(504, error="not in the cache (offline run)")
        if response.status_code != 200:
            reason = {429: "rate limited, retries exhausted", 403: "forbidden (the forum needs a login?)"}
            text = reason.get(response.status_code, response.reason or "error")
            return Fetched(response.status_code, error=f"HTTP {response.status_code}: {text}", from_cache=from_cache)
        try:
            data = json.loads(response.content)
        except (ValueError, UnicodeDecodeError) as exc:
            return Fetched(200, error=f"malformed JSON ({exc.__class__.__name__})", from_cache=from_cache)
        return Fetched(200, data=data, from_cache=from_cache)
