"""Plain text and links of a post's cooked HTML, with the standard library's tolerant HTML parser.

Broken HTML never raises: the parser reads what it can, and :attr:`PostText.well_formed` says whether the tags were
balanced, so the survey can count and report such posts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
OPTIONAL_END = {"p", "li", "dt", "dd", "tr", "td", "th", "option", "thead", "tbody", "tfoot"}
SKIP_TEXT = {"script", "style", "aside"}  # onebox previews (<aside>) repeat the linked page, not the author's words


@dataclass
class PostText:
    text: str = ""
    links: list[str] = field(default_factory=list)
    well_formed: bool = True


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self.stack: list[str] = []
        self.skip = 0
        self.broken = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)
        if tag in ("p", "br", "li", "div", "h1", "h2", "h3", "h4", "pre", "blockquote", "tr"):
            self.parts.append("\n")
        if tag in VOID:
            return
        self.stack.append(tag)
        if tag in SKIP_TEXT:
            self.skip += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if tag not in self.stack:
            self.broken = True
            return
        while self.stack:
            open_tag = self.stack.pop()
            if open_tag in SKIP_TEXT:
                self.skip -= 1
            if open_tag == tag:
                break
            if open_tag not in OPTIONAL_END:
                self.broken = True

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def extract(cooked: str) -> PostText:
    """Text (whitespace collapsed per line), hrefs and balance of ``cooked``."""
    reader = _Reader()
    try:
        reader.feed(cooked)
        reader.close()
    except Exception:  # the tolerant parser should not raise; if it does, keep what was read
        reader.broken = True
    leftover = [t for t in reader.stack if t not in OPTIONAL_END]
    lines = (" ".join(line.split()) for line in "".join(reader.parts).splitlines())
    text = "\n".join(line for line in lines if line)
    return PostText(text, reader.links, well_formed=not (reader.broken or leftover))
