"""Collecting: categories, the search pages of every keyword, then each found topic's JSON (a few at a time)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from .client import DiscourseClient
from .errors import ForumError
from .model import MalformedTopic, Topic, fill_topic

logger = logging.getLogger(__name__)

OnTopic = Callable[[Topic], None]


@dataclass
class Collected:
    """Everything fetched: topics by id (in the order found), categories and the problems met on the way."""

    topics: dict[int, Topic] = field(default_factory=dict)
    categories: dict[int, str] = field(default_factory=dict)
    search_pages: int = 0
    search_answers: int = 0  # pages that came back as search results
    before_since: int = 0
    problems: list[str] = field(default_factory=list)


def _categories(client: DiscourseClient, found: Collected) -> None:
    fetched = client.get_json("/categories.json", {"include_subcategories": "true"})
    category_list = fetched.data.get("category_list") if fetched.ok and isinstance(fetched.data, dict) else None
    if not isinstance(category_list, dict) or not isinstance(category_list.get("categories"), list):
        found.problems.append(f"categories: {fetched.error or 'unexpected JSON shape'}; category names left empty")
        return
    pending: list[Any] = list(category_list["categories"])
    while pending:
        category = pending.pop()
        if isinstance(category, dict) and isinstance(category.get("id"), int):
            found.categories[category["id"]] = str(category.get("name") or category.get("slug") or category["id"])
            pending.extend(c for c in category.get("subcategory_list") or [] if isinstance(c, dict))


def _created(value: Any) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _search(
    client: DiscourseClient, keyword: str, since: dt.date | None, max_pages: int, found: Collected, tick: Callable
) -> None:
    query = f"{keyword} after:{since.isoformat()}" if since else keyword
    for page in range(1, max_pages + 1):
        fetched = client.get_json("/search.json", {"q": query, "page": page})
        found.search_pages += 1
        tick()
        data = fetched.data if fetched.ok else None
        topics = data.get("topics") if isinstance(data, dict) else None
        if not isinstance(topics, list):
            reason = fetched.error or "no 'topics' list in the answer"
            found.problems.append(f"search {keyword!r} page {page}: {reason}; later pages of this keyword skipped")
            return
        found.search_answers += 1
        new = 0
        for entry in topics:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), int):
                continue
            created = _created(entry.get("created_at"))
            if since and created and created < since:
                found.before_since += 1
                continue
            topic = found.topics.get(entry["id"])
            if topic is None:
                topic = found.topics[entry["id"]] = Topic(
                    id=entry["id"], title=str(entry.get("title") or ""), created_at=str(entry.get("created_at") or "")
                )
                new += 1
            if keyword not in topic.keywords:
                topic.keywords.append(keyword)
        more = (data.get("grouped_search_result") or {}).get("more_full_page_results")
        if not more or not topics:
            return
    found.problems.append(f"search {keyword!r}: stopped after --max-pages {max_pages}; raise it to collect more")


def _fetch_topic(client: DiscourseClient, topic: Topic, categories: dict[int, str]) -> Topic:
    fetched = client.get_json(f"/t/{topic.id}.json")
    topic.url = f"{client.base}/t/{topic.id}"
    if fetched.status in (404, 410):
        topic.status, topic.problem = "vanished", f"HTTP {fetched.status}: the topic was deleted or made private"
    elif fetched.error.startswith("malformed"):
        topic.status, topic.problem = "malformed", fetched.error
    elif not fetched.ok:
        topic.status, topic.problem = "failed", fetched.error
    else:
        try:
            fill_topic(topic, fetched.data, client.base, categories)
        except MalformedTopic as exc:
            topic.status, topic.problem = "malformed", str(exc)
    return topic


def _fetch_all(
    client: DiscourseClient, found: Collected, workers: int, advance: Callable[[], None], on_topic: OnTopic | None
) -> None:
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="survey")
    try:
        pending: set[Future[Topic]] = {
            pool.submit(_fetch_topic, client, t, found.categories) for t in found.topics.values()
        }
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                topic = future.result()
                advance()
                if on_topic:
                    on_topic(topic)
    finally:  # an interruption cancels what has not started; what was fetched stays in the cache
        pool.shutdown(wait=True, cancel_futures=True)


def collect(
    client: DiscourseClient,
    keywords: Sequence[str],
    *,
    since: dt.date | None = None,
    max_pages: int = 50,
    workers: int = 2,
    progress: Any = None,
    on_topic: OnTopic | None = None,
) -> Collected:
    """Search every keyword, then fetch the topics found with ``workers`` threads.

    ``progress`` is a :class:`rich.progress.Progress` (or None). ``on_topic`` is called in this thread after each
    topic is fetched (an exception from it stops the run; the cache keeps what was fetched).
    """
    found = Collected()
    _categories(client, found)
    with progress or nullcontext():
        pages = progress.add_task("search pages", total=None) if progress else None
        for keyword in keywords:
            _search(client, keyword, since, max_pages, found, lambda: progress and progress.advance(pages))
        if not found.search_answers:
            raise ForumError(
                f"{client.base} answered no search ({found.problems[-1]}); check that --forum is a public Discourse "
                "forum (its /search.json must be readable without a login)"
            )
        topics = progress.add_task("topics", total=len(found.topics)) if progress else None
        if progress:
            progress.update(pages, total=found.search_pages)
        _fetch_all(client, found, workers, lambda: progress and progress.advance(topics), on_topic)
    return found
