"""``slicer-cloud dicom import|ls|push``: the DICOM index and DICOMweb servers from the command line.

- ``import PATH...`` copies DICOM files, folders or zips into ``DATA/dicom/`` and indexes them (a path already in the
  data root is only indexed);
- ``ls`` lists studies (``--study UID``: its series, with whether each loads as a volume and why not), from the data
  root or ``--source NAME``; ``--skipped`` lists the files that were not indexed, with the reason;
- ``push PATH... --destination NAME`` stores DICOM files (or ``--study UID`` from the index) on a DICOMweb server
  with STOW-RS, optionally ``--deidentify``-ed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

IMPORT_DIR = "dicom"


def add_command(commands, add_setting_flags) -> None:
    """Extension contract: add ``dicom`` with its three actions."""
    parser = commands.add_parser(
        "dicom",
        help="index, list and push DICOM (data root and DICOMweb servers)",
        description="Work with the DICOM of a data root and with DICOMweb servers (--dicomweb NAME=URL).",
    )
    actions = parser.add_subparsers(dest="dicom_action", metavar="ACTION", required=True)
    imp = actions.add_parser("import", help="copy DICOM files/folders/zips into DATA/dicom/ and index them")
    imp.add_argument("dicom_paths", nargs="+", metavar="PATH", help="DICOM files, folders or zip archives")
    ls = actions.add_parser("ls", help="list studies, or the series of one study")
    ls.add_argument("--source", dest="dicom_source", default="local", help="local (default) or a DICOMweb server")
    ls.add_argument("--study", dest="dicom_study", default="", help="list the series of this Study Instance UID")
    ls.add_argument("--patient-name", dest="dicom_patient_name", default="", help="patient name (* wildcards)")
    ls.add_argument("--patient-id", dest="dicom_patient_id", default="")
    ls.add_argument("--modality", dest="dicom_modality", default="")
    ls.add_argument("--study-date", dest="dicom_study_date", default="", help="YYYYMMDD or YYYYMMDD-YYYYMMDD")
    ls.add_argument("--accession", dest="dicom_accession", default="")
    ls.add_argument("--skipped", dest="dicom_skipped", action="store_true", help="list files not indexed, and why")
    ls.add_argument("--json", dest="dicom_json", action="store_true", help="print JSON")
    push = actions.add_parser("push", help="store DICOM files on a DICOMweb server (STOW-RS)")
    push.add_argument("dicom_paths", nargs="*", metavar="PATH", help="DICOM files or folders to store")
    push.add_argument("--study", dest="dicom_study", default="", help="store this indexed study of the data root")
    push.add_argument("--destination", dest="dicom_destination", default="", help="the DICOMweb server's NAME")
    push.add_argument("--deidentify", dest="dicom_deidentify", action="store_true",
                      help="de-identify (PS3.15 basic profile; UID map kept in DATA/.slicer-cloud)")  # fmt: skip
    for sub in (imp, ls, push):
        add_setting_flags(sub, "dicom", shared={"data", "log_level"})
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings) -> int:
    """Run one action; errors are printed as one line and give exit status 1."""
    from ..errors import SlicerCloudError

    try:
        return {"import": _import, "ls": _ls, "push": _push}[args.dicom_action](args, settings)
    except SlicerCloudError as exc:
        print(f"slicer-cloud dicom: {exc.message}", file=sys.stderr)
        return 1


class _Offline:
    """What the DICOM service needs of a session, without a scene (the CLI never loads pixels into one)."""

    def __init__(self, settings) -> None:
        from ..core.paths import DataRoot

        self.settings = settings
        self.data_root = DataRoot(settings.data)
        self.state_dir = self.data_root.root / ".slicer-cloud"


def _service(settings):
    from .service import DicomService

    return DicomService(_Offline(settings))  # type: ignore[arg-type]


def _import(args, settings) -> int:
    from ..errors import NotFound

    service = _service(settings)
    root = service.session.data_root.root
    target = root / IMPORT_DIR
    for raw in args.dicom_paths:
        path = Path(raw).expanduser().resolve()
        if not path.exists():
            raise NotFound(f"{raw} does not exist")
        if path.is_relative_to(root):
            continue
        dest = target / path.name
        if dest.exists():
            raise NotFound(f"{IMPORT_DIR}/{path.name} already exists in the data root; rename or remove it first")
        target.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.copytree(path, dest, symlinks=False)
        else:
            shutil.copy2(path, dest)
    report = service.index.scan()
    skipped = service.index.skipped()
    print(f"indexed: {report.added} new instances, {report.removed} removed, {len(skipped)} files skipped")
    for row in skipped[:20]:
        print(f"  skipped {row['path']}{'!' + row['member'] if row['member'] else ''}: {row['reason']}")
    return 0


def _ls(args, settings) -> int:
    service = _service(settings)
    out: Any
    if args.dicom_skipped:
        service.index.refresh()
        out = service.index.skipped()
        lines = [f"{r['path']}{'!' + r['member'] if r['member'] else ''}: {r['reason']}" for r in out]
    elif args.dicom_study:
        out = service.series(args.dicom_source, args.dicom_study, args.dicom_modality)
        lines = [_series_line(r) for r in out]
    else:
        out = service.studies(
            args.dicom_source,
            patient_name=args.dicom_patient_name,
            patient_id=args.dicom_patient_id,
            study_date=args.dicom_study_date,
            modality=args.dicom_modality,
            accession=args.dicom_accession,
        )
        lines = [
            f"{r['study_uid']}  {r['study_date'] or '-':8}  {r['modalities'] or '-':8}  {r['patient_id']:12}  "
            f"{r['patient_name']}  ({r['series'] or '?'} series)  {r['study_description']}"
            for r in out
        ]
    if args.dicom_json:
        print(json.dumps(out, indent=2))
    else:
        print("\n".join(lines) if lines else "(nothing)")
    return 0


def _series_line(row: dict[str, Any]) -> str:
    line = f"{row['series_uid']}  {row['modality'] or '-':4}  #{row['series_number'] or '-':<4} "
    line += f"{row['instances'] or '?':>5} inst.  {row['series_description']}"
    for part in row.get("loadables", []):
        state = "volume " + "x".join(map(str, part["dimensions"])) if part["loadable"] else "not a volume"
        line += f"\n    {part['name']}: {state}" + (f" ({part['reason']})" if part["reason"] else "")
        for warning in part["warnings"]:
            line += f"\n      warning: {warning}"
    return line


def _push(args, settings) -> int:
    import pydicom

    from ..errors import BadRequest, InvalidData
    from .export import prepare

    service = _service(settings)
    destination = service.destination(args.dicom_destination)
    datasets = []
    if args.dicom_study:
        service.index.refresh()
        rows = {r["sop_instance_uid"]: r for r in service.index.instances(study_uid=args.dicom_study)}
        datasets = [pydicom.dcmread(_bytes_io(service.index.read_bytes(r))) for r in rows.values()]
    for raw in args.dicom_paths:
        path = Path(raw).expanduser()
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            try:
                datasets.append(pydicom.dcmread(file))
            except (pydicom.errors.InvalidDicomError, OSError, ValueError, EOFError) as exc:
                raise InvalidData(f"{file.name} is not a readable DICOM file ({type(exc).__name__})") from None
    if not datasets:
        raise BadRequest("nothing to push: give DICOM files or folders, or --study UID")
    datasets = prepare(service, datasets, args.dicom_deidentify)
    stored = failed = 0
    for start in range(0, len(datasets), 50):
        answer = destination.store(datasets[start : start + 50])
        stored += len(answer["stored"])
        failed += len(answer["failed"])
    print(f"stored {stored} instances on {destination.name}" + (f", {failed} refused" if failed else ""))
    return 0 if not failed else 1


def _bytes_io(data: bytes):
    import io

    return io.BytesIO(data)
