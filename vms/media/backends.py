"""Which playback backend this workstation uses, and why (shown under Help > About).

libvlc is preferred where it can open RTSP (the Windows VLC runtime ships the
live555 module); Debian's libvlc is built without it, so there PyAV plays RTSP.
The probe looks for the module on disk rather than opening a camera, so it is
instant and needs no network. ``player_backend`` in settings, or the environment
variable ``VMS_PLAYER_BACKEND``, overrides the choice.
"""

from __future__ import annotations

import glob
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import av

from vms.media.feed import Feed
from vms.media.pyav_feed import PyAvFeed

CHOICES = ("auto", "pyav", "vlc")


@dataclass
class BackendReport:
    chosen: str
    reason: str
    vlc_version: str | None = None
    vlc_rtsp: bool = False
    vlc_plugins: str | None = None
    vlc_error: str | None = None
    ffmpeg_version: str = ""
    pyav_version: str = ""
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[tuple[str, str]]:
        return [
            ("Playback backend", f"{self.chosen} ({self.reason})"),
            ("PyAV / FFmpeg", f"PyAV {self.pyav_version}, FFmpeg {self.ffmpeg_version}"),
            ("libvlc", self.vlc_version or f"not available ({self.vlc_error})"),
            ("libvlc can open RTSP", "yes (live555 module found)" if self.vlc_rtsp
             else "no (no live555 module)" if self.vlc_version else "-"),
            ("libvlc modules", self.vlc_plugins or "-"),
        ]


def _plugin_dirs(dll_name: str, plugin_path: str | None) -> list[Path]:
    dirs = [os.environ.get("VLC_PLUGIN_PATH"), plugin_path]
    base = Path(dll_name).parent if os.path.dirname(dll_name) else None
    if base is not None:
        dirs += [str(base / "plugins"), str(base / "vlc" / "plugins")]
    if sys.platform.startswith("linux"):
        dirs += [*glob.glob("/usr/lib/*/vlc/plugins"), "/usr/lib/vlc/plugins"]
    return [Path(d) for d in dirs if d and Path(d).is_dir()]


def probe(setting: str = "auto") -> BackendReport:
    report = BackendReport("pyav", "", ffmpeg_version=str(av.ffmpeg_version_info),
                           pyav_version=av.__version__)
    try:
        import vlc

        report.vlc_version = (vlc.libvlc_get_version() or b"?").decode(errors="replace")
        dirs = _plugin_dirs(getattr(vlc.dll, "_name", "") or "", getattr(vlc, "plugin_path", None))
        if dirs:
            report.vlc_plugins = str(dirs[0])
        report.vlc_rtsp = any(next(d.rglob("liblive555_plugin*"), None) for d in dirs)
    except (ImportError, OSError, AttributeError) as exc:
        report.vlc_error = f"{type(exc).__name__}: {exc}"
    want = os.environ.get("VMS_PLAYER_BACKEND") or setting or "auto"
    if want not in CHOICES:
        report.notes.append(f"unknown player_backend {want!r}; using auto")
        want = "auto"
    if want == "pyav":
        report.chosen, report.reason = "pyav", "chosen in settings"
    elif want == "vlc" and report.vlc_version:
        report.chosen = "vlc"
        report.reason = "chosen in settings" + ("" if report.vlc_rtsp else
                                                "; this libvlc cannot open RTSP cameras")
    elif report.vlc_rtsp:
        report.chosen, report.reason = "vlc", "libvlc found with RTSP support"
    else:
        report.chosen = "pyav"
        report.reason = ("libvlc here cannot open RTSP" if report.vlc_version
                         else "libvlc is not installed")
    return report


def feed_class(name: str) -> type[Feed]:
    if name == "vlc":
        from vms.media.vlc_feed import VlcFeed

        return VlcFeed
    return PyAvFeed
