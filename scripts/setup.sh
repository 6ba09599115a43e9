#!/usr/bin/env bash
# Shared set-up for the README's two commands: system packages (Debian/Ubuntu), then a
# virtual environment in .venv with Beacon VMS and its development tools.
# Idempotent and quick when nothing changed. Sourced by scripts/demo and scripts/test.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VMS_VENV:-$REPO/.venv}"

APT_PACKAGES=(
  python3 python3-venv python3-pip        # Python 3.11 on Debian 12
  ffmpeg                                  # ffprobe/ffmpeg: tests and benchmark references
  libvlc5 libvlccore9 vlc-plugin-base     # libvlc for the python-vlc playback backend
  xvfb xauth                              # a real X server for native-window tests and screenshots
  libgl1 libegl1 libfontconfig1 libdbus-1-3 fonts-dejavu-core
  libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0
  libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0
  libxcb-xkb1                             # what Qt's xcb platform plugin loads
  libnss3 libnspr4 libasound2 libgbm1 libdrm2 libxcomposite1 libxdamage1 libxrandr2 libxtst6
  libxkbfile1 libxcb-dri3-0 libgssapi-krb5-2
                                          # Qt WebEngine: tests render the saved HTML reports
  iproute2 util-linux                     # ip and unshare: multicast tests in a network namespace
  tesseract-ocr                           # tests read the camera name burned into decoded video
  postgresql-15                           # tests start their own PostgreSQL for a shared site
  espeak-ng                               # tests speak to a Help Point with synthesised speech
  pulseaudio pulseaudio-utils             # a null audio sink the tests record the alert from
  gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly
                                          # GStreamer's ONVIF RTSP server: talk tests against it
  gcc python3-dev pkg-config libgirepository1.0-dev libcairo2-dev
                                          # what pip needs to build PyGObject for those tests
)

install_system_packages() {
  command -v dpkg-query >/dev/null 2>&1 || { echo "setup: not a Debian system; install the packages named in scripts/setup.sh yourself" >&2; return 0; }
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "setup: please install as root: apt-get install ${missing[*]}" >&2; exit 1
    fi
  fi
  echo "setup: installing system packages: ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

pick_python() {
  for py in python3.13 python3.12 python3.11 python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$py"; return 0
    fi
  done
  echo "setup: Python 3.11 or newer is required" >&2; exit 1
}

install_python_packages() {
  local stamp="$VENV/.beacon-installed" want
  want="$(cat "$REPO/pyproject.toml" | sha256sum | cut -d' ' -f1)"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV"
    "$(pick_python)" -m venv "$VENV"
  fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setup: installing Python packages into $VENV (log: $VENV/pip.log)"
    if ! { "$VENV/bin/python" -m pip install --upgrade pip &&
           "$VENV/bin/python" -m pip install -e "$REPO[dev]"; } > "$VENV/pip.log" 2>&1; then
      tail -n 30 "$VENV/pip.log" >&2
      echo "setup: pip failed; the whole log is in $VENV/pip.log" >&2
      exit 1
    fi
    echo "$want" > "$stamp"
  fi
}

install_system_packages
install_python_packages
export PATH="$VENV/bin:$PATH"
