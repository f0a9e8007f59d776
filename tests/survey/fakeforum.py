"""A Discourse-compatible forum on loopback for the survey tests: real HTTP, JSON in Discourse's shapes, faults.

Serves ``/search.json`` (pagination, ``after:DATE``), ``/t/{id}.json`` (posts with ``cooked`` HTML and
``link_counts``, ``details.links`` with ``clicks``), ``/categories.json`` (with a subcategory). Faults are data:
``rate_limit_once`` paths answer 429 with ``Retry-After`` the first time, ``fail_once`` paths answer 500 the first
time (``fail_always``: every time), ``malformed`` paths answer broken JSON, topics in the search index but not in
``topics`` answer 404. Every request is recorded (path with query, status, time).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CATEGORIES = [
    {"id": 1, "name": "Support", "slug": "support"},
    {
        "id": 2,
        "name": "Development",
        "slug": "dev",
        "subcategory_list": [{"id": 3, "name": "Extensions", "slug": "ext"}],
    },
]


@dataclass
class FakeTopic:
    """A topic as the fixture defines it; ``links`` are (url, clicks, expected technology or "")."""

    id: int
    title: str
    text: str
    links: list[tuple[str, int, str]] = field(default_factory=list)
    created: str = "2021-03-04T10:00:00.000Z"
    category_id: int = 1
    tags: list[str] = field(default_factory=list)
    relevant: bool = False  # what a careful reader decides: the rules should agree
    cooked: str | None = None  # raw post HTML instead of one generated from text and links
    extra_internal: bool = False  # add an internal link, an attachment and a link to the forum itself


def _cooked(topic: FakeTopic) -> str:
    if topic.cooked is not None:
        return topic.cooked
    anchors = " ".join(f'<a href="{escape(url)}">this page</a>' for url, _, _ in topic.links)
    return f"<p>{escape(topic.text)}</p>\n<p>{anchors}</p>\n<aside class='onebox'>remote vnc docker preview</aside>"


def fixture_topics() -> list[FakeTopic]:
    """The forum of the tests. Expected figures in test_survey.py are derived by hand from this list."""
    t = FakeTopic
    topics = [
        t(
            101,
            "Running Slicer remotely on a lab server",
            "I want remote access to Slicer on our GPU workstation, through VNC in a browser.",
            [
                ("https://github.com/pieper/SlicerDockers", 30, "SlicerDockers"),
                ("https://novnc.com/info.html", 12, "noVNC"),
                ("https://www.virtualgl.org/", 5, "VirtualGL"),
            ],
            tags=["remote-access"],
            relevant=True,
            extra_internal=True,
        ),
        t(
            102,
            "Slicer in a Docker container on the web",
            "Is there a docker image I can open in the browser via vnc?",
            [
                ("https://github.com/pieper/SlicerDockers/tree/master/slicer-plus", 8, "SlicerDockers"),
                ("https://github.com/pieper/SlicerDockers#readme", 2, "SlicerDockers"),
            ],
            relevant=True,
        ),
        t(
            103,
            "Headless Slicer as a web server for processing",
            "Can Slicer run headless and expose a REST API? I found the WebServer module.",
            [
                ("https://github.com/pieper/SlicerWeb", 15, "SlicerWeb / WebServer"),
                (
                    "https://slicer.readthedocs.io/en/latest/user_guide/modules/webserver.html",
                    7,
                    "SlicerWeb / WebServer",
                ),
                ("https://github.com/girder/slicer_cli_web", 9, "girder slicer_cli_web"),
            ],
            relevant=True,
        ),
        t(
            104,
            "Jupyter notebooks with Slicer in the cloud",
            "SlicerJupyter on Binder or Google Colab: does it work?",
            [
                ("https://github.com/Slicer/SlicerJupyter", 20, "SlicerJupyter"),
                ("https://mybinder.org/v2/gh/Slicer/SlicerNotebooks/master", 11, "Binder"),
                ("https://colab.research.google.com/drive/abc", 4, "Google Colab"),
            ],
            relevant=True,
        ),
        t(
            105,
            "Showing segmentation results on the web",
            "We want to show results in a web viewer like OHIF or vtk.js.",
            [
                ("https://ohif.org/", 6, "OHIF"),
                ("https://kitware.github.io/vtk-js/examples/VolumeViewer.html", 3, "vtk.js"),
                ("https://github.com/Kitware/trame-slicer", 10, "trame / trame-slicer"),
                ("https://some-blog.example.org/post?utm_source=forum", 2, ""),
            ],
            relevant=True,
        ),
        t(
            106,
            "Slicer on cloud VMs",
            "Deploying Slicer on AWS EC2 or Azure, or on our Jetstream allocation.",
            [
                ("https://aws.amazon.com/ec2/", 5, "AWS"),
                ("https://azure.microsoft.com/en-us/", 1, "Azure"),
                ("https://jetstream-cloud.org/", 3, "Jetstream"),
                ("https://cloud.google.com/healthcare-api", 2, "Google Cloud"),
            ],
            category_id=3,
            relevant=True,
        ),
        t(
            107,
            "Cannot download extensions: internet connection behind a proxy",
            "The extension manager fails behind our proxy although the internet connection works.",
            [("https://github.com/Slicer/ExtensionsIndex", 40, "")],
        ),
        t(
            108,
            "Typo on the web site",
            "The web site has a typo on the download page.",
            [("https://download.slicer.org", 3, "")],
        ),
        t(
            109,
            "Sharing a scene with a remote collaborator",
            "How do I share a scene with a colleague?",
            [("https://www.slicedrop.com/", 5, "SliceDrop")],
            relevant=True,
        ),
        t(111, "Cloud costs", "How much does it cost?"),
        t(
            112,
            "VNC shows a black screen remote",
            "",
            [("https://novnc.com/", 4, "noVNC")],
            relevant=True,
            cooked='<p>VNC viewer shows a <b>black screen</div> from the remote machine <a href="https://novnc.com/">'
            "novnc</a><table><tr><td>cell</p>",
        ),
        t(
            113,
            "Remote desktop via X2Go",
            "Remote desktop via X2Go works fine for Slicer.",
            [("https://wiki.x2go.org/doku.php", 2, "X2Go / NoMachine")],
            relevant=True,
        ),
        t(
            114,
            "Old remote access question",
            "Remote access to Slicer from home?",
            [("https://github.com/pieper/slicerdockers/", 100, "SlicerDockers")],
            created="2015-06-01T08:00:00.000Z",
            relevant=True,
        ),
        t(
            115,
            "Cloud storage of DICOM files",
            "We keep DICOM files on a cloud drive.",
            [("https://orthanc-server.com", 6, "")],
        ),
        t(116, "Remote access without links", "Can I get remote access to Slicer from home?", relevant=True),
        t(
            117,
            "Web app for annotations",
            "We built a web app for annotations.",
            [("https://example.org/annotator", 3, "")],
            relevant=True,
        ),
    ]
    fillers = [t(200 + i, f"Webinar announcement {i}", "Join the webinar on the web page.") for i in range(30)]
    return topics + fillers


# In the search index (found by searches) but gone when read: the vanished topic.
VANISHED = {110: ("Remote rendering question", "2022-01-01T00:00:00.000Z")}


class FakeForum:
    """The fixture forum served on 127.0.0.1 by a threading HTTP server."""

    def __init__(self, topics: list[FakeTopic] | None = None, page_size: int = 10) -> None:
        self.topics = {t.id: t for t in (topics if topics is not None else fixture_topics())}
        self.page_size = page_size
        self.rate_limit_once: set[str] = set()  # e.g. {"/t/113.json"}: costs the tests a Retry-After wait
        self.fail_once: set[str] = {"/t/112.json", "/search.json?page=2&q=web"}
        self.fail_always: set[str] = set()
        self.malformed: set[str] = {"/t/111.json"}
        self.retry_after = "1"
        self.delay = 0.0  # seconds each answer takes (a real forum is not on loopback)
        self.requests: list[tuple[str, int, float]] = []
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeForum:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- what the tests read -------------------------------------------------------------------------------------
    def count(self, prefix: str = "") -> int:
        with self._lock:
            return sum(1 for path, _, _ in self.requests if path.startswith(prefix))

    def statuses(self, path: str) -> list[int]:
        with self._lock:
            return [s for p, s, _ in self.requests if p == path]

    def times(self, path: str) -> list[float]:
        with self._lock:
            return [t for p, _, t in self.requests if p == path]

    # -- Discourse shapes ----------------------------------------------------------------------------------------
    def _index(self) -> list[tuple[int, str, str, str]]:
        """(id, title, plain text, created_at) of every searchable topic."""
        rows = [(t.id, t.title, t.text, t.created) for t in self.topics.values()]
        rows += [(i, title, "", created) for i, (title, created) in VANISHED.items()]
        return sorted(rows)

    def search(self, q: str, page: int) -> dict:
        after = re.search(r"after:(\d{4}-\d{2}-\d{2})", q)
        words = re.sub(r"\S+:\S+", " ", q).split()
        hits = []
        for tid, title, text, created in self._index():
            if after and created[:10] < after.group(1):
                continue
            body = f"{title} {text}"
            if all(re.search(rf"\b{re.escape(w)}", body, re.IGNORECASE) for w in words):
                hits.append((tid, title, created))
        chunk = hits[(page - 1) * self.page_size : page * self.page_size]
        topics = [
            {
                "id": tid,
                "title": title,
                "fancy_title": title,
                "slug": re.sub(r"\W+", "-", title.lower()).strip("-"),
                "posts_count": 1,
                "reply_count": 0,
                "created_at": created,
                "category_id": 1,
                "tags": [],
                "archetype": "regular",
            }
            for tid, title, created in chunk
        ]
        posts = [
            {"id": tid * 10, "topic_id": tid, "post_number": 1, "blurb": title, "username": "someone"}
            for tid, title, _ in chunk
        ]
        return {
            "posts": posts,
            "topics": topics,
            "users": [],
            "categories": [],
            "tags": [],
            "groups": [],
            "grouped_search_result": {
                "more_posts": None,
                "more_users": None,
                "more_categories": None,
                "term": q,
                "search_log_id": 1,
                "more_full_page_results": len(hits) > page * self.page_size or None,
                "can_create_topic": False,
                "error": None,
                "post_ids": [p["id"] for p in posts],
                "user_ids": [],
                "category_ids": [],
                "tag_ids": [],
                "group_ids": [],
            },
        }

    def topic(self, tid: int) -> dict | None:
        t = self.topics.get(tid)
        if t is None:
            return None
        link_entries = [
            {
                "url": url,
                "title": None,
                "internal": False,
                "attachment": False,
                "reflection": False,
                "clicks": clicks,
                "user_id": 7,
                "domain": urlsplit(url).hostname,
                "root_domain": urlsplit(url).hostname,
            }
            for url, clicks, _ in t.links
        ]
        if t.extra_internal:
            link_entries += [
                {"url": "/t/another-topic/5", "internal": True, "reflection": False, "clicks": 50, "title": "x"},
                {
                    "url": "https://discourse.example/uploads/a.png",
                    "internal": False,
                    "attachment": True,
                    "reflection": False,
                    "clicks": 9,
                },
                {"url": f"{self.base}/t/self-link/6", "internal": False, "reflection": False, "clicks": 7},
            ]
        slug = re.sub(r"\W+", "-", t.title.lower()).strip("-")
        post = {
            "id": tid * 10,
            "post_number": 1,
            "topic_id": tid,
            "username": "someone",
            "cooked": _cooked(t),
            "link_counts": [
                {"url": e["url"], "internal": e["internal"], "reflection": False, "clicks": e["clicks"]}
                for e in link_entries
            ],
        }
        return {
            "id": tid,
            "title": t.title,
            "fancy_title": t.title,
            "slug": slug,
            "posts_count": 1,
            "created_at": t.created,
            "category_id": t.category_id,
            "tags": list(t.tags),
            "archetype": "regular",
            "post_stream": {"posts": [post], "stream": [post["id"]]},
            "details": {"links": link_entries, "can_edit": False, "participants": []},
        }

    # -- HTTP ----------------------------------------------------------------------------------------------------
    def _answer(self, key: str, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        first = self._seen[key] == 1
        if key in self.rate_limit_once and first:
            return 429, {"Retry-After": self.retry_after}, b'{"errors":["slow down"],"error_type":"rate_limit"}'
        if key in self.fail_always or (key in self.fail_once and first):
            return 500, {}, b"<html>Internal Server Error</html>"
        if key in self.malformed:
            return 200, {}, b'{"post_stream": {"posts": [ {"cooked": "<p>trunc'
        if path == "/categories.json":
            return 200, {}, json.dumps({"category_list": {"categories": CATEGORIES}}).encode()
        if path == "/search.json":
            page = int(query.get("page", ["1"])[0])
            return 200, {}, json.dumps(self.search(query.get("q", [""])[0], page)).encode()
        match = re.fullmatch(r"/t/(\d+)\.json", path)
        if match:
            data = self.topic(int(match.group(1)))
            if data is None:
                return (
                    404,
                    {},
                    b'{"errors":["The requested URL or resource could not be found."],"error_type":"not_found"}',
                )
            return 200, {}, json.dumps(data).encode()
        return 404, {}, b'{"errors":["not found"]}'

    def _handler(self):
        forum = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                key = parts.path + ("?" + "&".join(f"{k}={v[0]}" for k, v in sorted(query.items())) if query else "")
                with forum._lock:
                    forum._seen[key] += 1
                if forum.delay:
                    time.sleep(forum.delay)
                status, headers, body = forum._answer(key, parts.path, query)
                with forum._lock:
                    forum.requests.append((key, status, time.monotonic()))
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler


def created_date(topic: FakeTopic) -> dt.date:
    return dt.date.fromisoformat(topic.created[:10])
