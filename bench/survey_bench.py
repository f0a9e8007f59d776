"""Forum survey benchmark: topics per second of ``slicer-cloud survey`` cold and cached, against a plain baseline.

usage: .venv/bin/python bench/survey_bench.py [--topics 600] [--delay 0.05] [--workers 1,2,4] [--label NAME]

* The forum is the tests' Discourse-compatible fake (tests/survey/fakeforum.py) on 127.0.0.1, grown to ``--topics``
  topics (the fixture's 16 plus generated ones, each with a post and three links with clicks) and answering each
  request after ``--delay`` seconds, to stand in for a forum across the internet (loopback answers in ~1 ms).
  Search pages hold 50 topics, as on Discourse.
* **baseline**: what a hand-written script does: one ``requests.Session``, sequential, no cache, the same
  endpoints (search pages, then every topic's JSON), ``json.loads`` only.
* **cold**: ``run_survey`` with an empty cache, no pacing (``rate=0``), at each ``--workers``: search, topics,
  rules, link normalisation and classification, tables, report and charts.
* **cached**: the same run again on the filled cache (zero requests), and **offline** (``--offline``: cache only).
* The default ``--rate 3`` of the command is a politeness ceiling set for a real forum: its time is requests / 3 s,
  given in the results as ``polite_estimate_s``, not measured.

Writes bench/results/survey[_LABEL].json. Peak RSS is that of this process (the survey runs in it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "survey"))

from fakeforum import FakeForum, FakeTopic, fixture_topics  # noqa: E402

from slicer_cloud.survey.run import SurveyOptions, run_survey  # noqa: E402

LINKS = [
    ("https://github.com/pieper/SlicerDockers", "remote"),
    ("https://novnc.com/info.html", "remote"),
    ("https://ohif.org/", "web"),
    ("https://github.com/Slicer/SlicerJupyter", "jupyter"),
    ("https://aws.amazon.com/ec2/", "cloud"),
    ("https://example.org/page", ""),
]


def big_forum(n: int) -> list[FakeTopic]:
    topics = [t for t in fixture_topics() if t.id < 200]
    for i in range(max(0, n - len(topics))):
        links = [(LINKS[(i + k) % len(LINKS)][0] + f"?v={i % 7}", (i * 7 + k) % 50, "") for k in range(3)]
        relevant = i % 3 != 0
        text = "Remote access to Slicer through VNC in a browser." if relevant else "A question about the web page."
        topics.append(FakeTopic(1000 + i, f"Remote web question {i}", text, links, relevant=relevant))
    return topics


def timed_run(forum: FakeForum, out: Path, **options) -> dict:
    before = forum.count()
    start = time.perf_counter()
    result = run_survey(SurveyOptions(out=out, forum=forum.base, rate=0, progress=False, **options))
    seconds = time.perf_counter() - start
    collected = dict(result.analysis.funnel)["collected"]
    return {
        "seconds": round(seconds, 3),
        "topics": collected,
        "topics_per_s": round(collected / seconds, 1),
        "requests": forum.count() - before,
        "stats": result.info.stats,
        "funnel": dict(result.analysis.funnel),
    }


def baseline(forum: FakeForum, keywords: list[str]) -> dict:
    before = forum.count()
    start = time.perf_counter()
    session = requests.Session()
    ids: set[int] = set()
    for word in keywords:
        page = 1
        while True:
            data = session.get(f"{forum.base}/search.json", params={"q": word, "page": page}, timeout=30).json()
            ids.update(t["id"] for t in data["topics"])
            if not data["grouped_search_result"].get("more_full_page_results"):
                break
            page += 1
    for tid in sorted(ids):
        response = session.get(f"{forum.base}/t/{tid}.json", timeout=30)
        if response.status_code == 200:
            try:
                response.json()
            except ValueError:
                pass
    seconds = time.perf_counter() - start
    return {
        "seconds": round(seconds, 3),
        "topics": len(ids),
        "topics_per_s": round(len(ids) / seconds, 1),
        "requests": forum.count() - before,
    }


def machine() -> dict:
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout
    except OSError:
        commit = ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_avg_start": os.getloadavg()[0],
        "commit": commit.strip(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topics", type=int, default=600)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds per answer of the fake forum")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    keywords = ["web", "cloud", "internet", "remote"]
    forum = FakeForum(big_forum(args.topics), page_size=50).start()
    forum.fail_once.clear()
    forum.delay = args.delay
    results: dict = {"machine": machine(), "topics": args.topics, "delay_s": args.delay, "runs": {}}
    work = Path(tempfile.mkdtemp(prefix="survey-bench-"))
    try:
        results["runs"]["baseline"] = baseline(forum, keywords)
        print("baseline", results["runs"]["baseline"], flush=True)
        for workers in [int(w) for w in args.workers.split(",")]:
            out = work / f"w{workers}"
            cold = timed_run(forum, out, workers=workers, backoff=0.1)
            results["runs"][f"cold_workers_{workers}"] = cold
            print(f"cold workers={workers}", {k: cold[k] for k in ("seconds", "topics_per_s", "requests")}, flush=True)
        last = out
        results["runs"]["cached"] = timed_run(forum, last, workers=2)
        results["runs"]["offline"] = timed_run(forum, last, workers=2, offline=True)
        for name in ("cached", "offline"):
            r = results["runs"][name]
            print(name, {k: r[k] for k in ("seconds", "topics_per_s", "requests")}, flush=True)
        requests_needed = results["runs"]["baseline"]["requests"] + 1  # + categories
        results["polite_estimate_s"] = round(requests_needed / 3.0, 1)
        results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        results["cache_mb"] = round((last / ".cache" / "http.sqlite").stat().st_size / 1e6, 2)
    finally:
        forum.stop()
        shutil.rmtree(work, ignore_errors=True)
    name = f"survey_{args.label}.json" if args.label else "survey.json"
    path = ROOT / "bench" / "results" / name
    path.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {path.relative_to(ROOT)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
