"""An RTSP server we did not write (GStreamer's) playing one H.264 Matroska file in real time,
as a camera would send it: ``python -m tests.gst_file_server FILE``. It serves
``rtsp://127.0.0.1:PORT/file`` and prints ``PORT <n>`` once listening. A file whose timestamps
pause makes a camera whose video pauses (RTP and RTCP carry the pause, as from a real one)."""

from __future__ import annotations

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer  # noqa: E402

from tests.gst_onvif_server import loopback, serve  # noqa: E402

LAUNCH = ('( filesrc location="{path}" ! '
          "matroskademux ! h264parse ! "
          "rtph264pay name=pay0 pt=96 config-interval=-1 )")


def main() -> int:
    Gst.init(None)
    factory = GstRtspServer.RTSPMediaFactory()
    path = sys.argv[1]
    if '"' in path or "\\" in path:
        raise SystemExit("a file name with quotes or backslashes cannot go in a launch line")
    factory.set_launch(LAUNCH.format(path=path))
    factory.set_shared(True)
    return serve(loopback(GstRtspServer.RTSPServer()), "/file", factory)


if __name__ == "__main__":
    sys.exit(main())
