"""Extension points: where feature packages plug into the command line, ``/api/v1``, the viewer and the server.

A feature package (processing modules and jobs, DICOM, the survey, the hub) names its modules here once; the core
imports a module only when it exists, so the core never depends on a feature. Each contract is small:

- a *command* module has ``add_command(commands, add_setting_flags)``: it adds a sub-parser to ``commands`` and sets
  ``handler=run`` on it, with ``run(args, settings) -> int`` (the exit status);
- an *API* module has ``ROUTES`` (:class:`~slicer_cloud.api.v1_spec.Route` list, paths under ``/api/v1``), ``SCHEMAS``
  (OpenAPI component schemas), ``handlers(session, app) -> object`` whose methods are the routes' operations, and
  optionally ``add_routes(app, session)`` for routes outside ``/api/v1`` (e.g. ``/dicomweb``); every route sits behind
  the same auth and error middlewares;
- a *panel* module has ``add_panel(viewer)``, called with the :class:`~slicer_cloud.web.viewer.ViewerApp` after the
  core panels are built and before the page is flushed; ``viewer.add_tool(name, icon, ui_type)`` puts a panel in
  the drawer with its toolbar button.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

logger = logging.getLogger(__name__)

COMMANDS: tuple[str, ...] = (
    "slicer_cloud.jobs.cli",
    "slicer_cloud.dicom.cli",
    "slicer_cloud.survey.cli",
    "slicer_cloud.hub.cli",
)
API: tuple[str, ...] = (
    "slicer_cloud.jobs.api",
    "slicer_cloud.dicom.api",
)
PANELS: tuple[str, ...] = (
    "slicer_cloud.jobs.panel",
    "slicer_cloud.dicom.panel",
)


def _present(names: tuple[str, ...]) -> Iterator[ModuleType]:
    """The modules of ``names`` that exist. One that fails to import is logged and left out: a broken feature must
    not take the session, or the other commands, down with it."""
    for name in names:
        try:
            found = importlib.util.find_spec(name)
        except ModuleNotFoundError:  # the parent package is absent
            found = None
        if found is None:
            continue
        try:
            yield importlib.import_module(name)
        except Exception:
            logger.exception("feature module %s failed to import; its commands, routes and panels are left out", name)


def command_adders() -> list[Callable[..., Any]]:
    return [module.add_command for module in _present(COMMANDS)]


def api_modules() -> list[ModuleType]:
    return list(_present(API))


def panel_adders() -> list[Callable[[Any], None]]:
    return [module.add_panel for module in _present(PANELS)]
