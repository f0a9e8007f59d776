"""Rendering and frame streaming of the viewer's views (performance levers live here).

trame-slicer renders every view on the server (VTK, offscreen, here Mesa llvmpipe on the CPU) and streams JPEG
frames through trame-rca. Out of the box, on a 2-core machine without GPU, that gives ~6 fps slice scrolling and
~0.6 fps 3D rotation (see bench/README.md). What this module changes, all measured with ``bench/``:

* **No MSAA.** trame-slicer asks for 8x multisampling on every render window. On llvmpipe that costs ~50 ms per
  slice-view render (678x814) and tens of MB of framebuffers per view; without it a slice render takes ~3 ms.
* **CPU ray casting for volume rendering.** ``vtkFixedPointVolumeRayCastMapper`` renders the MR-Default preset of the
  sample at full quality in ~0.1-0.2 s where the GPU ray caster, emulated by llvmpipe, takes 1.5-3 s.
* **Adaptive 3D quality.** While the 3D view is re-rendered in quick succession (camera moving), volumes are ray cast
  at a coarser image sample distance (1 / ``interactive_scale``) and sample distance, and frames are JPEG-encoded at
  ``interactive_quality``. Once requests stop for a short still delay (0.15 s; 0.35 s while a mouse button is held
  in the view, i.e. a drag paused rather than ended), one full-quality frame is rendered.
* **One scheduler for all views** (:class:`RenderCoordinator`): slice views render first; the 3D view renders its
  (coarse) interactive frames only when no slice view is waiting, and its slow full-quality frame only once slice
  views have been idle for a moment, so a slow 3D render does not delay slice frames.
* **No duplicate work.** A still (high quality) frame of a slice view re-encodes the last rendered image instead of
  rendering again; frames identical to the last one sent are neither encoded nor sent (the other slice views get
  render requests on every slice change but often do not change).

trame-slicer's ``MedicalViewerLogic`` has already built the default layout's views when :func:`install_rendering` runs:
their schedulers are replaced in place, and our view factories are put first for views created later.

Everything runs on the event-loop thread (VTK and MRML are not thread safe), except JPEG encoding (libjpeg-turbo via
PyTurboJPEG, in trame-rca's thread pool).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from time import monotonic
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trame_server import Server
    from trame_slicer.app.logic import MedicalViewerLogic

    from ..settings import Settings

logger = logging.getLogger(__name__)

CPU_VR_METHOD = "vtkMRMLCPURayCastVolumeRenderingDisplayNode"


@dataclass(frozen=True)
class RenderPolicy:
    """Tunables of :class:`RenderCoordinator` and the view schedulers (pure data, unit tested)."""

    target_fps: float = 30.0
    interactive_quality: int = 50
    still_quality: int = 90
    interactive_scale: float = 0.5  # 3D: image sample distance = 1 / scale while the camera moves
    interactive_sample_factor: float = 2.0  # 3D: ray sample distance multiplier while the camera moves
    still_delay_s: float = 0.15  # quiet time before the high-quality frame
    still_delay_pressed_s: float = 0.35  # same while a mouse button is held in the view (drag paused, not ended)
    slice_hot_s: float = 0.25  # a slice view requested a render this recently: the 3D view keeps its still render
    max_yield_s: float = 0.25  # longest time an interactive 3D frame waits for pending slice renders

    @classmethod
    def from_settings(cls, settings: Any) -> RenderPolicy:
        return cls(
            target_fps=max(1.0, float(settings.target_fps)),
            interactive_quality=clamp_quality(settings.interactive_quality),
            still_quality=clamp_quality(settings.jpeg_quality),
            interactive_scale=min(1.0, max(0.05, float(settings.interactive_scale))),
        )

    @property
    def interactive_image_sample_distance(self) -> float:
        return 1.0 / self.interactive_scale

    def period_s(self, fps: float | None) -> float:
        return 1.0 / max(1.0, fps or self.target_fps)


def clamp_quality(q: Any) -> int:
    return max(1, min(100, int(q)))


def proxied_fps(source_fps: float | None, source_focus_fps: float | None, focus_fps: float) -> float:
    """Our target fps given the fps trame-slicer's UI set on the scheduler we replaced (focus or blur)."""
    if source_fps is None or source_focus_fps is None or source_fps >= source_focus_fps:
        return focus_fps
    return min(source_fps, focus_fps)


def still_due(last_request: float, now: float, delay_s: float) -> bool:
    """True when no render was requested during the last ``delay_s`` seconds."""
    return now - last_request >= delay_s


def same_frame(previous: Any, current: Any) -> bool:
    """Whether two captured frames (numpy arrays) are pixel-identical."""
    if previous is None or current is None:
        return False
    import numpy as np

    return previous.shape == current.shape and np.array_equal(previous, current)


class RenderCoordinator:
    """Shared by the schedulers of one session: gives slice views priority over the (slow) 3D view."""

    def __init__(self, policy: RenderPolicy) -> None:
        self.policy = policy
        self.slice_schedulers: list[Any] = []
        self.schedulers: list[Any] = []
        self.last_slice_request = -1e9

    def resend_all(self) -> None:
        """Send every view's current frame again (a browser joined: unchanged frames are otherwise not re-sent)."""
        for scheduler in self.schedulers:
            scheduler.resend()

    def slice_requested(self) -> None:
        self.last_slice_request = monotonic()

    def slices_pending(self, now: float | None = None) -> bool:
        """Whether a slice view has a render request it may serve now (not held back by its frame rate)."""
        now = monotonic() if now is None else now
        return any(s.has_pending_request and s.ready_at <= now for s in self.slice_schedulers)

    def slices_hot(self, now: float | None = None) -> bool:
        now = monotonic() if now is None else now
        return now - self.last_slice_request < self.policy.slice_hot_s


def _scheduler_base():
    from trame_rca.schedulers import RcaImageRenderScheduler

    return RcaImageRenderScheduler


class _SchedulerMixin:
    """Render loop shared by slice and 3D views (methods of an ``RcaImageRenderScheduler`` subclass)."""

    coordinator: RenderCoordinator
    policy: RenderPolicy

    def _setup(
        self,
        coordinator: RenderCoordinator,
        policy: RenderPolicy,
        fps_source: Any = None,
        fps_source_focus: float | None = None,
    ) -> None:
        self._fps_source = fps_source  # trame-slicer's scheduler whose target_fps its UI sets on hover / blur
        self._fps_source_focus = fps_source_focus
        self.coordinator = coordinator
        self.policy = policy
        self._still_quality = policy.still_quality
        self._interactive_quality = policy.interactive_quality
        self._last_request = -1e9
        self._last_sent = None  # last frame pushed (numpy array) and its quality
        self._last_sent_quality = 0
        self._last_image = None  # last rendered frame (np image, cols, rows)
        coordinator.schedulers.append(self)
        self.ready_at = 0.0  # monotonic time before which the view will not start another frame (frame rate cap)

    @property
    def target_fps(self) -> float:
        return self._current_fps()

    @target_fps.setter
    def target_fps(self, value: float) -> None:
        self._target_fps = value

    def _current_fps(self) -> float:
        source = getattr(self, "_fps_source", None)
        if source is None:
            return self._target_fps
        # trame-slicer's UI toggles the old scheduler between its factory's focus fps and blur fps.
        return proxied_fps(source.target_fps, self._fps_source_focus, self._target_fps)

    @property
    def has_pending_request(self) -> bool:
        return self._request_event.is_set()

    def schedule_render(self) -> None:
        self._last_request = monotonic()
        self._request_event.set()

    def resend(self) -> None:
        """Render and push the current frame even if it equals the last one sent."""
        self._last_sent = None
        self._last_sent_quality = 0
        self.schedule_render()

    async def _render(self) -> None:  # replaces RcaImageRenderScheduler._render
        while not self._is_closing:
            await self._request_event.wait()
            if self._is_closing:
                break
            try:
                await self._render_cycle()
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed frame must not stop the view's render loop
                logger.exception("render failed")
                await asyncio.sleep(0.1)

    async def _render_cycle(self) -> None:
        raise NotImplementedError

    def _still_delay(self) -> float:
        return self.policy.still_delay_pressed_s if getattr(self, "_buttons_down", 0) else self.policy.still_delay_s

    async def _wait_quiet(self, started: float) -> bool:
        """Wait until the next frame may start; True if no render was requested for the still delay."""
        self.ready_at = started + self.policy.period_s(self._current_fps())
        await asyncio.sleep(max(0.0, self.ready_at - monotonic()))
        while not self._is_closing:
            if self._request_event.is_set():
                return False
            now = monotonic()
            delay = self._still_delay()
            if still_due(self._last_request, now, delay):
                return True
            # wake up as soon as a new render is requested (or when the still frame may be due)
            timeout = min(0.05, max(0.005, self._last_request + delay - now))
            try:
                await asyncio.wait_for(self._request_event.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        return False

    def _capture(self, mode: str = ""):
        t0 = monotonic()
        np_img, cols, rows = self._rca.img_cols_rows
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "render %s %s %dx%d %.1f ms fps=%s",
                type(self).__name__,
                mode,
                cols,
                rows,
                1000 * (monotonic() - t0),
                self._current_fps(),
            )
        self._last_image = (np_img, cols, rows)
        return np_img, cols, rows

    def _send(self, np_img, cols, rows, quality: int) -> None:
        """Encode (thread pool) and push, unless the same pixels were already sent at this quality or better."""
        if same_frame(self._last_sent, np_img) and quality <= self._last_sent_quality:
            return
        self._last_sent = np_img
        self._last_sent_quality = quality
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._encode_pool, self._rca_encoder.encode, np_img, cols, rows, quality)
        self._push_queue.put_nowait(future)


def make_slice_scheduler_class():
    base = _scheduler_base()

    class SliceRenderScheduler(_SchedulerMixin, base):
        """Slice views: render at once (at most ``target_fps``); the still frame re-encodes the last image."""

        def __init__(
            self,
            window,
            *,
            coordinator: RenderCoordinator,
            policy: RenderPolicy,
            fps_source=None,
            fps_source_focus=None,
            **kwargs,
        ):
            super().__init__(window, **kwargs)
            self._setup(coordinator, policy, fps_source, fps_source_focus)
            coordinator.slice_schedulers.append(self)

        def schedule_render(self) -> None:
            self.coordinator.slice_requested()
            super().schedule_render()

        async def _render_cycle(self) -> None:
            self._request_event.clear()
            started = monotonic()
            np_img, cols, rows = self._capture()
            self._send(np_img, cols, rows, self._interactive_quality)
            if await self._wait_quiet(started) and self._last_image is not None:
                self._send(*self._last_image, self._still_quality)

    return SliceRenderScheduler


def make_threed_scheduler_class():
    base = _scheduler_base()

    class ThreeDRenderScheduler(_SchedulerMixin, base):
        """3D view: coarse volume rendering while requests keep coming, one full-quality frame once they stop."""

        def __init__(
            self,
            window,
            *,
            coordinator: RenderCoordinator,
            policy: RenderPolicy,
            renderer=None,
            fps_source=None,
            fps_source_focus=None,
            **kwargs,
        ):
            super().__init__(window, **kwargs)
            self._setup(coordinator, policy, fps_source, fps_source_focus)
            self._renderer = renderer
            self._saved: dict[int, tuple[Any, float, float, int]] = {}
            self._buttons_down = 0
            self._observed = None

        def watch_buttons(self, interactor) -> None:
            """Count mouse buttons held in the view: a held button means the camera drag is not over."""
            from vtkmodules.vtkCommonCore import vtkCommand

            def pressed(*_):
                self._buttons_down += 1

            def released(*_):
                self._buttons_down = max(0, self._buttons_down - 1)

            for press, release in (
                (vtkCommand.LeftButtonPressEvent, vtkCommand.LeftButtonReleaseEvent),
                (vtkCommand.MiddleButtonPressEvent, vtkCommand.MiddleButtonReleaseEvent),
                (vtkCommand.RightButtonPressEvent, vtkCommand.RightButtonReleaseEvent),
            ):
                interactor.AddObserver(press, pressed, 1.0)
                interactor.AddObserver(release, released, 1.0)
            self._observed = interactor

        # -- volume mapper quality --------------------------------------------------------------------------
        def _mappers(self):
            if self._renderer is None:
                return []
            volumes = self._renderer.GetVolumes()
            volumes.InitTraversal()
            out = []
            for _ in range(volumes.GetNumberOfItems()):
                volume = volumes.GetNextVolume()
                mapper = volume.GetMapper() if volume is not None else None
                if mapper is not None and hasattr(mapper, "SetImageSampleDistance"):
                    out.append(mapper)
            return out

        def _set_interactive(self, interactive: bool) -> None:
            if interactive:
                for mapper in self._mappers():
                    key = id(mapper)
                    if key not in self._saved:
                        self._saved[key] = (
                            mapper,
                            mapper.GetImageSampleDistance(),
                            mapper.GetSampleDistance(),
                            mapper.GetAutoAdjustSampleDistances(),
                        )
                    _, isd, sd, _auto = self._saved[key]
                    mapper.SetAutoAdjustSampleDistances(0)
                    mapper.SetImageSampleDistance(max(isd, self.policy.interactive_image_sample_distance))
                    mapper.SetSampleDistance(sd * self.policy.interactive_sample_factor)
                    if hasattr(mapper, "SetInteractiveSampleDistance"):
                        mapper.SetInteractiveSampleDistance(sd * self.policy.interactive_sample_factor)
            else:
                for mapper, isd, sd, auto in self._saved.values():
                    mapper.SetImageSampleDistance(isd)
                    mapper.SetSampleDistance(sd)
                    if hasattr(mapper, "SetInteractiveSampleDistance"):
                        mapper.SetInteractiveSampleDistance(sd)
                    mapper.SetAutoAdjustSampleDistances(auto)
                self._saved.clear()

        # -- loop ---------------------------------------------------------------------------------------------
        async def _yield_to_slices(self) -> None:
            deadline = monotonic() + self.policy.max_yield_s
            while self.coordinator.slices_pending() and monotonic() < deadline:
                await asyncio.sleep(0.002)

        async def _render_cycle(self) -> None:
            await self._yield_to_slices()
            self._request_event.clear()
            started = monotonic()
            # The first frame after a quiet period is rendered at full quality only if nothing else is going on.
            self._set_interactive(True)
            try:
                np_img, cols, rows = self._capture("coarse")
            finally:
                self._set_interactive(False)
            self._send(np_img, cols, rows, self._interactive_quality)
            if not await self._wait_quiet(started):
                return
            # Still frame: wait until slice views are idle, since this render is the slow one.
            while self.coordinator.slices_hot() and not self._is_closing:
                await asyncio.sleep(0.05)
                if self._request_event.is_set():
                    return
            np_img, cols, rows = self._capture("still")
            self._last_sent = None  # the still frame differs from the coarse one even if the camera did not move
            self._send(np_img, cols, rows, self._still_quality)

    return ThreeDRenderScheduler


# -- view factories -----------------------------------------------------------------------------------------------


def _make_factory_class(base_factory, scheduler_cls, *, threed: bool):
    """A trame-slicer RCA view factory whose views use our scheduler and render windows without MSAA."""
    from trame_rca.utils import RcaViewAdapter
    from trame_server.utils.asynchronous import create_task
    from trame_slicer.rca_view.rca_view_factory import RcaRenderStrategy, RcaView, RcaWindow
    from trame_slicer.views import CursorId, ViewLayout

    class FastViewFactory(base_factory):
        def __init__(self, server, *, coordinator: RenderCoordinator, policy: RenderPolicy, **kwargs):
            super().__init__(server, **kwargs)
            self._coordinator = coordinator
            self._policy = policy

        # Same as RemoteViewFactory._create_view of trame-slicer 2.0, with our scheduler and window settings.
        def _create_view(self, view, scene, app_logic):
            from trame_slicer.app.logic import get_view_trame_id

            view_id = view.singleton_tag
            slicer_view = self._view_ctor(scene=scene, app_logic=app_logic, name=view_id)
            slicer_view.set_view_properties(view.properties)
            tune_render_window(slicer_view)

            active_view_cursor = f"{view_id}_active_view_cursor"
            self._server.state.setdefault(active_view_cursor, CursorId.DEFAULT.value)
            rca_window = RcaWindow(
                slicer_view.render_window(), state=self._server.state, active_view_cursor=active_view_cursor
            )
            kwargs = dict(
                window=rca_window,
                coordinator=self._coordinator,
                policy=self._policy,
                interactive_quality=self._policy.interactive_quality,
                still_quality=self._policy.still_quality,
                rca_encoder=self._rca_encoder,
                target_fps=self._target_fps,
            )
            if threed:
                kwargs["renderer"] = slicer_view.renderer()
            rca_scheduler = scheduler_cls(**kwargs)
            if threed:
                rca_scheduler.watch_buttons(slicer_view.interactor())

            trame_view_id = get_view_trame_id(self._server, slicer_view)
            with ViewLayout(self._server, template_name=trame_view_id) as vuetify_view:
                self._create_vuetify_ui(
                    trame_view_id, slicer_view, rca_scheduler, active_view_cursor=active_view_cursor
                )
            adapter = RcaViewAdapter(
                window=rca_window, name=trame_view_id, scheduler=rca_scheduler, do_schedule_render_on_interaction=False
            )
            slicer_view.set_scheduled_render(RcaRenderStrategy(rca_scheduler))

            async def init_rca():
                await self._server.ready
                self._server.root_server.controller.rc_area_register(adapter)

            create_task(init_rca())
            return RcaView(vuetify_view, slicer_view, adapter)

    FastViewFactory.__name__ = f"Fast{base_factory.__name__}"
    return FastViewFactory


def tune_render_window(slicer_view) -> None:
    """Per-view render settings: no MSAA (software rendering: ~15x faster slice renders, less memory)."""
    slicer_view.render_window().SetMultiSamples(0)


def _upgrade_existing_views(factory, scheduler_cls, coordinator: RenderCoordinator, policy: RenderPolicy, *, threed):
    """Give views that trame-slicer already created (the default layout's) our scheduler and window settings."""
    from trame_slicer.rca_view.rca_view_factory import RcaRenderStrategy

    for rca_view in list(factory._views.values()):  # noqa: SLF001 - RcaView records of the factory
        adapter = rca_view.view_adapter
        old = adapter._scheduler  # noqa: SLF001
        tune_render_window(rca_view.slicer_view)
        kwargs = dict(
            coordinator=coordinator,
            policy=policy,
            fps_source=old,
            fps_source_focus=factory._target_fps,  # noqa: SLF001
            interactive_quality=policy.interactive_quality,
            still_quality=policy.still_quality,
            rca_encoder=old._rca_encoder,  # noqa: SLF001
            target_fps=policy.target_fps,
        )
        if threed:
            kwargs["renderer"] = rca_view.slicer_view.renderer()
        new = scheduler_cls(adapter._rca, **kwargs)  # noqa: SLF001
        if threed:
            new.watch_buttons(rca_view.slicer_view.interactor())
        new.set_push_callback(adapter.push)
        # RcaViewAdapter has no setter for its scheduler; it only calls schedule_render/update_quality/close on it.
        adapter._scheduler = new  # noqa: SLF001
        rca_view.slicer_view.set_scheduled_render(RcaRenderStrategy(new))
        # The old scheduler's loops have not run yet (the event loop starts later): stop them.
        old._is_closing = True  # noqa: SLF001
        for task in (old._render_task, old._push_task):  # noqa: SLF001
            task.cancel()


def install_rendering(logic: MedicalViewerLogic, server: Server, settings: Settings) -> None:
    """Configure how views render and stream frames; called once, right after the viewer logic is built."""
    from trame_slicer.rca_view.rca_view_factory import (
        RemoteSliceViewFactory,
        RemoteThreeDViewFactory,
        RemoteViewFactory,
    )

    slicer_app = logic._slicer_app  # noqa: SLF001 - the viewer logic's SlicerApp (no public accessor)
    policy = RenderPolicy.from_settings(settings)
    coordinator = RenderCoordinator(policy)

    # Volume rendering: CPU ray casting for volumes shown from now on (the sample is loaded after this call).
    vr_logic = slicer_app.volume_rendering._logic  # noqa: SLF001 - the vtkSlicerVolumeRenderingLogic
    vr_logic.SetDefaultRenderingMethod(CPU_VR_METHOD)  # used by CreateDefaultVolumeRenderingNodes
    vr_logic.ChangeVolumeRenderingMethod(CPU_VR_METHOD)  # converts display nodes that already exist

    def convert_imported_vr_nodes(*_):
        # Scenes saved elsewhere (MRB, MRML, autosaves from before this change) bring GPU ray cast display nodes.
        scene = slicer_app.scene
        if scene.GetFirstNodeByClass("vtkMRMLGPURayCastVolumeRenderingDisplayNode") is not None:
            vr_logic.ChangeVolumeRenderingMethod(CPU_VR_METHOD)

    from slicer import vtkMRMLScene

    slicer_app.scene.AddObserver(vtkMRMLScene.EndImportEvent, convert_imported_vr_nodes)

    # A browser that joins reports its view sizes; it needs the current frames even when nothing changed.
    server.controller.slicer_cloud_resend_frames = coordinator.resend_all

    view_manager = slicer_app.view_manager
    factories = view_manager._factories  # noqa: SLF001
    old = {type(f): f for f in factories if isinstance(f, RemoteViewFactory)}
    for index, (base, sched, threed) in enumerate(
        (
            (RemoteSliceViewFactory, make_slice_scheduler_class(), False),
            (RemoteThreeDViewFactory, make_threed_scheduler_class(), True),
        )
    ):
        previous = old.get(base)
        if previous is not None:
            # MedicalViewerLogic already built the default layout's views with trame-slicer's factories.
            _upgrade_existing_views(previous, sched, coordinator, policy, threed=threed)
        cls = _make_factory_class(base, sched, threed=threed)
        factory = cls(
            server,
            coordinator=coordinator,
            policy=policy,
            rca_encoder=getattr(previous, "_rca_encoder", None),
            target_fps=policy.target_fps,
            blur_fps=getattr(previous, "_blur_fps", 10.0),
            interactive_quality=policy.interactive_quality,
            populate_view_ui_f=getattr(previous, "_populate_view_ui_f", None),
            rca_event_throttle_s=getattr(previous, "_rca_event_throttle_s", None),
        )
        # ViewManager uses the first registered factory able to create a view and has no API to reorder them:
        # put ours first so that views created later (other layouts) use it; the old ones keep the views they own.
        factories.insert(index, factory)
