"""A progress bar in the cell output (ipywidgets), or log lines outside a kernel."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class Progress:
    """``with Progress("Threshold") as p: p.update(0.5, "thresholding")`` - fraction 0..1 and a message.

    Update it from the thread that runs the cell (module processes report from reader threads: hand their values
    over, as :func:`slicer_cloud.jupyter.segment.run_module` does)."""

    def __init__(self, title: str, *, enabled: bool = True) -> None:
        self.title = title
        self.fraction = 0.0
        self.message = ""
        self._bar = None
        self._label = None
        if enabled and _in_kernel():
            import ipywidgets as widgets
            from IPython.display import display

            self._bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description=title[:20])
            self._label = widgets.Label("starting")
            self.widget = widgets.HBox([self._bar, self._label])
            display(self.widget)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            self.update(1.0, "done")
        elif self._bar is not None:
            self._bar.bar_style = "warning" if isinstance(exc, KeyboardInterrupt) else "danger"
            self._label.value = "cancelled" if isinstance(exc, KeyboardInterrupt) else f"failed: {exc}"[:200]
        else:
            logger.info("%s: %s", self.title, "cancelled" if isinstance(exc, KeyboardInterrupt) else f"failed: {exc}")

    def update(self, fraction: float, message: str = "") -> None:
        self.fraction = min(1.0, max(0.0, float(fraction)))
        self.message = message
        if self._bar is not None:
            self._bar.value = self.fraction
            self._label.value = message
            if self.fraction >= 1.0:
                self._bar.bar_style = "success"
        else:
            logger.info("%s: %3.0f%% %s", self.title, 100 * self.fraction, message)
