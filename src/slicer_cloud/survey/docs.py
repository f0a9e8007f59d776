"""The technology catalog as Markdown, kept in sync with ``docs/choosing.md``.

``python -m slicer_cloud.survey.docs docs/choosing.md`` rewrites the block between the markers below from the
bundled catalog; a test checks the committed page against it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .catalog import Catalog, load_catalog

START = "<!-- survey:catalog:start -->"
END = "<!-- survey:catalog:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def catalog_markdown(catalog: Catalog) -> str:
    """One table per approach: technology and description, in catalog order."""
    parts = []
    for approach in catalog.approaches.values():
        parts.append(f"**{approach.title}** (`{approach.key}`): {_cell(approach.description)}\n")
        parts.append("| Technology | Description |\n|---|---|")
        parts.extend(f"| {_cell(t.name)} | {_cell(t.description)} |" for t in catalog.by_approach(approach.key))
        parts.append("")
    return "\n".join(parts)


def replace_block(page: str, block: str) -> str:
    """``page`` with the text between the markers replaced by ``block``."""
    head, start, rest = page.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"the page has no {START} ... {END} block")
    return f"{head}{START}\n{block}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m slicer_cloud.survey.docs docs/choosing.md\n")
        return 2
    path = Path(args[0])
    path.write_text(replace_block(path.read_text(encoding="utf-8"), catalog_markdown(load_catalog())), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
