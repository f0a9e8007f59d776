"""What the survey knows about one topic and one link, read from Discourse's topic JSON defensively."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .html_text import extract

Status = Literal["kept", "dropped", "vanished", "failed", "malformed"]


@dataclass
class TopicLink:
    """An external link of a topic, as Discourse counts it (``details.links``)."""

    url: str
    clicks: int = 0
    title: str = ""


@dataclass
class Topic:
    """One collected topic and the survey's decision about it."""

    id: int
    title: str = ""
    url: str = ""
    created_at: str = ""
    category: str = ""
    tags: list[str] = field(default_factory=list)
    posts_count: int = 0
    keywords: list[str] = field(default_factory=list)
    text: str = ""
    links: list[TopicLink] = field(default_factory=list)
    status: Status = "dropped"
    rule: str = ""
    reason: str = ""
    malformed_html: int = 0
    problem: str = ""

    def as_row(self) -> dict[str, Any]:
        """A flat record for topics.csv / topics.json (without the post text)."""
        row = asdict(self)
        row.pop("text")
        row["links"] = len(self.links)
        row["clicks"] = sum(link.clicks for link in self.links)
        row["tags"] = ";".join(self.tags)
        row["keywords"] = ";".join(self.keywords)
        return row


def _int(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _tag_names(tags: Any) -> list[str]:
    names = []
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, str):
            names.append(tag)
        elif isinstance(tag, dict) and isinstance(tag.get("name"), str):  # newer Discourse: {id, name, slug}
            names.append(tag["name"])
    return names


class MalformedTopic(ValueError):
    """The topic JSON does not have Discourse's shape."""


def fill_topic(topic: Topic, data: Any, forum_base: str, categories: dict[int, str]) -> None:
    """Fill ``topic`` from Discourse's ``/t/{id}.json``; raises :class:`MalformedTopic` when the shape is wrong.

    Links come from ``details.links`` (with their ``clicks``); internal links, attachments and reflections are left
    out. A topic without that summary falls back to the posts' ``link_counts``, then to the anchors of the posts.
    """
    if not isinstance(data, dict) or not isinstance(data.get("post_stream"), dict):
        raise MalformedTopic("the topic JSON has no post_stream")
    posts = data["post_stream"].get("posts")
    if not isinstance(posts, list):
        raise MalformedTopic("the topic JSON has no post list")
    topic.title = str(data.get("title") or topic.title)
    slug = str(data.get("slug") or "topic")
    topic.url = f"{forum_base}/t/{slug}/{topic.id}"
    topic.created_at = str(data.get("created_at") or topic.created_at)
    category_id = data.get("category_id")
    topic.category = categories.get(category_id, topic.category) if isinstance(category_id, int) else topic.category
    topic.tags = _tag_names(data.get("tags")) or topic.tags
    topic.posts_count = _int(data.get("posts_count")) or len(posts)

    anchors: list[str] = []
    texts: list[str] = []
    malformed = 0
    for number, post in enumerate(p for p in posts if isinstance(p, dict)):
        cooked = post.get("cooked")
        parsed = extract(cooked if isinstance(cooked, str) else "")
        malformed += int(not parsed.well_formed or not isinstance(cooked, str))
        anchors.extend(parsed.links)
        if number == 0:
            texts.append(parsed.text)
    topic.text = "\n".join(texts)
    topic.malformed_html = malformed

    details = data.get("details") if isinstance(data.get("details"), dict) else {}
    entries = details.get("links")
    if not isinstance(entries, list):
        entries = [
            lc for p in posts if isinstance(p, dict) for lc in (p.get("link_counts") or []) if isinstance(lc, dict)
        ]
        if not entries:
            entries = [{"url": href, "clicks": 0} for href in anchors]
    links = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            continue
        if entry.get("internal") or entry.get("attachment") or entry.get("reflection"):
            continue
        links.append(TopicLink(entry["url"], _int(entry.get("clicks")), str(entry.get("title") or "")))
    topic.links = links
