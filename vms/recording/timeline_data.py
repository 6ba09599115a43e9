"""What a playback timeline shows, read from the recording index and the event store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from vms.events.store import EventStore
from vms.recording.index import RecordingIndex
from vms.recording.playback import JOIN_S, ts


@dataclass
class Row:
    """One camera's timeline; times are epoch seconds."""

    camera_id: int
    name: str
    spans: list[tuple[float, float]] = field(default_factory=list)
    gaps: list[tuple[float, float, str]] = field(default_factory=list)
    locks: list[tuple[float, float]] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)
    incidents: list[tuple[float, float, str]] = field(default_factory=list)


def _event_time(e: dict[str, object]) -> float:
    stamp = str(e.get("device_time") or e["received_utc"]).replace("Z", "+00:00")
    return dt.datetime.fromisoformat(stamp).timestamp()


class TimelineData:
    def __init__(self, index: RecordingIndex, store: EventStore | None, user: str) -> None:
        self.index = index
        self.store = store
        self.user = user

    def rows(self, camera_ids: list[int], names: dict[int, str]) -> list[Row]:
        now = dt.datetime.now(dt.UTC).timestamp()
        out = []
        for cid in camera_ids:
            row = Row(cid, names.get(cid, str(cid)))
            for s in sorted(self.index.segments(cid), key=lambda s: s.start_utc or ""):
                if not (s.start_utc and s.end_utc and s.frames):
                    continue
                a, b = ts(s.start_utc), ts(s.end_utc)
                if row.spans and a - row.spans[-1][1] <= JOIN_S:
                    row.spans[-1] = (row.spans[-1][0], max(b, row.spans[-1][1]))
                else:
                    row.spans.append((a, b))
            row.gaps = [(ts(g.start_utc), ts(g.end_utc) if g.end_utc else now, g.reason)
                        for g in self.index.gaps(cid)]
            row.locks = [(ts(lk.start_utc), ts(lk.end_utc) if lk.end_utc else now)
                         for lk in self.index.locks(cid)]
            if self.store is not None:
                row.events = [(_event_time(e), str(e["kind"]))
                              for e in self.store.events(cid, limit=5000)
                              if e["active"] and not e["initial"]]
                row.incidents = [
                    (ts(r["raised_utc"]), ts(r["closed_utc"]) if r["closed_utc"] else now,
                     str(r["kind"]))
                    for r in self.store.conn.execute(
                        "SELECT raised_utc, closed_utc, kind FROM incidents WHERE device_id = ?",
                        (cid,))]
            out.append(row)
        return out

    def bookmarks(self) -> list[tuple[float, str]]:
        return [(ts(b["utc"]), str(b["label"])) for b in self.index.bookmarks()]

    def add_bookmark(self, camera_id: int | None, at: float, label: str) -> None:
        self.index.bookmark(camera_id, dt.datetime.fromtimestamp(at, dt.UTC).isoformat(
            timespec="milliseconds"), label, self.user)
