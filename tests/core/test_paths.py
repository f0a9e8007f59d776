"""DataRoot keeps every client path inside the data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from slicer_cloud.core.paths import DataRoot
from slicer_cloud.errors import AlreadyExists, BadRequest, NotFound, UnsafePath


@pytest.fixture
def layout(tmp_path: Path) -> tuple[DataRoot, Path]:
    """A data root next to a sibling 'root2' and an 'outside' folder with a secret."""
    (tmp_path / "root" / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "root" / "sub" / "deeper" / "scan.nrrd").write_bytes(b"data")
    (tmp_path / "root" / "b.txt").write_text("b")
    (tmp_path / "root" / "a.txt").write_text("a")
    (tmp_path / "root" / ".hidden").mkdir()
    (tmp_path / "root2").mkdir()
    (tmp_path / "root2" / "f").write_text("sibling")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("secret")
    return DataRoot(tmp_path / "root"), tmp_path


def _snapshot_outside(tmp_path: Path) -> set[str]:
    return {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if not p.is_relative_to(tmp_path / "root")}


@pytest.mark.parametrize(
    "rel",
    [
        "../x",
        "sub/../../x",
        "..",
        "/etc/passwd",
        "//x",
        "C:/Windows",
        "c:x",
        "..\\x",
        "sub\\x",
        "a\x00b",
        "a\nb",
        "\x7f",
    ],
)
def test_an_unsafe_client_path_is_rejected(layout: tuple[DataRoot, Path], rel: str) -> None:
    root, _ = layout
    with pytest.raises(UnsafePath) as info:
        root.resolve(rel)
    assert str(root.root) not in info.value.message


def test_a_dotdot_path_is_rejected_even_when_it_would_land_back_inside(layout: tuple[DataRoot, Path]) -> None:
    root, _ = layout
    with pytest.raises(UnsafePath):
        root.resolve("sub/../a.txt")


def test_a_sibling_folder_sharing_the_name_prefix_is_rejected(layout: tuple[DataRoot, Path]) -> None:
    root, tmp_path = layout
    with pytest.raises(UnsafePath):
        root.resolve("../root2/f")
    os.symlink(tmp_path / "root2", tmp_path / "root" / "to_root2")
    with pytest.raises(UnsafePath):
        root.resolve("to_root2/f")
    assert all(e["name"] != "to_root2" for e in root.listdir())


def test_a_symlink_pointing_outside_is_rejected_and_hidden(layout: tuple[DataRoot, Path]) -> None:
    root, tmp_path = layout
    os.symlink(tmp_path / "outside" / "secret.txt", tmp_path / "root" / "leak.txt")
    os.symlink(tmp_path / "outside", tmp_path / "root" / "sub" / "leakdir")
    with pytest.raises(UnsafePath):
        root.resolve("leak.txt")
    with pytest.raises(UnsafePath):
        root.resolve("sub/leakdir/secret.txt")
    assert "leak.txt" not in {e["name"] for e in root.listdir()}
    assert "leakdir" not in {e["name"] for e in root.listdir("sub")}


def test_a_symlink_staying_inside_is_allowed_and_listed(layout: tuple[DataRoot, Path]) -> None:
    root, tmp_path = layout
    os.symlink(tmp_path / "root" / "sub" / "deeper", tmp_path / "root" / "shortcut")
    assert root.resolve("shortcut/scan.nrrd") == (tmp_path / "root" / "sub" / "deeper" / "scan.nrrd").resolve()
    entry = next(e for e in root.listdir() if e["name"] == "shortcut")
    assert entry["kind"] == "dir" and entry["path"] == "shortcut"


def test_a_valid_nested_path_resolves_inside_the_root(layout: tuple[DataRoot, Path]) -> None:
    root, _ = layout
    path = root.resolve("sub/./deeper//scan.nrrd", must_exist=True)
    assert path == root.root / "sub" / "deeper" / "scan.nrrd"
    assert root.relative(path) == "sub/deeper/scan.nrrd"


def test_an_empty_path_or_dot_means_the_root(layout: tuple[DataRoot, Path]) -> None:
    root, _ = layout
    assert root.resolve("") == root.root
    assert root.resolve(".") == root.root
    assert root.relative(root.root) == ""


def test_the_root_is_created_and_absolute(tmp_path: Path) -> None:
    root = DataRoot(tmp_path / "new" / "data")
    assert root.root.is_dir() and root.root.is_absolute()


def test_relative_refuses_a_path_outside_the_root(layout: tuple[DataRoot, Path]) -> None:
    root, tmp_path = layout
    with pytest.raises(UnsafePath):
        root.relative(tmp_path / "root2" / "f")


def test_must_exist_raises_not_found_for_a_missing_file(layout: tuple[DataRoot, Path]) -> None:
    root, _ = layout
    assert root.resolve("missing.nrrd") == root.root / "missing.nrrd"
    with pytest.raises(NotFound) as info:
        root.resolve("missing.nrrd", must_exist=True)
    assert "missing.nrrd" in info.value.message and str(root.root) not in info.value.message


def test_listdir_puts_folders_first_sorted_and_hides_dotfiles(layout: tuple[DataRoot, Path]) -> None:
    root, _ = layout
    (root.root / ".env").write_text("x")
    entries = root.listdir()
    assert [e["name"] for e in entries] == ["sub", "a.txt", "b.txt"]
    assert [e["kind"] for e in entries] == ["dir", "file", "file"]
    assert entries[1] == {"name": "a.txt", "path": "a.txt", "kind": "file", "size": 1, "mtime": entries[1]["mtime"]}
    assert root.listdir("sub/deeper")[0]["path"] == "sub/deeper/scan.nrrd"


def test_listdir_of_a_file_or_missing_folder_is_refused(layout: tuple[DataRoot, Path]) -> None:
    root, _ = layout
    with pytest.raises(BadRequest):
        root.listdir("a.txt")
    with pytest.raises(NotFound):
        root.listdir("nope")


def test_new_file_path_creates_parents_inside_the_root(layout: tuple[DataRoot, Path]) -> None:
    root, tmp_path = layout
    before = _snapshot_outside(tmp_path)
    path = root.new_file_path("exports/2024/seg.nrrd", overwrite=False)
    assert path == root.root / "exports" / "2024" / "seg.nrrd"
    assert path.parent.is_dir() and not path.exists()
    assert _snapshot_outside(tmp_path) == before


def test_new_file_path_respects_the_overwrite_flag(layout: tuple[DataRoot, Path]) -> None:
    root, _ = layout
    with pytest.raises(AlreadyExists):
        root.new_file_path("a.txt", overwrite=False)
    assert root.new_file_path("a.txt", overwrite=True) == root.root / "a.txt"
    with pytest.raises(BadRequest):
        root.new_file_path("sub", overwrite=True)
    with pytest.raises(BadRequest):
        root.new_file_path("", overwrite=True)


def test_new_file_path_refuses_a_parent_that_is_a_file(layout: tuple[DataRoot, Path]) -> None:
    root, _ = layout
    with pytest.raises(BadRequest):
        root.new_file_path("a.txt/inner.nrrd", overwrite=False)


@pytest.mark.parametrize("rel", [".slicer-cloud/x", ".hidden/x", "sub/.cache/y", ".profile"])
def test_writing_into_a_hidden_path_is_refused(layout: tuple[DataRoot, Path], rel: str) -> None:
    root, _ = layout
    with pytest.raises(UnsafePath):
        root.new_file_path(rel, overwrite=True)
    assert not (root.root / ".slicer-cloud").exists()


def test_writing_through_a_link_into_a_hidden_folder_is_refused(layout: tuple[DataRoot, Path]) -> None:
    root, _ = layout
    os.symlink(root.root / ".hidden", root.root / "visible")
    with pytest.raises(UnsafePath):
        root.new_file_path("visible/x.nrrd", overwrite=True)


@pytest.mark.parametrize("rel", ["../escape/x.nrrd", "/tmp/x.nrrd", "leakdir/new/x.nrrd", "dangling.nrrd"])
def test_new_file_path_never_creates_anything_outside_the_root(layout: tuple[DataRoot, Path], rel: str) -> None:
    root, tmp_path = layout
    os.symlink(tmp_path / "outside", root.root / "leakdir")
    os.symlink(tmp_path / "outside" / "new.nrrd", root.root / "dangling.nrrd")
    before = _snapshot_outside(tmp_path)
    with pytest.raises(UnsafePath):
        root.new_file_path(rel, overwrite=True)
    assert _snapshot_outside(tmp_path) == before
    assert not (tmp_path / "escape").exists()
