"""The site map: an area's plan with a pin per device, showing live state (issue 26).

Pins: green online, grey offline (events not arriving), a red dot while recording, a flashing
red ring while a call or alarm on the device waits for an operator, amber once one has it.
Clicking a pin opens the device's call if it has one, else puts its camera on the wall's
selected tile (``pin_activated``; the feature decides). Installers drag a device from the
list on the left (or from the camera tree) onto the plan, drag pins to move them, and give an
area its plan; each change is saved (``vms.maps.plans``) and audited. Pins keep their size on
screen whatever the zoom (mouse wheel), so a plan of a whole town stays readable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsSceneContextMenuEvent,
    QGraphicsSceneMouseEvent,
    QGraphicsView,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSplitter,
    QStyleOptionGraphicsItem,
    QVBoxLayout,
    QWidget,
)

from ui import tasks
from ui.maps import kit_scene
from ui.screen import sized
from ui.video.tile import ALARM_HANDLED, ALARM_WAITING, DEVICE_MIME
from vms.events.engine import OK, Health
from vms.maps.coordinates import Kit, KitMap
from vms.maps.plans import Pin, Plan, SitePlans, plan_pages
from vms.recording.onair import OnAir
from vms.store.devices import DeviceRow

FLASH_MS = 500
KIT_AREA = "\x00loaned-kit"  # the area list's entry for loaned kit by coordinates
KIT_WORDS = "Loaned kit, by coordinates"
SVG_LONG_SIDE = 2400  # an SVG plan is drawn once at this size; zooming in stays sharp enough
RADIUS = 11.0

_ONLINE, _OFFLINE, _UNKNOWN = QColor("#2fbf71"), QColor("#8a96a8"), QColor("#5d6b7d")
_ALARM, _HANDLED, _REC = QColor("#ff3b30"), QColor("#f0a020"), QColor("#ff4d4d")
_LOAN = QColor("#2563c9")  # loaned kit at a victim's premises: the pin's label


def load_plan(plan: Plan) -> QImage:
    """The plan as an image (off the GUI thread: QImage, never QPixmap, there)."""
    if plan.kind == "svg":
        renderer = QSvgRenderer(str(plan.path))
        if not renderer.isValid():
            raise ValueError(f"the plan of {plan.area} cannot be drawn")
        size = renderer.defaultSize()
        w, h = max(1, size.width()), max(1, size.height())
        scale = SVG_LONG_SIDE / max(w, h)
        image = QImage(int(w * scale), int(h * scale), QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(QColor("#1a1f27"))
        painter = QPainter(image)
        try:
            renderer.render(painter)
        finally:
            painter.end()
        return image
    image = QImage(str(plan.path))
    if image.isNull():
        raise ValueError(f"the plan of {plan.area} cannot be read")
    return image


@dataclass
class PinState:
    online: bool | None = None  # None: not heard of yet
    recording: bool = False
    alarm: str = ""
    loan: str = ""  # on loan: where ("12 Elm Road until 4 Jan"); its label is blue


class PinItem(QGraphicsObject):
    """One device on the plan, the same size on screen at any zoom."""

    def __init__(self, device_id: int, label: str, editable: bool) -> None:
        super().__init__()
        self.device_id = device_id
        self.label = label
        self.state = PinState()
        self.flash_on = True
        self.editable = editable
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, editable)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setZValue(10)
        self.font = QFont()
        self.font.setPointSizeF(9)
        self.font.setBold(True)
        fm = QFontMetricsF(self.font)
        self.text_w, self.text_h = fm.horizontalAdvance(label) + 10, fm.height() + 4
        self.setToolTip(label)
        self._press: QPointF | None = None

    def boundingRect(self) -> QRectF:
        w = max(2 * RADIUS + 8, self.text_w)
        return QRectF(-w / 2, -RADIUS - 4, w, 2 * RADIUS + 8 + self.text_h)

    def colour(self) -> QColor:
        s = self.state
        if s.alarm == ALARM_WAITING:
            return _ALARM if self.flash_on else QColor("#3a0d0b")
        if s.alarm == ALARM_HANDLED:
            return _HANDLED
        return _UNKNOWN if s.online is None else _ONLINE if s.online else _OFFLINE

    def paint(self, p: QPainter, _option: QStyleOptionGraphicsItem,
              _widget: QWidget | None = None) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        ring = self.state.alarm != ""
        p.setPen(QPen(QColor("#ffffff") if ring else QColor("#0b0e13"), 3 if ring else 2))
        p.setBrush(QBrush(self.colour()))
        p.drawEllipse(QPointF(0, 0), RADIUS, RADIUS)
        if self.state.recording:  # a red dot at the pin's top right, as on the tiles
            p.setPen(QPen(QColor("#0b0e13"), 1.5))
            p.setBrush(QBrush(_REC))
            p.drawEllipse(QPointF(RADIUS * 0.8, -RADIUS * 0.8), 4.5, 4.5)
        box = QRectF(-self.text_w / 2, RADIUS + 4, self.text_w, self.text_h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(_LOAN if self.state.loan else QColor(0, 0, 0, 190)))
        p.drawRoundedRect(box, 3, 3)
        p.setPen(QColor("#ffffff"))
        p.setFont(self.font)
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, self.label)

    def contextMenuEvent(self, event: QGraphicsSceneContextMenuEvent) -> None:
        view = self.scene().views()[0] if self.scene() and self.scene().views() else None
        if not self.editable or not isinstance(view, PlanView):
            return
        menu = QMenu(view)
        take_off = menu.addAction(f"Take {self.label} off the plan")
        if menu.exec(event.screenPos()) is take_off:
            view.pin_removed.emit(self.device_id)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self._press = event.screenPos().toPointF()
        super().mousePressEvent(event)
        event.accept()  # a pin that cannot move still takes its click (not the view's pan)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        press, self._press = self._press, None
        view = self.scene().views()[0] if self.scene() and self.scene().views() else None
        if press is None or not isinstance(view, PlanView):
            return
        moved = (event.screenPos().toPointF() - press).manhattanLength() > 4
        if moved and self.editable:
            view.pin_moved.emit(self.device_id, self.pos())
        elif not moved:
            view.pin_clicked.emit(self.device_id)


class PlanView(QGraphicsView):
    pin_clicked = Signal(int)
    pin_removed = Signal(int)  # an installer took the pin off the plan
    pin_moved = Signal(int, QPointF)  # device id, scene position (plan pixels)
    device_dropped = Signal(int, QPointF)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("planView")
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setBackgroundBrush(QColor("#0b0e13"))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # drag pans
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAcceptDrops(True)
        self.plan_rect = QRectF()

    def fit(self) -> None:
        if not self.plan_rect.isEmpty():
            self.fitInView(self.plan_rect, Qt.AspectRatioMode.KeepAspectRatio)

    def wheelEvent(self, event: QWheelEvent) -> None:
        factor = 1.25 if event.angleDelta().y() > 0 else 0.8
        self.scale(factor, factor)

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        self.fit()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(DEVICE_MIME) and not self.plan_rect.isEmpty():
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(DEVICE_MIME):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        mime = event.mimeData()
        if not mime.hasFormat(DEVICE_MIME):
            return
        event.acceptProposedAction()
        self.device_dropped.emit(int(bytes(mime.data(DEVICE_MIME).data())),
                                 self.mapToScene(event.position().toPoint()))


class _DeviceList(QListWidget):
    """Devices not yet on this plan, dragged onto it as the camera tree's rows are."""

    def mimeTypes(self) -> list[str]:
        return [DEVICE_MIME]

    def mimeData(self, items: list[QListWidgetItem]) -> QMimeData:  # type: ignore[override]
        mime = QMimeData()
        if items:
            mime.setData(DEVICE_MIME, str(items[0].data(Qt.ItemDataRole.UserRole)).encode())
        return mime


class MapWindow(QWidget):
    pin_activated = Signal(int)  # device id: open its call, or its camera on the wall
    message = Signal(str)

    def __init__(self, plans: SitePlans, can_edit: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("siteMap")
        self.setWindowTitle("Site map — Beacon VMS")
        self.plans_service = plans
        self.can_edit = can_edit
        self.devices: dict[int, DeviceRow] = {}
        self.plans: dict[str, Plan] = {}
        self.pins: dict[int, Pin] = {}
        self.items: dict[int, PinItem] = {}
        self.states: dict[int, PinState] = {}
        self.area = ""
        self._plan_item: QGraphicsPixmapItem | None = None
        # Set for users who may see loans: reads loaned kit by coordinates (off the GUI thread).
        self.kit_source: Callable[[], KitMap] | None = None
        self.kit: KitMap | None = None
        self._loans: dict[int, str] | None = None  # as last read (None: not read yet)
        self._tick = 0  # counts reads and saves, to tell a read overtaken by either
        self._latest_read = 0
        self._last_save = 0
        self._saving = 0  # pins being saved
        self._reload_wanted = False  # a read was overtaken by a save: read again after it

        self.view = PlanView()
        self.area_box = QComboBox()
        self.area_box.setObjectName("mapArea")
        self.area_box.setMinimumWidth(220)
        self.area_box.currentIndexChanged.connect(self._area_chosen)
        self.plan_button = QPushButton("Plan image…")
        self.plan_button.setToolTip("Give this area its plan: a PNG, JPEG or SVG drawing, or a "
                                    "page of a PDF")
        self.plan_button.setVisible(can_edit)
        self.plan_button.clicked.connect(self.choose_plan)
        self.fit_button = QPushButton("Whole plan")
        self.fit_button.clicked.connect(self.view.fit)
        self.status = QLabel("")
        self.status.setObjectName("mapStatus")
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Area"))
        top.addWidget(self.area_box)
        top.addWidget(self.plan_button)
        top.addWidget(self.fit_button)
        top.addWidget(self.status, 1)

        self.view.pin_clicked.connect(self.pin_activated)
        self.view.pin_moved.connect(self._pin_moved)
        self.view.device_dropped.connect(self._dropped)
        self.view.pin_removed.connect(self._unpin)
        self.unplaced = _DeviceList()
        self.unplaced.setObjectName("unplacedDevices")
        self.unplaced.setDragEnabled(True)
        side = QWidget()
        side_lay = QVBoxLayout(side)
        side_lay.setContentsMargins(0, 0, 0, 0)
        self.unplaced_hint = QLabel("Not on the plan yet: drag onto it")
        self.unplaced_hint.setWordWrap(True)
        side_lay.addWidget(self.unplaced_hint)
        side_lay.addWidget(self.unplaced, 1)
        side.setVisible(can_edit)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(side)
        split.addWidget(self.view)
        split.setStretchFactor(1, 1)
        split.setSizes([200, 1000])
        legend = QLabel("<span style='color:#2fbf71'>●</span> online &nbsp; "
                        "<span style='color:#8a96a8'>●</span> offline &nbsp; "
                        "<span style='color:#ff4d4d'>•</span> recording &nbsp; "
                        "<span style='color:#ff3b30'>●</span> call or alarm waiting (flashing) "
                        "&nbsp; <span style='color:#f0a020'>●</span> taken &nbsp; "
                        "<span style='background:#2563c9'>&nbsp;name&nbsp;</span> on loan "
                        "&nbsp;·&nbsp; "
                        "click a pin: its call, or its camera on the wall's selected tile; "
                        "wheel to zoom, drag to pan" + (", drag a pin to move it"
                                                         if can_edit else ""))
        legend.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        lay.addWidget(legend)
        sized(self, 1200, 800)
        self.flash = QTimer(self)
        self.flash.setInterval(FLASH_MS)
        self.flash.timeout.connect(self._flash)

    # -- loading ----------------------------------------------------------------------
    def set_devices(self, rows: list[DeviceRow]) -> None:
        self.devices = {r.id: r for r in rows}
        self.reload()

    def reload(self) -> None:
        svc = self.plans_service
        self._tick += 1
        self._latest_read = generation = self._tick
        tasks.run(lambda: (svc.plans(), svc.pins()),
                  lambda result: self._loaded(generation, result),
                  lambda e: self._say(f"The site map cannot be read: {e}"), owner=self)

    def _loaded(self, generation: int, result: tuple[dict[str, Plan], dict[int, Pin]]) -> None:
        if generation != self._latest_read:  # a newer read is on its way
            return
        if self._last_save > generation:  # a pin was saved after this read began
            self._reload_wanted = True
            self._reload_if_wanted()
            return
        self.plans, self.pins = result
        areas = sorted(set(self.plans) | ({r.area for r in self.devices.values()}
                                          if self.can_edit else set()), key=str.casefold)
        keep = self.area or (sorted(self.plans)[0] if self.plans else "")
        self.area_box.blockSignals(True)
        self.area_box.clear()
        for area in areas:
            self.area_box.addItem(area if area in self.plans else f"{area} (no plan yet)", area)
        if self.kit_source is not None:
            self.area_box.addItem(KIT_WORDS, KIT_AREA)
        self.area_box.setCurrentIndex(max(0, self.area_box.findData(keep)))
        self.area_box.blockSignals(False)
        self._mark_areas()
        if not areas and self.kit_source is None:
            self._say("No area has a plan yet. An installer gives an area its plan here."
                      if not self.can_edit else "Choose Plan image… to give an area its plan.")
        self._area_chosen()

    def _area_chosen(self) -> None:
        area = self.area_box.currentData()
        self.area = str(area) if area else ""
        plan = self.plans.get(self.area)
        self.plan_button.setVisible(self.can_edit and self.area != KIT_AREA)
        self._fill_unplaced()
        source = self.kit_source
        if self.area == KIT_AREA and source is not None:
            self._show(None, None)  # no plan's pins to drag while the kit is read
            self._say("Reading the loans and the crime around them…")
            tasks.run(source, self._show_kit,
                      lambda e: self._say(f"The loaned kit cannot be shown: {e}"), owner=self)
            return
        if plan is None:
            self._show(None, plan)
            if self.area:
                self._say(f"{self.area} has no plan yet.")
            return
        tasks.run(lambda: load_plan(plan), lambda image: self._show(image, plan),
                  lambda e: self._say(str(e)), owner=self)

    def _show(self, image: QImage | None, plan: Plan | None) -> None:
        if plan is not None and plan != self.plans.get(self.area):
            return  # another area, or a newer plan, was chosen meanwhile
        scene = self.view.scene()
        scene.clear()
        self.items.clear()
        self._plan_item = None
        if image is None:
            self.view.plan_rect = QRectF()
            return
        self._plan_item = scene.addPixmap(QPixmap.fromImage(image))
        self.view.plan_rect = QRectF(0, 0, image.width(), image.height())
        scene.setSceneRect(self.view.plan_rect.adjusted(-200, -200, 200, 200))
        for pin in self.pins.values():
            if pin.area == self.area and pin.device_id in self.devices:
                self._add_pin(pin)
        self.view.fit()
        shown = sum(1 for p in self.pins.values() if p.area == self.area)
        self._say(f"{self.area}: {shown} device{'s' if shown != 1 else ''} on the plan.")

    def _show_kit(self, m: KitMap) -> None:
        """Loaned kit where it is on the ground, with the crime near it: the cameras this
        user may see."""
        if self.area != KIT_AREA:
            return  # another area was chosen meanwhile
        m = dataclasses.replace(m, kit=[k for k in m.kit if k.device_id in self.devices])
        self.kit = m
        self._show(None, None)
        self.view.plan_rect = kit_scene.draw(self.view.scene(), m, self._add_kit_pin)
        self.view.fit()
        places = len({k.premises_id for k in m.kit})
        said = [f"{len(m.kit)} camera{'s' if len(m.kit) != 1 else ''} on loan at {places} "
                f"premises; grid squares are 100 m."]
        if m.months:
            span = m.months[0] if len(m.months) == 1 else f"{m.months[0]} to {m.months[-1]}"
            said.append(f"{len(m.crimes)} street crimes within {m.radius_m:.0f} m (dashed) in "
                        f"{span}, police.uk: a dot is a point police.uk puts crimes at, larger "
                        f"for more; magenta where any of them ({m.burglaries()} in all) was a "
                        "burglary.")
        if m.note:
            said.append(m.note)
        self._say(" ".join(said))
        self._mark_areas()

    def _add_kit_pin(self, k: Kit, pos: QPointF) -> None:
        state = self.states.setdefault(k.device_id, PinState())
        state.loan = state.loan or f"{k.premises} until {k.until:%d %b %Y}"
        self._put_pin(k.device_id, pos, editable=False)

    def _add_pin(self, pin: Pin) -> PinItem:
        rect = self.view.plan_rect
        return self._put_pin(pin.device_id, QPointF(rect.width() * pin.x,
                                                    rect.height() * pin.y), self.can_edit)

    def _put_pin(self, device_id: int, pos: QPointF, editable: bool) -> PinItem:
        """A device's pin on the scene at ``pos``, sharing its live state."""
        row = self.devices[device_id]
        label = f"{row.location} · {row.name}" if row.location else row.name
        item = PinItem(device_id, label, editable)
        item.state = self.states.setdefault(device_id, PinState())
        if item.state.loan:
            item.setToolTip(f"{label}\nOn loan: {item.state.loan}")
        item.setPos(pos)
        self.view.scene().addItem(item)
        self.items[device_id] = item
        return item

    def _fill_unplaced(self) -> None:
        self.unplaced.clear()
        if not self.can_edit or self.area == KIT_AREA:
            return
        for row in sorted(self.devices.values(), key=lambda r: r.name.casefold()):
            pin = self.pins.get(row.id)
            if pin is None or pin.area != self.area:
                item = QListWidgetItem(row.name + (f" ({pin.area})" if pin else ""))
                item.setData(Qt.ItemDataRole.UserRole, row.id)
                item.setToolTip(f"{row.location or row.area}: drag onto the plan")
                self.unplaced.addItem(item)
        self.unplaced_hint.setText("Not on the plan yet: drag onto it" if self.unplaced.count()
                                   else "Every device is on this plan. Right-click a pin to "
                                        "take it off.")

    # -- live state -------------------------------------------------------------------
    def set_health(self, h: Health) -> None:
        self.states.setdefault(h.device_id, PinState()).online = h.state == OK
        self._repaint(h.device_id)

    def set_loans(self, loans: dict[int, str]) -> None:
        """Devices on loan (device id -> where and until when)."""
        before = {d for d, st in self.states.items() if st.loan}
        for device_id, st in self.states.items():
            st.loan = loans.get(device_id, "")
        for device_id, where in loans.items():
            self.states.setdefault(device_id, PinState()).loan = where
        for device_id, item in self.items.items():
            item.setToolTip(item.label + (f"\nOn loan: {loans[device_id]}"
                                          if device_id in loans else ""))
            item.update()
        if set(loans) != before:
            self._mark_areas()  # an alarm on kit that is now (or no longer) on loan
        changed, self._loans = self._loans is not None and loans != self._loans, dict(loans)
        if changed and self.area == KIT_AREA:
            self._area_chosen()  # the kit shown: read again as the loans are now

    def set_recording(self, states: dict[int, OnAir]) -> None:
        for device_id, st in self.states.items():
            on = states.get(device_id)
            recording = on is not None and on.recording
            if st.recording != recording:
                st.recording = recording
                self._repaint(device_id)
        for device_id, on in states.items():
            if device_id not in self.states and on.recording:
                self.states[device_id] = PinState(recording=True)
                self._repaint(device_id)

    def set_alarm(self, device_id: int, level: str) -> None:
        before = self.states.setdefault(device_id, PinState()).alarm
        self.states[device_id].alarm = level
        self._repaint(device_id)
        item = self.items.get(device_id)
        if level == ALARM_WAITING and before != level and item is not None:
            self._say(f"A call or alarm waits at {item.label}: click its pin to open it.",
                      alarm=True)
        waiting = any(s.alarm == ALARM_WAITING for s in self.states.values())
        if waiting and not self.flash.isActive():
            self.flash.start()
        elif not waiting:
            self.flash.stop()
        self._mark_areas()

    def _mark_areas(self) -> None:
        """An alarm on a plan not shown is said in the area list and the status line."""
        elsewhere = []
        for i in range(self.area_box.count()):
            area = str(self.area_box.itemData(i))
            if area == KIT_AREA:  # loans as read every minute, shown or not
                alarm = any(s.loan and s.alarm == ALARM_WAITING for s in self.states.values())
                self.area_box.setItemText(i, f"{KIT_WORDS} — ALARM" if alarm else KIT_WORDS)
                if alarm and area != self.area:
                    elsewhere.append(KIT_WORDS.lower())
                continue
            alarm = any(s.alarm == ALARM_WAITING and self.pins.get(d) is not None
                        and self.pins[d].area == area for d, s in self.states.items())
            base = area if area in self.plans else f"{area} (no plan yet)"
            self.area_box.setItemText(i, f"{base} — ALARM" if alarm else base)
            if alarm and area != self.area:
                elsewhere.append(area)
        if elsewhere:
            self._say("A call or alarm waits on the plan of " + ", ".join(elsewhere) + ".",
                      alarm=True)

    def _repaint(self, device_id: int) -> None:
        item = self.items.get(device_id)
        if item is not None:
            item.update()

    def _flash(self) -> None:
        for item in self.items.values():
            if item.state.alarm == ALARM_WAITING:
                item.flash_on = not item.flash_on
                item.update()

    # -- changes (installers) ---------------------------------------------------------
    def _fraction(self, pos: QPointF) -> tuple[float, float] | None:
        rect = self.view.plan_rect
        if rect.isEmpty() or not rect.contains(pos):
            return None
        return pos.x() / rect.width(), pos.y() / rect.height()

    def _dropped(self, device_id: int, pos: QPointF) -> None:
        self._place(device_id, pos)

    def _pin_moved(self, device_id: int, pos: QPointF) -> None:
        self._place(device_id, pos)

    def _place(self, device_id: int, pos: QPointF) -> None:
        row = self.devices.get(device_id)
        where = self._fraction(pos)
        if row is None or not self.can_edit:
            return
        if self.area == KIT_AREA:
            self._say("Loaned kit is placed by its premises' coordinates, not by a pin.")
            return
        if where is None:
            self._say("A pin must be on the plan; it was put back.")
            self.reload()
            return
        area, svc = self.area, self.plans_service
        self._tick += 1  # a read already on its way may not know of this pin
        self._last_save = self._tick
        self._saving += 1
        tasks.run(lambda: svc.place(row, area, *where), self._placed, self._not_placed,
                  owner=self)

    def _not_placed(self, exc: BaseException) -> None:
        self._saving -= 1
        self._say(f"Not saved: {exc}")
        self.reload()  # the pin goes back where it is kept

    def _reload_if_wanted(self) -> None:
        if self._reload_wanted and self._saving == 0:
            self._reload_wanted = False
            self.reload()

    def _placed(self, pin: Pin) -> None:
        self._saving -= 1
        self.pins[pin.device_id] = pin
        item = self.items.get(pin.device_id)
        if self.area == KIT_AREA:
            pass  # loaned kit shown meanwhile: its pins are not the plan's
        elif pin.area != self.area:  # another plan was chosen while it was saved
            if item is not None:
                self.view.scene().removeItem(item)
                self.items.pop(pin.device_id, None)
        else:
            if item is None:
                item = self._add_pin(pin)
            rect = self.view.plan_rect
            item.setPos(rect.width() * pin.x, rect.height() * pin.y)
        self._fill_unplaced()
        self._say(f"{self.devices[pin.device_id].name} is on the plan of {pin.area} (saved).")
        self._reload_if_wanted()

    def _unpin(self, device_id: int) -> None:
        row = self.devices.get(device_id)
        if row is None:
            return
        svc = self.plans_service
        self._tick += 1
        self._last_save = self._tick
        self._saving += 1
        tasks.run(lambda: svc.unpin(row), lambda _r: self._unpinned(device_id),
                  self._not_placed, owner=self)

    def _unpinned(self, device_id: int) -> None:
        self._saving -= 1
        self.pins.pop(device_id, None)
        item = self.items.pop(device_id, None) if self.area != KIT_AREA else None
        if item is not None:
            self.view.scene().removeItem(item)
        self._fill_unplaced()
        self._say(f"{self.devices[device_id].name} is off the plan (saved).")
        self._reload_if_wanted()

    def choose_plan(self) -> None:
        if not self.area or self.area == KIT_AREA:  # loaned kit is laid out, not planned
            return
        dlg = QFileDialog(self, f"The plan of {self.area}")
        dlg.setOption(QFileDialog.Option.DontUseNativeDialog)
        dlg.setFileMode(QFileDialog.FileMode.ExistingFile)
        dlg.setNameFilter("Plans (*.png *.jpg *.jpeg *.svg *.pdf)")
        if dlg.exec() != QFileDialog.DialogCode.Accepted or not dlg.selectedFiles():
            return
        path, area = Path(dlg.selectedFiles()[0]), self.area
        tasks.run(lambda: plan_pages(path), lambda n: self._keep_plan(area, path, n),
                  lambda e: self._say(f"The plan was not kept: {e}"), owner=self)

    def _keep_plan(self, area: str, path: Path, pages: int) -> None:
        """A PDF of several pages: which is the plan?"""
        page = None
        if pages > 1:
            page, ok = QInputDialog.getInt(
                self, "Which page?", f"{path.name} has {pages} pages. The plan of {area} is "
                "page:", 1, 1, pages)
            if not ok:
                return
        elif pages == 1:
            page = 1
        svc = self.plans_service
        self._say(f"Keeping the plan of {area}…")
        tasks.run(lambda: svc.set_plan(area, path, page), lambda _plan: self.reload(),
                  lambda e: self._say(f"The plan was not kept: {e}"), owner=self)

    def _say(self, text: str, alarm: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #ff6e6e; font-weight: bold;" if alarm else "")
        self.message.emit(text)
