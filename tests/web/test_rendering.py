"""Unit tests of the render scheduling logic in slicer_cloud.web.rendering (no browser, no server)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import numpy as np
import pytest

from slicer_cloud.settings import Settings
from slicer_cloud.web import rendering
from slicer_cloud.web.rendering import (
    RenderCoordinator,
    RenderPolicy,
    clamp_quality,
    proxied_fps,
    same_frame,
    still_due,
)


def test_policy_from_settings_clamps_and_derives():
    s = Settings(target_fps=0.2, interactive_quality=500, jpeg_quality=-3, interactive_scale=0.25)
    p = RenderPolicy.from_settings(s)
    assert p.target_fps == 1.0
    assert p.interactive_quality == 100
    assert p.still_quality == 1
    assert p.interactive_image_sample_distance == pytest.approx(4.0)
    assert p.period_s(None) == pytest.approx(1.0)
    assert p.period_s(20) == pytest.approx(0.05)


def test_policy_defaults_follow_settings_defaults():
    p = RenderPolicy.from_settings(Settings())
    assert (p.target_fps, p.interactive_quality, p.still_quality) == (30.0, 50, 90)
    assert p.interactive_image_sample_distance == pytest.approx(2.0)


def test_clamp_quality():
    assert clamp_quality(0) == 1
    assert clamp_quality("75") == 75
    assert clamp_quality(101) == 100


def test_proxied_fps_follows_trame_slicer_focus_and_blur():
    # trame-slicer's UI sets its scheduler to the factory's focus fps (30) on hover, blur fps (10) otherwise
    assert proxied_fps(30, 30, 24) == 24
    assert proxied_fps(10, 30, 24) == 10
    assert proxied_fps(10, 30, 5) == 5
    assert proxied_fps(None, 30, 24) == 24


def test_still_due():
    assert not still_due(last_request=10.0, now=10.1, delay_s=0.15)
    assert still_due(last_request=10.0, now=10.15, delay_s=0.15)


def test_same_frame():
    a = np.zeros((4, 5, 3), np.uint8)
    b = a.copy()
    assert same_frame(a, b)
    b[1, 1, 1] = 1
    assert not same_frame(a, b)
    assert not same_frame(None, a)
    assert not same_frame(a, np.zeros((5, 4, 3), np.uint8))


def test_coordinator_pending_ignores_views_held_by_their_frame_rate():
    c = RenderCoordinator(RenderPolicy(slice_hot_s=0.25))
    ready = SimpleNamespace(has_pending_request=True, ready_at=0.0)
    held = SimpleNamespace(has_pending_request=True, ready_at=100.0)
    idle = SimpleNamespace(has_pending_request=False, ready_at=0.0)
    c.slice_schedulers = [held, idle]
    assert not c.slices_pending(now=50.0)
    c.slice_schedulers.append(ready)
    assert c.slices_pending(now=50.0)
    assert not c.slices_hot()
    c.slice_requested()
    assert c.slices_hot()


class FakeWindow:
    """An RCA window whose frames are numpy images set by the test."""

    def __init__(self):
        self.image = np.zeros((8, 16, 3), np.uint8)
        self.renders = 0

    @property
    def img_cols_rows(self):
        self.renders += 1
        return self.image.copy(), 16, 8

    def process_resize_event(self, width, height):
        pass

    def process_interaction_event(self, event):
        pass


def _run_slice_scheduler(script):
    async def main():
        policy = RenderPolicy(target_fps=100, still_delay_s=0.05)
        coordinator = RenderCoordinator(policy)
        cls = rendering.make_slice_scheduler_class()
        window = FakeWindow()
        pushed = []
        sched = cls(
            window,
            coordinator=coordinator,
            policy=policy,
            interactive_quality=policy.interactive_quality,
            still_quality=policy.still_quality,
            rca_encoder="turbo-jpeg",
            target_fps=policy.target_fps,
        )
        sched.set_push_callback(lambda img, meta: pushed.append(meta["quality"]))
        window.renders = 0  # trame-rca's protocol isinstance check reads img_cols_rows once at construction
        try:
            await script(sched, window)
            await asyncio.sleep(0.2)
        finally:
            await sched.close()
        return window, pushed, coordinator

    return asyncio.run(main())


def test_slice_scheduler_sends_interactive_then_still_frame_without_rerendering():
    async def script(sched, window):
        sched.schedule_render()

    window, pushed, coordinator = _run_slice_scheduler(script)
    assert pushed == [50, 90]
    assert window.renders == 1  # the still frame re-encodes the last image
    assert coordinator.slice_schedulers  # slice views register with the coordinator


def test_slice_scheduler_skips_frames_identical_to_the_last_one_sent():
    async def script(sched, window):
        sched.schedule_render()
        await asyncio.sleep(0.15)  # interactive + still sent
        sched.schedule_render()  # same pixels: nothing new to send
        await asyncio.sleep(0.15)
        window.image[0, 0, 0] = 255
        sched.schedule_render()

    window, pushed, _ = _run_slice_scheduler(script)
    assert window.renders == 3
    assert pushed == [50, 90, 50, 90]


def test_threed_scheduler_coarsens_volume_mappers_only_while_rendering_interactive_frames():
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401 - object factories for vtkRenderer
    import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: F401 - ... and the ray cast display helper
    from vtkmodules.vtkRenderingCore import vtkRenderer, vtkVolume
    from vtkmodules.vtkRenderingVolume import vtkFixedPointVolumeRayCastMapper

    renderer = vtkRenderer()
    mapper = vtkFixedPointVolumeRayCastMapper()
    mapper.SetSampleDistance(0.5)
    mapper.SetImageSampleDistance(1.0)
    volume = vtkVolume()
    volume.SetMapper(mapper)
    renderer.AddVolume(volume)

    async def main():
        policy = RenderPolicy(interactive_scale=0.5, interactive_sample_factor=2.0)
        cls = rendering.make_threed_scheduler_class()
        sched = cls(
            FakeWindow(),
            coordinator=RenderCoordinator(policy),
            policy=policy,
            renderer=renderer,
            rca_encoder="turbo-jpeg",
        )
        try:
            sched._set_interactive(True)
            coarse = (mapper.GetImageSampleDistance(), mapper.GetSampleDistance())
            sched._set_interactive(False)
            full = (mapper.GetImageSampleDistance(), mapper.GetSampleDistance())
        finally:
            await sched.close()
        return coarse, full

    coarse, full = asyncio.run(main())
    assert coarse == pytest.approx((2.0, 1.0))
    assert full == pytest.approx((1.0, 0.5))
