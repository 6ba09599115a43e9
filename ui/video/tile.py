"""One tile of the wall: paints its feed's latest frame and the overlays operators read.

The tile never receives frames: ``tick`` (the wall's timer) looks at the feed's
latest-frame slot and repaints only when something changed. Overlays: place and camera
name, live clock, the stream's quality (SD/HD and frames a second shown, with what the stream
delivers when the wall shows clearly fewer: ``vms.wall.quality``), and the state in words
(connecting, live, reconnecting in N s, offline and why, wrong user name or password).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from PySide6.QtCore import QMimeData, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDrag,
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QFontMetrics,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QApplication, QSizePolicy, QWidget

from ui.video import caption
from ui.video.hub import FeedHandle
from vms.media.feed import FeedState, Frame
from vms.recording.onair import OnAir
from vms.wall.quality import Rate, RateMeter, words

DEVICE_MIME = "application/x-beacon-device"
TILE_MIME = "application/x-beacon-tile"
LONDON = ZoneInfo("Europe/London")
STALE_S = 3.0  # a picture older than this is marked as frozen

_STATE_COLOURS = {
    FeedState.LIVE: QColor("#2fbf71"), FeedState.CONNECTING: QColor("#e0b341"),
    FeedState.RETRYING: QColor("#e0b341"), FeedState.OFFLINE: QColor("#e5534b"),
    FeedState.AUTH_FAILED: QColor("#e5534b"), FeedState.UNAVAILABLE: QColor("#e5534b"),
    FeedState.STOPPED: QColor("#8a96a8"),
}


def status_text(handle: FeedHandle | None, now: float | None = None) -> tuple[str, QColor]:
    """What the tile says about its stream, in words."""
    if handle is None:
        return "", QColor("#8a96a8")
    if handle.error:
        return f"Not available: {handle.error}", QColor("#e5534b")
    feed = handle.feed
    if feed is None:
        return "Connecting…", _STATE_COLOURS[FeedState.CONNECTING]
    st = feed.status
    colour = _STATE_COLOURS[st.state]
    n = st.countdown(now)
    retry = f" — retrying in {n} s" if n is not None else ""
    if st.state is FeedState.LIVE:
        frame = feed.latest
        if frame is not None and (now or time.monotonic()) - frame.received > STALE_S:
            return "Live — picture frozen", QColor("#e0b341")
        return "Live", colour
    if st.state is FeedState.CONNECTING:
        return "Connecting…", colour
    if st.state is FeedState.RETRYING:
        return f"Reconnecting{retry} ({st.reason})", colour
    if st.state is FeedState.OFFLINE:
        return f"Offline{retry}: {st.reason}", colour
    if st.state is FeedState.AUTH_FAILED:
        return f"Wrong user name or password for this camera{retry}", colour
    if st.state is FeedState.UNAVAILABLE:
        return f"Not available: {st.reason}", colour
    return "Stopped", colour


ALARM_WAITING, ALARM_HANDLED = "waiting", "handled"  # a device's call: nobody has it / taken


class Tile(QWidget):
    clicked = Signal(int)
    double_clicked = Signal(int)
    device_dropped = Signal(int, int)  # tile index, device id
    tile_dropped = Signal(int, int)  # from index, to index

    def __init__(self, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.device_id: int | None = None
        self.name = ""
        self.place = ""  # where the camera looks, as operators name it ("Market Square")
        self.handle: FeedHandle | None = None
        self.pending: FeedHandle | None = None  # the other stream, until it shows a picture
        self.selected = False
        self.alarm = ""  # ALARM_WAITING (border flashes red), ALARM_HANDLED (amber) or ""
        self.flash_on = True  # the flashing border's phase, set by the wall
        self.shown = 0  # distinct frames painted (the benchmark's numerator)
        self.rate: Rate | None = None  # frames a second delivered and shown, once a second
        self._meter = RateMeter()
        self._frame: Frame | None = None
        self._image: QImage | None = None
        self._grey: tuple[int, QImage] | None = None  # the last picture greyed, when not live
        self._painted_seq = -1
        self._second = 0
        self._status_key: object = None
        self._clock = ""
        self._geometry: tuple[object, QRect] | None = None  # (size, aspect) -> picture rect
        self._overlay_key: object = None
        self._overlay: tuple[QPixmap, QPixmap | None] | None = None
        self._status = ("", QColor())
        self.recording: OnAir | None = None  # set by the wall from the recording index
        self._press: QPoint | None = None
        self.setAcceptDrops(True)
        self.setMinimumSize(QSize(64, 40))
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    @property
    def quality(self) -> str | None:
        return self.handle.quality if self.handle else None

    @property
    def frame(self) -> Frame | None:
        return self._frame

    def box(self) -> tuple[int, int]:
        r = self.devicePixelRatioF()
        return int(self.width() * r), int(self.height() * r)

    # -- called by the wall's timer ----------------------------------------------------
    def tick(self, now: float) -> None:
        handle = self.handle
        feed = handle.feed if handle else None
        changed = False
        if feed is not None:
            feed.set_box(*self.box())
            frame = feed.latest
            if frame is not None and frame is not self._frame:
                self._frame = frame
                self._image = QImage(frame.data, frame.width, frame.height, frame.bytes_per_line,
                                     QImage.Format.Format_RGB32)
                self._image.setDevicePixelRatio(self.devicePixelRatioF())
                changed = True
        second = int(time.time())
        if second != self._second:
            self._clock = dt.datetime.fromtimestamp(second, LONDON).strftime("%H:%M:%S")
            self.rate = self._meter.sample(now, feed, feed.frames, self.shown) \
                if feed is not None else None
        key = (handle.error if handle else None, feed.status if feed else None, second)
        if key != self._status_key:  # words change at most once a second or on a new state
            self._status_key = key
            status = status_text(handle, now)
            if handle is None and self.device_id is not None:  # its stream is being asked for
                status = "Connecting…", _STATE_COLOURS[FeedState.CONNECTING]
            if status[0] != self._status[0] or second != self._second:
                self._status, self._second = status, second
                changed = True
        if changed:
            self.update()

    # -- painting ------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        rect = self.rect()
        if self.device_id is None:
            p.fillRect(rect, _BLACK)
            p.setPen(QColor("#5d6b7d"))
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter,
                       f"{self.index + 1}\nDrag a camera here")
            self._border(p)
            return
        frame, image = self._frame, self._image
        if frame is not None and image is not None:
            gkey = (rect.size(), frame.display_aspect)
            if self._geometry is None or self._geometry[0] != gkey:
                self._geometry = (gkey, _fitted(rect, frame.display_aspect))
            target = self._geometry[1]
            _letterbox(p, rect, target)
            r = image.devicePixelRatio()
            iw, ih = int(image.width() / r), int(image.height() / r)
            if abs(target.width() - iw) <= 2 and abs(target.height() - ih) <= 2:
                p.drawImage(target.center() - QPoint(iw // 2, ih // 2), image)  # already scaled
            else:
                p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
                p.drawImage(QRectF(target), image)
            if frame.seq != self._painted_seq:
                self._painted_seq = frame.seq
                self.shown += 1
            if self._status[0] != "Live":
                self._not_live(p, target, frame, image)
        else:
            p.fillRect(rect, _BLACK)
        top, bottom = self._overlay_pixmaps(rect)
        p.drawPixmap(0, 0, top)
        if bottom is not None:
            p.drawPixmap(0, rect.height() - bottom.height(), bottom)
        self._border(p)

    def _not_live(self, p: QPainter, target: QRect, frame: Frame, image: QImage) -> None:
        """An old picture must never pass for live: grey it out, darken it and say so across
        the middle, with since when and how old it is. The grey copy is made once per
        picture (an offline tile's picture does not change)."""
        if self._grey is None or self._grey[0] != frame.seq:
            self._grey = (frame.seq, image.convertToFormat(QImage.Format.Format_Grayscale8))
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.drawImage(QRectF(target), self._grey[1])
        p.fillRect(target, QColor(0, 0, 0, 175))
        colour = self._status[1]
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSizeF(max(9.0, min(22.0, target.height() / 9)))
        p.setFont(font)
        p.setPen(colour)
        p.drawText(target, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                   self.not_live_words(frame))

    def not_live_words(self, frame: Frame) -> str:
        """What is written across an old picture: the state in capitals since the clock time
        of the last picture ("OFFLINE since 21:14"), and its age."""
        text = self._status[0]
        word = "PICTURE FROZEN" if text.startswith("Live") else \
            text.split(":")[0].split(" —")[0].split(" (")[0].upper()
        age = max(0.0, time.monotonic() - frame.received)
        at = time.strftime("%H:%M", time.localtime(time.time() - age))
        n = int(age)
        ago = f"last picture {n // 60:d} min {n % 60:02d} s ago" if n >= 60 else \
            f"last picture {n:d} s ago"
        return f"{word} since {at}\n{ago}"

    def _overlay_pixmaps(self, rect: QRect) -> tuple[QPixmap, QPixmap | None]:
        """The name/clock bar and the state box, drawn once per change, not once per frame."""
        clock = self._clock
        is_live = self._status[0] == "Live"  # a frozen or lost stream has no rate to show
        badge = words(self.quality, self.rate if is_live else None)
        short = is_live and self.rate is not None and self.rate.short
        rec = self.recording if self.device_id is not None else None
        key = (rect.width(), rect.height(), self.index, self.name, self.place, clock, badge,
               short, self._status[0], rec)
        if key == self._overlay_key and self._overlay is not None:
            return self._overlay
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, min(10.0, rect.height() / 22)))
        fm = QFontMetrics(font)
        bar = fm.height() + 6
        dpr = self.devicePixelRatioF()
        top = _pixmap(rect.width(), bar, dpr)
        with _painter(top, font) as p:
            p.fillRect(QRect(0, 0, rect.width(), bar), QColor(0, 0, 0, 150))
            p.setPen(QColor("#ffffff"))
            area = QRect(6, 0, rect.width() - 12, bar)
            cap = caption.fit(area.width(), fm, self.index, self.place, self.name, clock, badge,
                              None if rec is None else rec.recording)
            middle = Qt.AlignmentFlag.AlignVCenter
            p.drawText(area, middle | Qt.AlignmentFlag.AlignLeft, cap.left)
            edge = area.right()
            for part, colour in ((cap.badge, _SHORT if short else QColor("#ffffff")),
                                 (cap.clock, QColor("#ffffff")),
                                 (cap.rec, _REC if rec is not None and rec.recording
                                  else _NOT_REC)):
                if not part:  # right to left: quality, clock, recording mark
                    continue
                p.setPen(colour)
                p.drawText(QRect(area.left(), 0, edge - area.left() + 1, bar),
                           middle | Qt.AlignmentFlag.AlignRight, part)
                edge -= fm.horizontalAdvance(part + caption.GAP)
        text, colour = self._status
        bottom = None
        if text:
            live = text == "Live"
            w = fm.horizontalAdvance("● Live") + 12 if live else rect.width()
            bottom = _pixmap(w, bar, dpr)
            with _painter(bottom, font) as p:
                p.fillRect(QRect(0, 0, w, bar), QColor(0, 0, 0, 160))
                p.setPen(colour)
                shown = "● Live" if live else fm.elidedText(text, Qt.TextElideMode.ElideRight,
                                                           rect.width() - 12)
                p.drawText(QRect(6, 0, w - 12, bar),
                           Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, shown)
        self._overlay_key, self._overlay = key, (top, bottom)
        return top, bottom

    def _border(self, p: QPainter) -> None:
        if self.alarm == ALARM_HANDLED or (self.alarm == ALARM_WAITING and self.flash_on):
            pen = QPen(_ALARM if self.alarm == ALARM_WAITING else _HANDLED, ALARM_BORDER)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            p.setPen(pen)
            half = ALARM_BORDER // 2
            p.drawRect(self.rect().adjusted(half, half, -half - 1, -half - 1))
            if self.selected:
                p.setPen(_SELECTED)
                p.drawRect(self.rect().adjusted(ALARM_BORDER, ALARM_BORDER,
                                                -ALARM_BORDER - 1, -ALARM_BORDER - 1))
            return
        if self.selected:
            p.setPen(_SELECTED)
            p.drawRect(self.rect().adjusted(1, 1, -2, -2))
        else:
            p.setPen(_EDGE)
            p.drawRect(self.rect().adjusted(0, 0, -1, -1))

    # -- mouse, drag and drop ------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()
            self.clicked.emit(self.index)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is None or self.device_id is None:
            return
        if (event.position().toPoint() - self._press).manhattanLength() \
                < QApplication.startDragDistance():
            return
        self._press = None
        mime = QMimeData()
        mime.setData(TILE_MIME, str(self.index).encode())
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.exec(Qt.DropAction.MoveAction)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._press = None

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.double_clicked.emit(self.index)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if mime.hasFormat(DEVICE_MIME) or mime.hasFormat(TILE_MIME):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        mime = event.mimeData()
        try:
            if mime.hasFormat(DEVICE_MIME):
                self.device_dropped.emit(self.index, int(bytes(mime.data(DEVICE_MIME).data())))
            elif mime.hasFormat(TILE_MIME):
                self.tile_dropped.emit(int(bytes(mime.data(TILE_MIME).data())), self.index)
            else:
                return
        except ValueError:
            return
        event.acceptProposedAction()


_BLACK = QColor("#05070a")
_SELECTED = QPen(QColor("#3d9bff"), 3)
_EDGE = QPen(QColor("#1c232e"), 1)
_REC = QColor("#ff4d4d")
_ALARM = QColor("#ff3b30")  # a call or alarm nobody has taken: flashing
_HANDLED = QColor("#f0a030")  # taken by an operator, still open: steady
ALARM_BORDER = 6
_NOT_REC = QColor("#f0b849")
_SHORT = _NOT_REC  # the same amber: the wall shows clearly fewer frames than arrive


def _pixmap(w: int, h: int, dpr: float) -> QPixmap:
    pm = QPixmap(max(1, int(w * dpr)), max(1, int(h * dpr)))
    pm.setDevicePixelRatio(dpr)
    pm.fill(Qt.GlobalColor.transparent)
    return pm


@contextmanager
def _painter(pm: QPixmap, font: QFont) -> Iterator[QPainter]:
    p = QPainter(pm)
    p.setFont(font)
    try:
        yield p
    finally:
        p.end()


def _letterbox(p: QPainter, rect: QRect, target: QRect) -> None:
    """Black only around the picture: the picture itself is painted over every frame."""
    if target.top() > rect.top():
        p.fillRect(QRect(rect.left(), rect.top(), rect.width(), target.top() - rect.top()), _BLACK)
    if target.bottom() < rect.bottom():
        p.fillRect(QRect(rect.left(), target.bottom() + 1, rect.width(),
                         rect.bottom() - target.bottom()), _BLACK)
    if target.left() > rect.left():
        p.fillRect(QRect(rect.left(), target.top(), target.left() - rect.left(),
                         target.height()), _BLACK)
    if target.right() < rect.right():
        p.fillRect(QRect(target.right() + 1, target.top(), rect.right() - target.right(),
                         target.height()), _BLACK)


def _fitted(rect: QRect, aspect: float) -> QRect:
    if aspect <= 0:
        return rect
    w, h = rect.width(), rect.height()
    if w / max(1, h) > aspect:
        tw, th = int(h * aspect), h
    else:
        tw, th = w, int(w / aspect)
    return QRect(rect.x() + (w - tw) // 2, rect.y() + (h - th) // 2, tw, th)
