"""Test data made by code: small real volumes, a CT-like DICOM series, models, and hostile files."""

from __future__ import annotations

import gzip
import io
import stat
import zipfile
from pathlib import Path

import nibabel as nib
import nrrd
import numpy as np


def ball_volume(shape=(40, 48, 32), radius=12.0, dtype=np.int16) -> np.ndarray:
    z, y, x = np.indices(shape)
    center = np.array(shape) / 2
    dist = np.sqrt(((np.stack([z, y, x], -1) - center) ** 2).sum(-1))
    return np.where(dist < radius, 1000, 0).astype(dtype) + np.random.default_rng(0).integers(0, 50, shape).astype(
        dtype
    )


def write_nrrd(path: Path, data: np.ndarray | None = None) -> Path:
    nrrd.write(str(path), ball_volume() if data is None else data, {"space": "left-posterior-superior"})
    return path


def write_nifti(path: Path) -> Path:
    nib.save(nib.Nifti1Image(ball_volume().astype(np.float32), np.diag([1.5, 1.5, 2.0, 1.0])), str(path))
    return path


def write_labelmap_seg(path: Path) -> Path:
    """A labelmap with two labels saved as .seg.nrrd (Slicer reads it as a two-segment segmentation)."""
    labels = np.zeros((40, 48, 32), np.uint8)
    labels[10:20, 10:20, 10:20] = 1
    labels[22:30, 25:35, 5:15] = 2
    nrrd.write(str(path), labels, {"space": "left-posterior-superior"})
    return path


def write_stl(path: Path) -> Path:
    from vtkmodules.vtkFiltersSources import vtkSphereSource
    from vtkmodules.vtkIOGeometry import vtkSTLWriter

    sphere = vtkSphereSource()
    sphere.SetRadius(20)
    sphere.SetThetaResolution(24)
    sphere.SetPhiResolution(24)
    writer = vtkSTLWriter()
    writer.SetInputConnection(sphere.GetOutputPort())
    writer.SetFileName(str(path))
    writer.Write()
    return path


def write_ct_dicom_series(folder: Path, slices: int = 12, size: int = 64) -> list[Path]:
    """A CT-like axial series (HU values, 2.5 mm slices) written with pydicom."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    hu = ball_volume((slices, size, size), radius=size / 3).astype(np.int16) - 1000
    paths = []
    for i in range(slices):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.Modality, ds.PatientName, ds.PatientID = "CT", "Phantom^Test", "TEST0001"
        ds.SeriesNumber, ds.InstanceNumber = 1, i + 1
        ds.ImagePositionPatient = [0.0, 0.0, i * 2.5]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing, ds.SliceThickness = [0.8, 0.8], 2.5
        ds.Rows = ds.Columns = size
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope = 0, 1
        ds.PixelData = hu[i].tobytes()
        path = folder / f"ct{i:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def zip_folder(folder: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(folder).as_posix())
    return dest


# -- hostile -------------------------------------------------------------------------------------------------


def nrrd_header_bomb() -> bytes:
    """~100 bytes declaring 100000 x 100000 x 100 int16 voxels (2 TB)."""
    return b"NRRD0004\ntype: short\ndimension: 3\nsizes: 100000 100000 100\nencoding: raw\n\n"


def nifti_header_bomb() -> bytes:
    header = nib.Nifti1Header()
    header.set_data_shape((32000, 32000, 60))
    header.set_data_dtype(np.int16)
    buf = io.BytesIO()
    header.write_to(buf)
    return buf.getvalue() + b"\0" * 4


def nifti_gz_header_bomb() -> bytes:
    return gzip.compress(nifti_header_bomb())


def mha_header_bomb() -> bytes:
    return (
        b"ObjectType = Image\nNDims = 3\nDimSize = 50000 50000 50000\nElementType = MET_SHORT\n"
        b"ElementDataFile = LOCAL\n"
    )


def zip_slip(member: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("scene.mrml", "<MRML></MRML>")
        zf.writestr(member, b"pwned")
    return buf.getvalue()


def zip_with_symlink(target: str = "/etc/passwd") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("scene.mrml", "<MRML></MRML>")
        info = zipfile.ZipInfo("link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, target)
    return buf.getvalue()


def zip_bomb(megabytes: int = 600) -> bytes:
    """A zip whose single member inflates to ``megabytes`` of zeros (compressed ~1000x)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("scene/data.raw", "w", force_zip64=True) as out:
        block = b"\0" * (1 << 20)
        for _ in range(megabytes):
            out.write(block)
    return buf.getvalue()


def mrml_referencing(path: str) -> bytes:
    return (
        f'<MRML version="Slicer4.4.0"><VolumeArchetypeStorage id="vtkMRMLVolumeArchetypeStorageNode1" '
        f'name="s" fileName="{path}"/></MRML>'
    ).encode()
