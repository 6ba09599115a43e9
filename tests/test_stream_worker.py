"""The one stream worker (issue 24): live video, listen and the recorder read a camera
through the same loop, so the same failure is said in the same words, retried on the
same policy, and stopped the same way. Real sockets on loopback, the real readers."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import wait_for
from vms.audio.listen import ListenFeed
from vms.devices.live import LiveStream
from vms.media.pyav_feed import PyAvFeed
from vms.media.worker import StreamState, StreamWorker
from vms.recording.index import RecordingIndex
from vms.recording.recorder import CameraRecorder
from vms.retry import Backoff


def quick() -> Backoff:
    return Backoff(first=0.05, cap=0.1, jitter=0.0)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on: every connection is refused at once."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


@pytest.fixture
def readers(tmp_path: Path, closed_port: int) -> Iterator[dict[str, StreamWorker]]:
    url = f"rtsp://127.0.0.1:{closed_port}/stream1"
    feed = PyAvFeed(url, label="cam1", backoff=quick())
    listen = ListenFeed(LiveStream(1, "cam1", "", "main", url, "", ""))
    listen.backoff = quick()
    index = RecordingIndex(tmp_path / "recordings.db")
    recorder = CameraRecorder(index, tmp_path / "media", 1, "cam1", lambda: url)
    recorder.backoff = quick()
    workers: dict[str, StreamWorker] = {"live": feed, "listen": listen, "recorder": recorder}
    for w in workers.values():
        w.start()
    yield workers
    for w in workers.values():
        w.stop()
    for name, w in workers.items():
        assert w.join(10), f"{name} did not stop"
    index.close()


def test_the_same_failure_is_said_in_the_same_words_by_every_reader(
        readers: dict[str, StreamWorker], closed_port: int) -> None:
    wait_for(lambda: all(w.status.reason for w in readers.values()), 20, "every reader to fail")
    where = f"127.0.0.1:{closed_port}"
    for name, w in readers.items():
        said = w.status.reason
        assert "refused the connection: the camera is off or not serving" in said, (name, said)
        assert where in said or "cam1" in said, (name, said)
        assert "Traceback" not in said and "Errno" not in said, (name, said)
    assert readers["recorder"].status.state is StreamState.RETRYING


def test_retries_go_on_and_only_the_viewers_call_a_dead_camera_offline(
        readers: dict[str, StreamWorker]) -> None:
    """Three failed attempts in a row make a tile and the listen box say "offline"; the
    recorder keeps saying "retrying" (its gap says since when), and keeps trying."""
    wait_for(lambda: readers["live"].status.state is StreamState.OFFLINE
             and readers["listen"].status.state is StreamState.OFFLINE, 20, "offline")
    rec = readers["recorder"]
    wait_for(lambda: len(rec.status.errors) >= 4, 20, "the recorder retrying")  # type: ignore[attr-defined]
    assert rec.status.state is StreamState.RETRYING
    assert rec.status.detail.endswith("; retrying in 0 s")  # type: ignore[attr-defined]
    gaps = rec.index.gaps(1)  # type: ignore[attr-defined]
    assert len(gaps) == 1 and gaps[0].reason.startswith("camera offline: cam1 refused")


def test_stop_is_immediate_and_says_stopped(readers: dict[str, StreamWorker]) -> None:
    wait_for(lambda: all(w.status.reason for w in readers.values()), 20, "every reader to fail")
    began = time.monotonic()
    for w in readers.values():
        w.stop()
    assert time.monotonic() - began < 0.5  # stop never waits for the network
    for name, w in readers.items():
        assert w.join(10), name
        assert w.status.state is StreamState.STOPPED, (name, w.status)
    # the recorder's summary keeps why it was not recording
    assert "it was not recording: cam1 refused" in readers["recorder"].status.reason


def test_a_fault_in_the_recorder_is_not_called_the_camera_offline(tmp_path: Path) -> None:
    """A bug or a broken index is the recorder's, not the camera's: the gap says so, the log
    has the traceback, and the recorder keeps trying instead of dying."""
    index = RecordingIndex(tmp_path / "recordings.db")

    def url() -> str:
        raise TypeError("a bug in the recorder's own code")
    rec = CameraRecorder(index, tmp_path / "media", 1, "cam1", url)
    rec.backoff = quick()
    rec.start()
    try:
        wait_for(lambda: len(rec.status.errors) >= 2, 20, "two failed attempts")
    finally:
        rec.stop()
    gaps = index.gaps(1)
    assert len(gaps) == 1, gaps
    assert gaps[0].reason == "recorder error: the recorder failed (TypeError); see the log"
    assert rec.status.state is StreamState.STOPPED
    index.close()


def test_every_reader_of_a_camera_stream_is_a_stream_worker() -> None:
    for cls in (PyAvFeed, ListenFeed, CameraRecorder):
        assert issubclass(cls, StreamWorker), cls
        assert "_run" not in vars(cls), f"{cls.__name__} has a loop of its own"
