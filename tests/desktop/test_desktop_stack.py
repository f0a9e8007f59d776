"""The desktop stack as data, display numbers, --check: no X server needed."""

from __future__ import annotations

import sys

import pytest

from slicer_cloud.cli import build_parser, main
from slicer_cloud.desktop.bridge import NOVNC_PAGE
from slicer_cloud.desktop.check import Requirement, report
from slicer_cloud.desktop.display import free_display, owns_display, window_manager_running
from slicer_cloud.desktop.stack import (
    StackConfig,
    app_command,
    build_stack,
    choose_vnc,
    gl_prefix,
    native_viewer_command,
)


def test_a_free_display_skips_numbers_with_a_lock_file_or_a_socket(tmp_path):
    (tmp_path / ".X11-unix").mkdir()
    (tmp_path / ".X20-lock").write_text("123\n")
    (tmp_path / ".X11-unix" / "X21").touch()
    assert free_display(tmp=tmp_path) == 22
    assert free_display(skip={22}, tmp=tmp_path) == 23


def test_a_display_is_ours_only_when_its_lock_holds_our_pid_and_its_socket_exists(tmp_path):
    (tmp_path / ".X11-unix").mkdir()
    (tmp_path / ".X30-lock").write_text("      4242\n")
    assert not owns_display(30, 4242, tmp=tmp_path)
    (tmp_path / ".X11-unix" / "X30").touch()
    assert owns_display(30, 4242, tmp=tmp_path)
    assert not owns_display(30, 4243, tmp=tmp_path)


def test_the_stack_runs_x_then_the_window_manager_then_the_app_then_vnc():
    stack = build_stack(StackConfig(app=["xterm"], vnc="x11vnc"))
    assert [p.name for p in stack] == ["xvfb", "wm", "app", "vnc"]
    values = {"display": 31, "geometry": "800x600", "vnc_socket": "/private/vnc.sock", "data": "/d"}
    assert stack[0].argv(values)[:5] == ["Xvfb", ":31", "-screen", "0", "800x600x24"]
    vnc = stack[-1].argv(values)
    assert (
        "/private/vnc.sock" in vnc
        and vnc[vnc.index("-rfbport") + 1] == "0"
        and vnc[vnc.index("-rfbportv6") + 1] == "-1"
    )
    assert stack[2].restart == "always"


def test_the_tigervnc_stack_is_x_and_vnc_in_one_on_a_unix_socket_only():
    stack = build_stack(StackConfig(app=["xterm"], vnc="tigervnc"))
    assert [p.name for p in stack] == ["xvnc", "wm", "app"]
    assert stack[0].ready == "x_display_vnc"
    values = {"display": 31, "geometry": "800x600", "vnc_socket": "/private/vnc.sock", "data": "/d"}
    argv = stack[0].argv(values)
    assert argv[:4] == ["Xtigervnc", ":31", "-geometry", "800x600"]
    assert argv[argv.index("-rfbport") + 1] == "-1"  # no TCP listener
    assert argv[argv.index("-rfbunixpath") + 1] == "/private/vnc.sock"
    assert argv[argv.index("-SecurityTypes") + 1] == "None"
    for on in ("-AcceptSetDesktopSize=1", "-AcceptCutText=1", "-SendCutText=1", "-SendPrimary=1", "-SetPrimary=1"):
        assert on in argv


def test_tigervnc_is_chosen_when_installed_unless_forced(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert choose_vnc(environ={}) == "x11vnc"
    xvnc = tmp_path / "Xtigervnc"
    xvnc.write_text("#!/bin/sh\n")
    xvnc.chmod(0o755)
    assert choose_vnc(environ={}) == "tigervnc"
    assert choose_vnc(environ={"SLICER_CLOUD_DESKTOP_VNC": "x11vnc"}) == "x11vnc"
    assert choose_vnc("x11vnc", environ={"SLICER_CLOUD_DESKTOP_VNC": "tigervnc"}) == "x11vnc"
    with pytest.raises(ValueError):
        choose_vnc(environ={"SLICER_CLOUD_DESKTOP_VNC": "vnc4"})


def test_the_novnc_page_resizes_remotely_or_scales():
    assert "resize=remote" in NOVNC_PAGE.format(resize="remote")
    assert "resize=scale" in NOVNC_PAGE.format(resize="scale")


def test_exit_with_app_makes_the_app_end_the_session():
    stack = build_stack(StackConfig(app=["xterm"], exit_with_app=True))
    assert next(p for p in stack if p.name == "app").restart == "end_session"


def test_the_default_app_is_slicer_when_found_else_the_native_viewer(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert app_command(None, environ={}) == native_viewer_command()
    slicer = tmp_path / "Slicer"
    slicer.write_text("#!/bin/sh\n")
    slicer.chmod(0o755)
    assert app_command(None, environ={"SLICER_EXECUTABLE": str(slicer)}) == [str(slicer)]
    assert app_command("xterm -geometry '80x24+0+0'") == ["xterm", "-geometry", "80x24+0+0"]
    assert native_viewer_command()[:3] == [sys.executable, "-m", "slicer_cloud.desktop.native_viewer"]


def test_check_names_the_packages_to_install_for_what_is_missing():
    text, ready = report([Requirement("Xvfb", "xvfb", None), Requirement("openbox", "openbox", None, required=False)])
    assert not ready
    assert "apt-get install xvfb" in text and "openbox" not in text.splitlines()[-1]


def test_the_desktop_command_takes_its_own_flags_and_serve_does_not():
    parser = build_parser()
    args = parser.parse_args(["desktop", "--app", "xterm", "--geometry", "800x600", "--exit-with-app", "--check"])
    assert (args.app, args.geometry, args.exit_with_app, args.check) == ("xterm", "800x600", True, True)
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--geometry", "800x600"])


def test_a_bad_geometry_is_refused_with_what_to_write(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["desktop", "--geometry", "big"])
    assert exit_info.value.code == 2
    assert "WIDTHxHEIGHT" in capsys.readouterr().err


def test_the_native_viewer_shows_a_given_volume_the_first_in_a_folder_or_the_sample(tmp_path):
    from slicer_cloud.core.sample import sample_path
    from slicer_cloud.desktop.native_viewer import volume_to_show

    assert volume_to_show(None) == sample_path()
    assert volume_to_show(tmp_path) == sample_path()
    (tmp_path / "notes.txt").touch()
    (tmp_path / "b.nrrd").touch()
    (tmp_path / "a.nii.gz").touch()
    assert volume_to_show(tmp_path) == tmp_path / "a.nii.gz"
    assert volume_to_show(tmp_path / "b.nrrd") == tmp_path / "b.nrrd"


def test_no_window_manager_is_seen_on_a_display_without_an_x_server():
    assert window_manager_running(free_display()) is False


def test_the_app_starts_only_after_the_window_manager_took_the_screen():
    stack = build_stack(StackConfig(app=["xterm"]))
    assert next(p for p in stack if p.name == "wm").ready == "window_manager"


def _fake_program(folder, name):
    program = folder / name
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    return program


def test_virtualgl_runs_the_app_only_with_an_nvidia_gpu_and_vglrun(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    gpu, no_gpu = tmp_path / "nvidia0", tmp_path / "absent"
    gpu.touch()
    assert gl_prefix(environ={}, device=gpu) == []  # no vglrun: Mesa
    vglrun = _fake_program(tmp_path, "vglrun")
    assert gl_prefix(environ={}, device=no_gpu) == []  # no GPU: Mesa
    assert gl_prefix(environ={}, device=gpu) == [str(vglrun), "-d", "egl"]
    assert gl_prefix(environ={"SLICER_CLOUD_DESKTOP_GL": "cpu"}, device=gpu) == []
    assert gl_prefix(environ={"SLICER_CLOUD_DESKTOP_GL": "virtualgl"}, device=no_gpu)[0] == str(vglrun)
    with pytest.raises(ValueError, match="auto, cpu or virtualgl"):
        gl_prefix(environ={"SLICER_CLOUD_DESKTOP_GL": "gpu"}, device=gpu)


def test_virtualgl_forced_without_vglrun_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ValueError, match="install VirtualGL"):
        gl_prefix(environ={"SLICER_CLOUD_DESKTOP_GL": "virtualgl"})


def test_the_gl_prefix_goes_before_the_app_unless_the_app_is_vglrun_already():
    prefix = ("/usr/bin/vglrun", "-d", "egl")
    stack = build_stack(StackConfig(app=["Slicer"], gl_prefix=prefix))
    assert next(p for p in stack if p.name == "app").command == (*prefix, "Slicer")
    stack = build_stack(StackConfig(app=["vglrun", "-d", "/dev/dri/card1", "Slicer"], gl_prefix=prefix))
    assert next(p for p in stack if p.name == "app").command == ("vglrun", "-d", "/dev/dri/card1", "Slicer")


@pytest.mark.parametrize("variable", ["SLICER_CLOUD_DESKTOP_VNC", "SLICER_CLOUD_DESKTOP_GL"])
def test_a_wrong_server_or_gl_choice_stops_with_a_clear_error(monkeypatch, tmp_path, caplog, variable):
    monkeypatch.setenv(variable, "bogus")
    code = main(["desktop", "--port", "0", "--data", str(tmp_path), "--token", "t0123456789abcdef0123"])
    assert code == 2
    assert variable in caplog.text and "bogus" in caplog.text


def test_the_native_viewer_ray_casts_on_the_cpu_unless_virtualgl_gives_it_a_gpu():
    from slicer_cloud.desktop.native_viewer import VR_METHODS, volume_rendering_method

    assert volume_rendering_method(None, {}) == "cpu"
    assert volume_rendering_method(None, {"VGL_ISACTIVE": "1"}) == "gpu"
    assert volume_rendering_method("cpu", {"VGL_ISACTIVE": "1"}) == "cpu"
    assert set(VR_METHODS) == {"cpu", "gpu"}
