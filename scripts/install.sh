#!/usr/bin/env bash
# Install slicer-cloud on Debian 12 (bookworm) or Ubuntu: system packages with apt, then a venv with pip.
#
#   ./scripts/install.sh          runtime: Python, Mesa EGL (llvmpipe) offscreen rendering, libturbojpeg,
#                                 and the desktop way: Xtigervnc (or Xvfb + x11vnc), noVNC, openbox, Mesa GLX
#   ./scripts/install.sh --test   also the test extra (with the hub extra), Debian's chromium (driven by playwright), xterm, xclip
#
# Environment:
#   SLICER_CLOUD_VENV  where the venv goes (default: .venv in the repo root; a relative path is taken from
#                      the repo root)
#   PYTHON             interpreter that creates the venv (default: python3); must be >= 3.10
#
# Safe to run again: installed apt packages are skipped (no root needed then), a working venv is reused.
# See docs/install.md for what is installed and why.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WITH_TEST=0

usage() { sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

for arg in "$@"; do
    case "$arg" in
        --test) WITH_TEST=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

step() { printf '==> %s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

# Run a command with its output in a log; show the log's tail only if it fails.
LOG="$(mktemp "${TMPDIR:-/tmp}/slicer-cloud-install.XXXXXX")"
trap 'rm -f "$LOG"' EXIT
quietly() {
    if ! "$@" >"$LOG" 2>&1; then
        tail -n 40 "$LOG" >&2
        die "command failed: $*"
    fi
}

# --- 1. Platform ---------------------------------------------------------------------------------------
[ -r /etc/os-release ] || die "cannot read /etc/os-release: this script supports Debian 12+ and Ubuntu 22.04+ only"
# shellcheck disable=SC1091
. /etc/os-release
case " ${ID:-} ${ID_LIKE:-} " in
    *" debian "*|*" ubuntu "*) ;;
    *) die "unsupported OS '${PRETTY_NAME:-${ID:-unknown}}': this script supports Debian 12+ and Ubuntu 22.04+ only (see docs/install.md for a manual install)" ;;
esac
command -v apt-get >/dev/null && command -v dpkg-query >/dev/null || die "apt-get/dpkg-query not found"
step "Platform: ${PRETTY_NAME:-$ID}"

# --- 2. System packages ----------------------------------------------------------------------------------
# One entry per need; "a|b" = the first of these that the distribution has (Debian vs Ubuntu names).
PACKAGES=(
    python3 python3-venv   # interpreter + venv/ensurepip (Debian 12: 3.11, Ubuntu 22.04: 3.10)
    ca-certificates        # HTTPS to the package index for pip
    libegl1                # libEGL.so.1 (glvnd), dlopened by VTK's EGL render window
    libegl-mesa0           # Mesa's EGL vendor library (surfaceless/device platforms, no X server)
    libgl1-mesa-dri        # Mesa's swrast/llvmpipe driver: software OpenGL, no GPU needed
    "libturbojpeg0|libturbojpeg"  # libturbojpeg.so.0 for PyTurboJPEG (frame encoding)
    # slicer-cloud desktop (docs/desktop.md):
    xvfb                   # Xvfb, the virtual X server the desktop app draws on
    x11vnc                 # VNC server of that display (on a private unix socket only); the fallback
    tigervnc-standalone-server  # Xtigervnc: X + VNC server in one, resizes with the browser window (preferred)
    novnc                  # noVNC, the browser VNC client, pinned by the distribution (/usr/share/novnc)
    openbox                # a small window manager (move/resize/focus windows)
    "npm|nodejs"           # npm (pulls nodejs): configurable-http-proxy for `slicer-cloud hub`
    libgl1 libglx-mesa0    # GLX: the native viewer's and Slicer's on-screen OpenGL on Mesa llvmpipe
)
if [ "$WITH_TEST" = 1 ]; then
    PACKAGES+=(
        chromium           # /usr/bin/chromium, the browser the tests drive through playwright
        fonts-liberation   # fonts for headless chromium (not pulled with --no-install-recommends)
        libatomic1         # libatomic.so.1 for the node binary inside the playwright wheel
        xterm              # a plain X program the desktop tests run as the app
        xclip              # reads/sets the X clipboard in the desktop clipboard tests
        x11-utils          # xdpyinfo: the desktop tests read the X screen size after a browser resize
        orthanc orthanc-dicomweb  # a real DICOMweb PACS the DICOM tests start on loopback
        docker.io debootstrap     # dockerd + a locally built base image for the container tests
        docker-compose cloud-init  # validate deploy/compose.yaml and deploy/cloud-init/* in the tests
    )
fi

is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
has_candidate() {
    local c
    c="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')"
    [ -n "$c" ] && [ "$c" != "(none)" ]
}

missing=()
for entry in "${PACKAGES[@]}"; do
    IFS='|' read -r -a alts <<<"$entry"
    ok=0
    for p in "${alts[@]}"; do is_installed "$p" && { ok=1; break; }; done
    [ "$ok" = 1 ] || missing+=("$entry")
done

if [ "${#missing[@]}" -eq 0 ]; then
    step "System packages: all present"
else
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "missing packages (${missing[*]}) and not root, and sudo is not installed: run as root"
        SUDO=(sudo env DEBIAN_FRONTEND=noninteractive)  # sudo drops the environment
    fi
    step "apt-get update"
    quietly "${SUDO[@]}" apt-get update
    to_install=()
    for entry in "${missing[@]}"; do
        IFS='|' read -r -a alts <<<"$entry"
        pick=""
        for p in "${alts[@]}"; do has_candidate "$p" && { pick="$p"; break; }; done
        if [ -z "$pick" ]; then
            if [ "$entry" = chromium ]; then
                die "no 'chromium' apt package on ${PRETTY_NAME:-$ID} (Ubuntu ships it as a snap): install a Chromium that answers at /usr/bin/chromium, then rerun (see docs/install.md)"
            fi
            die "no apt package available for: $entry (check the apt sources)"
        fi
        to_install+=("$pick")
    done
    step "apt-get install ${to_install[*]}"
    quietly "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${to_install[@]}"
fi

if [ "$WITH_TEST" = 1 ] && [ ! -x /usr/bin/chromium ]; then
    die "/usr/bin/chromium is missing: the tests need it"
fi

# --- 3. Python -----------------------------------------------------------------------------------------
PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || die "Python interpreter '$PYTHON' not found (set PYTHON=...)"
PY_VERSION="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "$PYTHON is Python $PY_VERSION; slicer-cloud needs >= 3.10 (set PYTHON=...)"
step "Python: $(command -v "$PYTHON") ($PY_VERSION)"

# --- 4. Virtual environment ----------------------------------------------------------------------------
VENV="${SLICER_CLOUD_VENV:-.venv}"
case "$VENV" in /*) ;; *) VENV="$ROOT/$VENV" ;; esac

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import pip' >/dev/null 2>&1; then
    VENV_VERSION="$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    if [ "$VENV_VERSION" != "$PY_VERSION" ]; then
        step "Venv $VENV is Python $VENV_VERSION, not $PY_VERSION: recreating"
        quietly "$PYTHON" -m venv --clear "$VENV"
    else
        step "Venv: reusing $VENV"
    fi
else
    step "Venv: creating $VENV"
    if ! "$PYTHON" -m venv --clear "$VENV" >"$LOG" 2>&1; then
        tail -n 20 "$LOG" >&2
        die "'$PYTHON -m venv' failed: install python$PY_VERSION-venv (apt) for this interpreter"
    fi
fi

# --- 5. Python packages (whatever index the machine's pip config names) ----------------------------------
export PIP_DISABLE_PIP_VERSION_CHECK=1
step "pip install --upgrade pip"
quietly "$VENV/bin/python" -m pip install -q --upgrade pip
if [ "$WITH_TEST" = 1 ]; then
    # The tests use Debian's chromium: playwright must never fetch a browser of its own.
    export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
    step "pip install -e .[test]"
    quietly "$VENV/bin/python" -m pip install -q -e "$ROOT[test]"
else
    step "pip install -e .[hub]"
    quietly "$VENV/bin/python" -m pip install -q -e "$ROOT[hub]"
fi

# configurable-http-proxy (npm), JupyterHub's proxy for `slicer-cloud hub`, into the venv's prefix.
if [ ! -x "$VENV/node_modules/.bin/configurable-http-proxy" ]; then
    step "npm install configurable-http-proxy"
    quietly npm install --prefix "$VENV" configurable-http-proxy@5 --no-audit --no-fund
fi
ln -sf ../node_modules/.bin/configurable-http-proxy "$VENV/bin/configurable-http-proxy"

step "Done: $VENV/bin/slicer-cloud serve"
