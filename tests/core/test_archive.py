"""safe_extract_zip refuses zip-slip, links and bombs, and never leaves partial output."""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from slicer_cloud.core.archive import is_zip, safe_extract_zip
from slicer_cloud.errors import AlreadyExists, InvalidData, TooLarge, UnsafeArchive, UnsupportedFormat

LIMITS = {"max_total_bytes": 100 * 1024 * 1024, "max_ratio": 100.0}


def _zip(path: Path, members: list[tuple[str | zipfile.ZipInfo, bytes]], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return path


def _tree(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


@pytest.fixture
def box(tmp_path: Path) -> tuple[Path, Path]:
    """(workspace, dest): dest lives inside the workspace so escapes would be visible next to it."""
    work = tmp_path / "work"
    (work / "dest").mkdir(parents=True)
    return work, work / "dest"


def _assert_clean(work: Path, dest: Path, zip_name: str = "a.zip") -> None:
    assert _tree(work) == {"dest", zip_name}, "something was written outside dest"
    assert _tree(dest) == set(), "dest holds partial output"
    assert not (work.parent / "evil").exists()


@pytest.mark.parametrize(
    "name",
    ["../evil", "sub/../../evil", "/abs/evil", "C:/evil", "c:evil", "..\\evil", "sub\\evil", "ok/\x01evil"],
)
def test_a_zip_slip_member_is_rejected_before_anything_is_written(box: tuple[Path, Path], name: str) -> None:
    work, dest = box
    zpath = _zip(work / "a.zip", [("good.txt", b"fine"), (name, b"evil")])
    with pytest.raises(UnsafeArchive) as info:
        safe_extract_zip(zpath, dest, **LIMITS)
    assert str(dest) not in info.value.message
    _assert_clean(work, dest)


def test_a_symlink_member_is_rejected(box: tuple[Path, Path]) -> None:
    work, dest = box
    link = zipfile.ZipInfo("innocent")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    zpath = _zip(work / "a.zip", [("good.txt", b"fine"), (link, b"/etc/passwd")])
    with pytest.raises(UnsafeArchive, match="link"):
        safe_extract_zip(zpath, dest, **LIMITS)
    _assert_clean(work, dest)


def test_a_member_through_an_existing_outward_link_in_dest_is_rejected(box: tuple[Path, Path]) -> None:
    work, dest = box
    (work / "outside").mkdir()
    os.symlink(work / "outside", dest / "link")
    zpath = _zip(work / "a.zip", [("link/evil", b"evil")])
    with pytest.raises(UnsafeArchive):
        safe_extract_zip(zpath, dest, **LIMITS)
    assert list((work / "outside").iterdir()) == []


def test_a_decompression_bomb_is_rejected_by_ratio(box: tuple[Path, Path]) -> None:
    work, dest = box
    zpath = work / "a.zip"
    with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_DEFLATED) as zf, zf.open("zeros.raw", "w") as out:
        chunk = bytes(1 << 20)
        for _ in range(50):  # 50 MB of zeros compress to ~50 KB
            out.write(chunk)
    assert zpath.stat().st_size < 1 << 20
    with pytest.raises(UnsafeArchive, match="decompression bomb"):
        safe_extract_zip(zpath, dest, max_total_bytes=1 << 40, max_ratio=100.0)
    _assert_clean(work, dest)


def test_an_archive_declaring_more_than_the_limit_is_rejected(box: tuple[Path, Path]) -> None:
    work, dest = box
    zpath = _zip(work / "a.zip", [("a.bin", os.urandom(600_000)), ("b.bin", os.urandom(600_000))])
    with pytest.raises(TooLarge, match="limit"):
        safe_extract_zip(zpath, dest, max_total_bytes=1_000_000, max_ratio=100.0)
    _assert_clean(work, dest)


def test_an_archive_with_too_many_members_is_rejected(box: tuple[Path, Path]) -> None:
    work, dest = box
    zpath = _zip(work / "a.zip", [(f"f{i}.txt", b"x") for i in range(5)])
    with pytest.raises(TooLarge, match="entries"):
        safe_extract_zip(zpath, dest, max_members=4, **LIMITS)
    _assert_clean(work, dest)


def _lie_about_size(zpath: Path, declared: int) -> None:
    """Rewrite the uncompressed size in the local header and the central directory."""
    raw = bytearray(zpath.read_bytes())
    local = raw.index(b"PK\x03\x04")
    central = raw.index(b"PK\x01\x02")
    raw[local + 22 : local + 26] = struct.pack("<I", declared)
    raw[central + 24 : central + 28] = struct.pack("<I", declared)
    zpath.write_bytes(bytes(raw))


def test_a_member_lying_about_its_size_leaves_nothing_behind(box: tuple[Path, Path]) -> None:
    work, dest = box
    zpath = _zip(work / "a.zip", [("liar.bin", bytes(300_000))])
    _lie_about_size(zpath, 1000)
    assert zipfile.ZipFile(zpath).getinfo("liar.bin").file_size == 1000
    with pytest.raises((InvalidData, TooLarge)):
        safe_extract_zip(zpath, dest, **LIMITS)
    _assert_clean(work, dest)


def test_the_hard_byte_counter_stops_a_stream_longer_than_declared(
    box: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    work, dest = box
    zpath = _zip(work / "a.zip", [("first.txt", b"ok"), ("small.bin", b"0123456789")])
    real_open = zipfile.ZipFile.open

    def lying_open(self: zipfile.ZipFile, name: str | zipfile.ZipInfo, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        member = name.filename if isinstance(name, zipfile.ZipInfo) else name
        if member == "small.bin":
            return io.BytesIO(b"x" * 5_000_000)
        return real_open(self, name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(zipfile.ZipFile, "open", lying_open)
    with pytest.raises(TooLarge, match="more data than it declares"):
        safe_extract_zip(zpath, dest, **LIMITS)
    _assert_clean(work, dest)


def test_a_file_and_folder_with_the_same_name_leave_nothing_behind(box: tuple[Path, Path]) -> None:
    work, dest = box
    zpath = _zip(work / "a.zip", [("x/one.txt", b"1"), ("a", b"file"), ("a/b", b"child")])
    with pytest.raises(UnsafeArchive):
        safe_extract_zip(zpath, dest, **LIMITS)
    _assert_clean(work, dest)


def test_an_existing_file_in_dest_is_not_overwritten(box: tuple[Path, Path]) -> None:
    work, dest = box
    (dest / "keep.txt").write_text("mine")
    zpath = _zip(work / "a.zip", [("new/one.txt", b"1"), ("keep.txt", b"theirs")])
    with pytest.raises(AlreadyExists):
        safe_extract_zip(zpath, dest, **LIMITS)
    assert _tree(dest) == {"keep.txt"}
    assert (dest / "keep.txt").read_text() == "mine"


def test_an_encrypted_member_is_unsupported(box: tuple[Path, Path]) -> None:
    work, dest = box
    zpath = _zip(work / "a.zip", [("secret.txt", b"data")], method=zipfile.ZIP_STORED)
    raw = bytearray(zpath.read_bytes())
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = raw.index(sig) + off
        raw[pos : pos + 2] = struct.pack("<H", struct.unpack("<H", raw[pos : pos + 2])[0] | 0x1)
    zpath.write_bytes(bytes(raw))
    with pytest.raises(UnsupportedFormat, match="encrypted"):
        safe_extract_zip(zpath, dest, **LIMITS)
    _assert_clean(work, dest)


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04" + bytes(100)])
def test_a_non_zip_or_corrupt_upload_is_invalid_data(box: tuple[Path, Path], content: bytes) -> None:
    work, dest = box
    (work / "a.zip").write_bytes(content)
    assert not is_zip(work / "a.zip")
    with pytest.raises(InvalidData):
        safe_extract_zip(work / "a.zip", dest, **LIMITS)
    _assert_clean(work, dest)


def test_a_truncated_zip_is_invalid_data(box: tuple[Path, Path]) -> None:
    work, dest = box
    zpath = _zip(work / "a.zip", [("a.bin", os.urandom(50_000))])
    zpath.write_bytes(zpath.read_bytes()[:-30])
    with pytest.raises(InvalidData):
        safe_extract_zip(zpath, dest, **LIMITS)
    _assert_clean(work, dest)


def test_a_valid_zip_extracts_all_files(box: tuple[Path, Path]) -> None:
    work, dest = box
    zpath = _zip(
        work / "a.zip",
        [("case1/", b""), ("case1/scan.nrrd", b"NRRD0004\n"), ("case1/dicom/1.dcm", b"x" * 5000), ("top.txt", b"")],
    )
    assert is_zip(zpath)
    assert not is_zip(work / "missing.zip")
    files = safe_extract_zip(zpath, dest, **LIMITS)
    assert sorted(p.relative_to(dest).as_posix() for p in files) == ["case1/dicom/1.dcm", "case1/scan.nrrd", "top.txt"]
    assert (dest / "case1" / "dicom" / "1.dcm").read_bytes() == b"x" * 5000
    assert _tree(work) == {"a.zip", "dest", "dest/case1", "dest/case1/scan.nrrd", "dest/case1/dicom"} | {
        "dest/case1/dicom/1.dcm",
        "dest/top.txt",
    }


def test_small_highly_compressible_files_are_not_mistaken_for_bombs(box: tuple[Path, Path]) -> None:
    work, dest = box
    zpath = _zip(work / "a.zip", [("mask.raw", bytes(200_000))])
    assert [p.name for p in safe_extract_zip(zpath, dest, **LIMITS)] == ["mask.raw"]
