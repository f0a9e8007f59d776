"""Checks that an MRML scene file only references data inside an allowed folder.

A scene is XML whose storage nodes name files (``fileName``, ``fileListMember0``...). A hostile scene could point them
at any server file; we refuse the scene before Slicer reads it.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import unquote, urlparse
from xml.etree import ElementTree

from ..errors import InvalidData, UnsafePath

logger = logging.getLogger(__name__)

_FILE_ATTR = re.compile(r"^(fileName|fileListMember\d+)$")


def referenced_files(mrml_path: Path) -> list[str]:
    """File names referenced by the storage nodes of an MRML scene, as written in the file."""
    try:
        tree = ElementTree.parse(mrml_path)  # noqa: S314 - expat does not resolve external entities
    except (ElementTree.ParseError, UnicodeDecodeError):
        raise InvalidData(f"{mrml_path.name} is not a valid MRML scene (XML parse error)") from None
    names = []
    for element in tree.iter():
        for key, value in element.attrib.items():
            if _FILE_ATTR.match(key) and value:
                names.append(value)
    return names


def check_mrml_references(mrml_path: Path, allowed_root: Path) -> None:
    """Raise :class:`UnsafePath` when a scene references a file outside ``allowed_root`` (or a remote URL)."""
    base = mrml_path.parent.resolve()
    root = allowed_root.resolve()
    for name in referenced_files(mrml_path):
        parsed = urlparse(name)
        if parsed.scheme and len(parsed.scheme) > 1 and parsed.scheme != "file":
            raise UnsafePath(f"{mrml_path.name} references a remote resource; only files next to the scene load")
        target_name = unquote(parsed.path) if parsed.scheme == "file" else name
        if "\x00" in target_name:
            raise UnsafePath(f"{mrml_path.name} references an invalid file name")
        target = (base / target_name).resolve()
        if not target.is_relative_to(root):
            logger.warning("refused scene %s: reference outside the allowed folder", mrml_path.name)
            raise UnsafePath(
                f"{mrml_path.name} references a file outside the data folder; keep scene data next to the scene"
            )
