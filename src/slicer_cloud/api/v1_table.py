"""The ``/api/v1`` route table: every route, once, with its parameters, body and answers.

The router is filled from :data:`ROUTES` and the OpenAPI document is generated from it (``v1_spec``).
"""

from __future__ import annotations

from typing import Any

from .v1_spec import BINARY, JSON, Body, Param, Reply, Route, binary_schema, path_id, ref

PREFIX = "/api/v1"

_STR = {"type": "string"}
_NUM = {"type": "number"}
_VEC3 = {"type": "array", "items": _NUM, "minItems": 3, "maxItems": 3}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "properties": {"error": _STR, "message": _STR},
        "required": ["error", "message"],
    },
    "Node": {
        "type": "object",
        "properties": {"id": _STR, "name": _STR, "class": _STR, "kind": {"type": ["string", "null"]}},
        "required": ["id", "name", "class"],
    },
    "NodeList": {"type": "object", "properties": {"nodes": {"type": "array", "items": ref("Node")}}},
    "Removed": {"type": "object", "properties": {"removed": {"type": "array", "items": _STR}}},
    "Volume": {
        "type": "object",
        "properties": {
            "id": _STR,
            "name": _STR,
            "class": _STR,
            "dimensions": {"type": "array", "items": {"type": "integer"}},
            "scalarType": _STR,
            "ijkToRas": {"type": "array", "items": {"type": "array", "items": _NUM}},
        },
    },
    "Loaded": {
        "type": "object",
        "properties": {"id": _STR, "nodes": {"type": "array", "items": _STR}},
    },
    "Segment": {"type": "object", "properties": {"id": _STR, "name": _STR, "color": _VEC3}},
    "Segmentation": {
        "type": "object",
        "properties": {"id": _STR, "name": _STR, "segments": {"type": "array", "items": ref("Segment")}},
    },
    "ControlPoint": {"type": "object", "properties": {"label": _STR, "position": _VEC3}},
    "PointList": {
        "type": "object",
        "properties": {"id": _STR, "name": _STR, "points": {"type": "array", "items": ref("ControlPoint")}},
    },
    "NewPointList": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 128},
            "points": {"type": "array", "items": _VEC3, "maxItems": 10000},
        },
        "additionalProperties": False,
    },
    "NewPoint": {
        "type": "object",
        "properties": {"position": _VEC3, "label": {"type": "string", "maxLength": 128}},
        "required": ["position"],
        "additionalProperties": False,
    },
    "Layout": {"type": "object", "properties": {"layout": {"type": "string", "maxLength": 64}}, "required": ["layout"]},
    "Camera": {
        "type": "object",
        "properties": {"position": _VEC3, "focalPoint": _VEC3, "viewUp": _VEC3, "viewAngle": _NUM},
        "additionalProperties": False,
    },
    "Slice": {
        "type": "object",
        "properties": {"offset": _NUM, "orientation": {"enum": ["axial", "sagittal", "coronal"]}},
        "additionalProperties": False,
    },
    "WindowLevel": {
        "type": "object",
        "properties": {"window": _NUM, "level": _NUM, "auto": {"type": "boolean"}},
        "additionalProperties": False,
    },
    "PathRequest": {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "relative to the data root"},
            "node": {"type": "string", "description": "save this node only (format from the file name)"},
            "overwrite": {"type": "boolean"},
        },
        "required": ["path"],
    },
    "Opened": {
        "type": "object",
        "properties": {
            "kind": _STR,
            "nodes": {"type": "array", "items": _STR},
            "volumes": {"type": "array", "items": _STR},
        },
    },
    "Saved": {"type": "object", "properties": {"path": _STR}},
    "FileEntry": {
        "type": "object",
        "properties": {
            "name": _STR,
            "path": _STR,
            "kind": {"enum": ["dir", "file"]},
            "size": {"type": "integer"},
            "mtime": _NUM,
        },
    },
    "Listing": {
        "type": "object",
        "properties": {"path": _STR, "entries": {"type": "array", "items": ref("FileEntry")}},
    },
    "Uploaded": {"type": "object", "properties": {"path": _STR, "size": {"type": "integer"}}},
}

VIEW = Param("view", "red, yellow, green (slice views) or 3d", {"enum": ["red", "yellow", "green", "3d"]}, where="path")
SLICE_VIEW = Param("view", "red, yellow or green", {"enum": ["red", "yellow", "green"]}, where="path")
DATA_PATH = Param("path", "a path relative to the data root ('' is the root)", {"type": "string", "maxLength": 4096})
SIZE = {"type": "integer", "minimum": 16, "maximum": 4096}
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
NRRD_BODY = Body(
    "a volume file: NRRD (attached data, raw or gzip), NIfTI (.nii or .nii.gz) or a zip of a DICOM series",
    {BINARY: binary_schema()},
)


def _json(description: str, schema: str) -> Reply:
    return Reply(description, JSON, ref(schema))


def _routes() -> list[Route]:
    n, v, s, m, w, sc, f = "nodes", "volumes", "segmentations", "markups", "views", "scene", "files"
    return [
        Route("GET", "/openapi.json", "openapi", "This document", "meta", replies={200: Reply("OpenAPI 3.1", JSON)}),
        # nodes
        Route(
            "GET",
            "/nodes",
            "list_nodes",
            "List nodes (data nodes by default), filtered by class and name",
            n,
            params=(
                Param("class", "MRML class, by IsA (default: data nodes)", {"type": "string", "maxLength": 200}),
                Param("name", "exact node name", {"type": "string", "maxLength": 200}),
            ),
            replies={200: _json("the nodes", "NodeList")},
        ),
        Route("GET", "/nodes/{node_id}", "get_node", "One node", n, (path_id(),), replies={200: _json("node", "Node")}),
        Route(
            "DELETE",
            "/nodes/{node_id}",
            "delete_node",
            "Remove a data node from the scene",
            n,
            (path_id(),),
            replies={200: _json("removed IDs", "Removed")},
        ),
        Route(
            "GET",
            "/nodes/{node_id}/properties",
            "node_properties",
            "Properties of a node (parsed from its PrintSelf)",
            n,
            (path_id(),),
            replies={200: Reply("properties", JSON, {"type": "object"})},
        ),
        # volumes
        Route(
            "GET",
            "/volumes",
            "list_volumes",
            "List scalar and labelmap volumes",
            v,
            replies={
                200: Reply(
                    "volumes",
                    JSON,
                    {"type": "object", "properties": {"volumes": {"type": "array", "items": ref("Volume")}}},
                )
            },
        ),
        Route(
            "POST",
            "/volumes",
            "upload_volume",
            "Add a volume from NRRD, NIfTI or a DICOM zip (checked against the limits first)",
            v,
            params=(
                Param("name", "name of the new volume", {"type": "string", "maxLength": 128}),
                Param("format", "default: judged from the bytes", {"enum": ["nrrd", "nifti", "dicom-zip"]}),
                Param("show", "show it in the views (default true)", {"type": "boolean"}),
            ),
            body=NRRD_BODY,
            replies={201: _json("the new volume", "Loaded")},
            errors=(413, 415, 422),
        ),
        Route(
            "GET",
            "/volumes/{node_id}",
            "download_volume",
            "Download a scalar volume as NRRD (raw or gzip) or NIfTI (.nii.gz)",
            v,
            params=(
                path_id(),
                Param("format", "file format (default nrrd)", {"enum": ["nrrd", "nii.gz"]}),
                Param("encoding", "NRRD encoding (default raw)", {"enum": ["raw", "gzip"]}),
            ),
            replies={200: Reply("the file", BINARY, binary_schema())},
            errors=(415,),
        ),
        Route(
            "GET",
            "/volumes/{node_id}/display",
            "get_window_level",
            "Window/level of a volume",
            v,
            (path_id(),),
            replies={200: _json("window/level", "WindowLevel")},
        ),
        Route(
            "PUT",
            "/volumes/{node_id}/display",
            "set_window_level",
            "Set the window/level of a volume (or auto)",
            v,
            (path_id(),),
            body=Body("window and level, or auto", {JSON: ref("WindowLevel")}),
            replies={200: _json("window/level", "WindowLevel")},
        ),
        # segmentations
        Route(
            "GET",
            "/segmentations",
            "list_segmentations",
            "Segmentations and their segments",
            s,
            replies={
                200: Reply(
                    "segmentations",
                    JSON,
                    {
                        "type": "object",
                        "properties": {"segmentations": {"type": "array", "items": ref("Segmentation")}},
                    },
                )
            },
        ),
        Route(
            "GET",
            "/segmentations/{node_id}/segments",
            "list_segments",
            "Segments of a segmentation",
            s,
            (path_id(),),
            replies={200: _json("segments", "Segmentation")},
        ),
        Route(
            "GET",
            "/segmentations/{node_id}/export",
            "export_segmentation",
            "Export as a labelmap NRRD, a segment's closed surface as STL, or DICOM SEG (needs a DICOM volume opened "
            "from the DICOM browser or /api/v1/dicom)",
            s,
            params=(
                path_id(),
                Param("format", "default labelmap", {"enum": ["labelmap", "stl", "dicom-seg"]}),
                Param("segment", "segment ID (labelmap default: all; stl default: the first)", {"maxLength": 200}),
            ),
            replies={200: Reply("the file", BINARY, binary_schema())},
            errors=(422,),
        ),
        # markups
        Route(
            "GET",
            "/markups",
            "list_markups",
            "Point lists with their control points",
            m,
            replies={
                200: Reply(
                    "point lists",
                    JSON,
                    {"type": "object", "properties": {"markups": {"type": "array", "items": ref("PointList")}}},
                )
            },
        ),
        Route(
            "POST",
            "/markups",
            "create_point_list",
            "Create a point list",
            m,
            body=Body("name and initial points (RAS, mm)", {JSON: ref("NewPointList")}),
            replies={201: _json("the new point list", "PointList")},
        ),
        Route(
            "POST",
            "/markups/{node_id}/points",
            "add_point",
            "Add a control point to a point list",
            m,
            (path_id(),),
            body=Body("position (RAS, mm) and label", {JSON: ref("NewPoint")}),
            replies={201: _json("the point list", "PointList")},
        ),
        # views
        Route(
            "GET",
            "/views/{view}/image",
            "render_view",
            "Render a slice or 3D view of the scene to an image",
            w,
            params=(
                VIEW,
                Param("size", "N for an N x N image (default 512)", SIZE),
                Param("width", "width in pixels", SIZE),
                Param("height", "height in pixels", SIZE),
                Param("format", "image format (default png)", {"enum": ["png", "jpeg", "webp"]}),
                Param("orientation", "slice views", {"enum": ["axial", "sagittal", "coronal"]}),
                Param("offset", "slice views: slice offset in mm", _NUM),
                Param("lookFromAxis", "3d: camera axis", {"enum": ["r", "l", "a", "p", "s", "i"]}),
            ),
            replies={200: Reply("the image", IMAGE_TYPES, binary_schema())},
        ),
        Route("GET", "/views/layout", "get_layout", "The viewer layout", w, replies={200: _json("layout", "Layout")}),
        Route(
            "PUT",
            "/views/layout",
            "set_layout",
            "Set the viewer layout (a Slicer layout name, e.g. FourUp, OneUp3D)",
            w,
            body=Body("the layout", {JSON: ref("Layout")}),
            replies={200: _json("layout", "Layout")},
        ),
        Route("GET", "/views/3d/camera", "get_camera", "The 3D camera", w, replies={200: _json("camera", "Camera")}),
        Route(
            "PUT",
            "/views/3d/camera",
            "set_camera",
            "Move the 3D cameras (viewer and API views)",
            w,
            body=Body("camera fields to change", {JSON: ref("Camera")}),
            replies={200: _json("camera", "Camera")},
        ),
        Route(
            "GET",
            "/views/{view}/slice",
            "get_slice",
            "Slice offset and orientation of a slice view",
            w,
            (SLICE_VIEW,),
            replies={200: _json("slice", "Slice")},
        ),
        Route(
            "PUT",
            "/views/{view}/slice",
            "set_slice",
            "Set slice offset (mm) and/or orientation of a slice view (viewer and API views)",
            w,
            (SLICE_VIEW,),
            body=Body("offset and/or orientation", {JSON: ref("Slice")}),
            replies={200: _json("slice", "Slice")},
        ),
        # scene
        Route(
            "GET",
            "/scene/nodes",
            "scene_nodes",
            "Data nodes of the scene",
            sc,
            replies={200: _json("nodes", "NodeList")},
        ),
        Route(
            "POST",
            "/scene/open",
            "open_file",
            "Load a file or folder of the data root into the scene",
            sc,
            body=Body("the path", {JSON: ref("PathRequest")}),
            replies={200: _json("what was loaded", "Opened")},
            errors=(413, 415, 422),
        ),
        Route(
            "POST",
            "/scene/save",
            "save",
            "Save the scene (.mrb) or one node into the data root",
            sc,
            body=Body("destination (and node)", {JSON: ref("PathRequest")}),
            replies={201: _json("saved", "Saved")},
            errors=(409, 415, 422),
        ),
        Route(
            "DELETE", "/scene", "clear_scene", "Remove every data node", sc, replies={200: _json("removed", "Removed")}
        ),
        # files
        Route(
            "GET",
            "/files",
            "list_files",
            "List a folder of the data root",
            f,
            (DATA_PATH,),
            replies={200: _json("entries", "Listing")},
            errors=(404,),
        ),
        Route(
            "GET",
            "/files/download",
            "download_file",
            "Download a file of the data root",
            f,
            (DATA_PATH,),
            replies={200: Reply("the file", BINARY, binary_schema())},
            errors=(404,),
        ),
        *[
            Route(
                method,
                "/files/upload",
                f"upload_file_{method.lower()}",
                "Upload a file into the data root",
                f,
                (DATA_PATH, Param("overwrite", "replace an existing file", {"enum": ["0", "1", "true", "false"]})),
                body=Body("the file", {BINARY: binary_schema()}),
                replies={201: _json("stored", "Uploaded")},
                errors=(409, 413),
            )
            for method in ("PUT", "POST")
        ],
    ]


ROUTES: list[Route] = [
    Route(r.method, PREFIX + r.path, r.operation, r.summary, r.tag, r.params, r.body, r.replies, r.errors)
    for r in _routes()
]
