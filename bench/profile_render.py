"""Offline render timing of the viewer's views (no browser), to try rendering levers one at a time.

usage: .venv/bin/python bench/profile_render.py [lever ...]
levers: baseline msaa0 peel0 isd2 isd3 cpu cpu_isd2 ... (see LEVERS)
"""

import os
import sys
import time

from trame_slicer.app.medical_viewer_app import MedicalViewerApp

VOL = os.environ.get("BENCH_VOLUME") or os.path.join(
    os.path.dirname(__file__), "..", "src", "slicer_cloud", "data", "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
)

app = MedicalViewerApp()
sapp = app._slicer_app
vols = sapp.io_manager.load_volumes([VOL])
sapp.display_manager.show_volume(vols[0], vr_preset="MR-Default")
vm = sapp.view_manager
views = vm.get_views()
slices = [v for v in views if type(v).__name__ == "SliceView"]
three = [v for v in views if type(v).__name__ == "ThreeDView"][0]
for v in slices:
    v.render_window().SetSize(678, 814)
three.render_window().SetSize(678, 270)


def vr_mapper():
    from slicer import vtkMRMLVolumeRenderingDisplayableManager

    dm = three.get_displayable_manager_by_class(vtkMRMLVolumeRenderingDisplayableManager)
    disp = sapp.volume_rendering.get_vr_display_node(vols[0])
    return dm.GetVolumeMapper(vols[0]), dm, disp


def time_views(label, n=6):
    out = []
    for v in slices[:1]:
        rw = v.render_window()
        rw.Render()
        ts = []
        for i in range(n):
            v.get_view_node()  # noqa
            t = time.perf_counter()
            rw.Render()
            ts.append(time.perf_counter() - t)
        out.append(("slice", sorted(ts)[len(ts) // 2]))
    rw = three.render_window()
    rw.Render()
    cam = three.renderer().GetActiveCamera()
    ts = []
    for i in range(n):
        cam.Azimuth(5)
        t = time.perf_counter()
        rw.Render()
        ts.append(time.perf_counter() - t)
    out.append(("3d", sorted(ts)[len(ts) // 2]))
    m, _, _ = vr_mapper()
    if os.environ.get("SHOTS"):
        from vtkmodules.vtkIOImage import vtkPNGWriter
        from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

        w2i = vtkWindowToImageFilter()
        w2i.SetInput(rw)
        w2i.ReadFrontBufferOff()
        w2i.Update()
        wr = vtkPNGWriter()
        wr.SetFileName(os.path.join(os.environ["SHOTS"], f"{label}.png"))
        wr.SetInputConnection(w2i.GetOutputPort())
        wr.Write()
    sd = m.GetSampleDistance() if m else None
    print(
        f"{label:28s}",
        f"sd={sd:.3g} isd={m.GetImageSampleDistance():.3g} auto={m.GetAutoAdjustSampleDistances()}",
        " ".join(f"{k}={1000 * t:.0f}ms" for k, t in out),
        type(m).__name__ if m else None,
        flush=True,
    )


for lever in ["start"] + sys.argv[1:]:
    if lever == "msaa0":
        for v in views:
            v.render_window().SetMultiSamples(0)
    elif lever == "peel0":
        three.renderer().SetUseDepthPeeling(False)
        three.renderer().SetUseDepthPeelingForVolumes(False)
    elif lever.startswith("isd"):
        m, _, _ = vr_mapper()
        m.SetAutoAdjustSampleDistances(0)
        m.SetImageSampleDistance(float(lever[3:]))
    elif lever.startswith("sd"):
        m, _, _ = vr_mapper()
        m.SetAutoAdjustSampleDistances(0)
        m.SetLockSampleDistanceToInputSpacing(0)
        m.SetSampleDistance(float(lever[2:]))
    elif lever == "cpu":
        sapp.volume_rendering._logic.ChangeVolumeRenderingMethod("vtkMRMLCPURayCastVolumeRenderingDisplayNode")
    elif lever.startswith("quality"):
        three.get_view_node().SetVolumeRenderingQuality(int(lever[7:]))
    elif lever.startswith("fps"):
        three.get_view_node().SetExpectedFPS(int(lever[3:]))
    elif lever.startswith("size"):
        w, h = lever[4:].split("x")
        three.render_window().SetSize(int(w), int(h))
    elif lever.startswith("lp"):
        pass
    elif lever != "start":
        raise SystemExit(f"unknown lever {lever}")
    m, dm, disp = vr_mapper()
    time_views(lever)
print(
    "view node quality",
    three.get_view_node().GetVolumeRenderingQuality(),
    "expected fps",
    three.get_view_node().GetExpectedFPS(),
)
