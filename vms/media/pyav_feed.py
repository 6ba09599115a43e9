"""The PyAV (FFmpeg) backend: RTSP over TCP, decoded and scaled on the feed's own thread.

FFmpeg's decoder and scaler release the GIL, so sixteen of these share two cores
without starving the GUI. Frames are scaled to the tile's size here, once, so
painting is a plain blit.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import av
from av.video.reformatter import VideoReformatter

from vms.errors import AuthRefused, FeedError
from vms.media import errors as media_errors
from vms.media.errors import credentials_refused
from vms.media.feed import Feed, Frame
from vms.safety.streamsafe import ffmpeg_options, player_url

OPEN_TIMEOUT_S = 8.0
READ_TIMEOUT_S = 5.0


def explain(exc: BaseException, where: str) -> FeedError:
    """The core's plain sentence, as the error the wall shows (and retries on)."""
    cls = AuthRefused if credentials_refused(exc) else FeedError
    return cls(media_errors.explain(exc, where))


class PyAvFeed(Feed):
    backend = "pyav"

    def _session(self) -> None:
        where = urlsplit(self.url).netloc.rpartition("@")[2] or self.label
        # Probe briefly: the SDP already names the codecs, and FFmpeg's default 5 s of
        # analysis (with an audio track) kept a Help Point caller off screen for 3.7 s.
        options = ffmpeg_options(rtsp_transport="tcp", fflags="nobuffer", flags="low_delay",
                                 analyzeduration="100000", probesize="65536")
        try:
            url = player_url(self.url, self.user, self._password, allow_basic=self.allow_basic)
            container: Any = av.open(url,
                                     options=options, timeout=(OPEN_TIMEOUT_S, READ_TIMEOUT_S))
        except Exception as exc:  # every FFmpeg failure is a FeedError in plain words
            raise explain(exc, where) from None
        try:
            if not container.streams.video:
                raise FeedError(f"{where} sent no video track")
            stream = container.streams.video[0]
            stream.thread_type = "SLICE"
            stream.codec_context.thread_count = 1
            scaler = VideoReformatter()
            try:
                for frame in container.decode(stream):
                    if self.stopped:
                        return
                    self.native_size = (frame.width, frame.height)
                    if self._snapshot_wanted.is_set():
                        self._snapshot_wanted.clear()
                        self._take_snapshot(frame)
                    w, h = self._output_size()
                    # One reformatter per feed keeps FFmpeg's scaler context between frames
                    # (a new one per frame costs three times the scaling itself).
                    out = scaler.reformat(frame, w, h, "bgra", interpolation="FAST_BILINEAR")
                    plane = out.planes[0]  # handed over as is: the painter honours its stride
                    self._deliver(w, h, plane, plane.line_size)
            except FeedError:
                raise
            except Exception as exc:
                raise explain(exc, where) from None
        finally:
            container.close()

    def _take_snapshot(self, frame: Any) -> None:
        plane = frame.reformat(format="bgra").planes[0]
        self.snapshot = Frame(0, frame.width, frame.height, plane, time.monotonic(),
                              stride=plane.line_size)
