"""Plans of areas and the device pins on them, for the desktop's site map.

An installer gives an area a plan (a PNG, JPEG or SVG drawing of the streets or the building,
or a page of a PDF, kept as a PNG drawn by pdfium) and drags each device's pin onto it;
operators see live state on the pins. The plan file is copied into the profile (``maps/``)
under its content hash, so the source can be moved or deleted (a replaced plan's file is kept:
the audit trail names it). A plan is checked before it is kept: by its first bytes for PNG and
JPEG, and for SVG by the house XML parser (no DTD, no entities: an SVG is XML from outside).
Pins are kept as fractions of the plan's width and height. Every change is audited with what it
replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
from lxml import etree

from vms.access.roles import Permission
from vms.access.session import Session
from vms.devices.gate import DeviceGate
from vms.errors import ConfigError, UnsafeXml
from vms.profile import Profile
from vms.safety import xmlsafe
from vms.store.devices import DeviceRow, label, now

MAX_PLAN_BYTES = 25 * 1024 * 1024
PDF_LONG_SIDE = 2400  # pixels: a PDF page is drawn once at this size, as SVG plans are shown
_PDFIUM = threading.Lock()  # pdfium is not thread-safe: one document at a time
FORMATS = {"png": "PNG", "jpg": "JPEG", "svg": "SVG"}


@dataclass(frozen=True)
class Plan:
    area: str
    path: Path  # the profile's copy
    kind: str  # a key of FORMATS


@dataclass(frozen=True)
class Pin:
    device_id: int
    area: str  # the plan it is on
    x: float  # 0 (left) .. 1 (right)
    y: float  # 0 (top) .. 1 (bottom)


def plan_kind(data: bytes) -> str:
    """The plan's format from its content, or ConfigError in words."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    head = data[:512].lstrip()
    if head.startswith((b"<?xml", b"<svg", b"<!--")) or b"<svg" in head:
        try:
            root = xmlsafe.parse(data)
        except UnsafeXml as exc:
            raise ConfigError(f"the SVG plan is refused: {exc}") from exc
        except etree.XMLSyntaxError as exc:
            raise ConfigError(f"the SVG plan is not well-formed XML: {exc}") from exc
        if etree.QName(root).localname != "svg":
            raise ConfigError("the file is XML but not an SVG drawing")
        return "svg"
    raise ConfigError("a plan must be a PNG, JPEG or SVG image, or a page of a PDF")


def is_pdf(data: bytes) -> bool:
    return data[:1024].lstrip().startswith(b"%PDF-")


def pdf_pages(data: bytes) -> int:
    """How many pages a PDF has, or ConfigError in words."""
    with _pdf(data) as pdf:
        return len(pdf)


def pdf_page_png(data: bytes, page: int) -> bytes:
    """Page ``page`` (1: the first) of a PDF drawn on white as a PNG, its long side
    ``PDF_LONG_SIDE`` pixels: architects' plans come as PDFs, and a plan is kept as an image
    (pdfium, the PDF engine of Chrome, through pypdfium2)."""
    with _pdf(data) as pdf:
        count = len(pdf)
        if not 1 <= page <= count:
            raise ConfigError(f"the PDF has {count} page{'s' if count != 1 else ''}; there "
                              f"is no page {page}")
        try:
            sheet = pdf[page - 1]
            width, height = sheet.get_size()  # points
            if min(width, height) <= 0:
                raise ConfigError(f"page {page} of the PDF has no size")
            bitmap = sheet.render(scale=PDF_LONG_SIDE / max(width, height))
        except pdfium.PdfiumError as exc:
            raise ConfigError(f"page {page} of the PDF cannot be drawn: {exc}") from exc
        out = io.BytesIO()
        bitmap.to_pil().save(out, "PNG")
        return out.getvalue()


def plan_pages(source: Path) -> int:
    """How many pages a plan file offers: 0 for an image, else the PDF's page count."""
    data = _read_plan(source)
    return pdf_pages(data) if is_pdf(data) else 0


def _read_plan(source: Path) -> bytes:
    try:
        size = source.stat().st_size
        if size > MAX_PLAN_BYTES:
            raise ConfigError(f"the plan is {size / 1e6:.0f} MB; at most "
                              f"{MAX_PLAN_BYTES // 1024 // 1024} MB")
        return source.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {source.name}: {exc.strerror}") from exc


@contextlib.contextmanager
def _pdf(data: bytes) -> Iterator[pdfium.PdfDocument]:
    """The document, one at a time (pdfium is not thread-safe), closed after."""
    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:  # damaged, or locked with a password
            raise ConfigError(f"the PDF cannot be read: {exc}") from exc
        try:
            yield pdf
        finally:
            pdf.close()


class SitePlans:
    """The one service the desktop (and later the CLI) uses for plans and pins."""

    def __init__(self, profile: Profile, session: Session) -> None:
        self.profile = profile
        self.session = session
        self.folder = profile.data_dir / "maps"
        self.gate = DeviceGate(profile, session)  # a pin is an act on a device: one way in

    # -- reading ----------------------------------------------------------------------
    def plans(self) -> dict[str, Plan]:
        """Every area that has a plan, by area name."""
        rows = self.profile.store.db.execute(
            "SELECT a.name, p.file FROM area_plans p JOIN areas a ON a.id = p.area_id "
            "ORDER BY a.name").fetchall()
        out = {}
        for area, file in rows:
            path = self.folder / file
            out[area] = Plan(area, path, path.suffix.lstrip("."))
        return out

    def pins(self) -> dict[int, Pin]:
        """Every device's pin, by device id, for the devices this user may see."""
        visible = {d.id for d in self.profile.access.visible(self.session,
                                                             self.profile.registry.devices())}
        rows = self.profile.store.db.execute(
            "SELECT m.device_id, a.name, m.x, m.y FROM map_pins m "
            "JOIN areas a ON a.id = m.area_id").fetchall()
        return {d: Pin(d, area, x, y) for d, area, x, y in rows if d in visible}

    # -- changing (installers and administrators) -------------------------------------
    def set_plan(self, area: str, source: Path, page: int | None = None) -> Plan:
        """``source``: a PNG, JPEG or SVG, or a PDF whose ``page`` (default the first) is kept
        as a PNG."""
        self.profile.access.require(self.session, Permission.DEVICE_CONFIGURE,
                                    action="map.plan", doing="change site maps")
        area = label(area, "area")
        if not area:
            raise ConfigError("which area is the plan of?")
        data = _read_plan(source)
        drawn_from = None
        if is_pdf(data):
            drawn_from = {"pdf_sha256": hashlib.sha256(data).hexdigest(), "page": page or 1}
            data = pdf_page_png(data, page or 1)
        elif page is not None:
            raise ConfigError("a page is chosen only for a PDF plan")
        kind = plan_kind(data)
        digest = hashlib.sha256(data).hexdigest()
        name = f"{digest[:16]}.{kind}"
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / name
        if not target.exists():  # written whole under another name, then put in place
            part = target.with_suffix(".part")
            part.write_bytes(data)
            part.replace(target)
        registry = self.profile.registry
        with registry.transaction() as db:
            area_id = registry._area_id(db, area)
            old = db.execute("SELECT file FROM area_plans WHERE area_id = ?",
                             [area_id]).fetchone()
            db.execute("INSERT INTO area_plans (area_id, file, sha256, changed_at, changed_by) "
                       "VALUES (?, ?, ?, ?, ?) ON CONFLICT (area_id) DO UPDATE SET "
                       "file = excluded.file, sha256 = excluded.sha256, "
                       "changed_at = excluded.changed_at, changed_by = excluded.changed_by",
                       [area_id, name, digest, now(), self.session.user])
        self.profile.access.record(self.session, "map.plan", detail={
            "area": area, "file": source.name, "sha256": digest, "format": FORMATS[kind],
            "replaced": old[0] if old else None, **({"from_pdf": drawn_from}
                                                    if drawn_from else {})})
        return Plan(area, target, kind)

    def place(self, device: DeviceRow, area: str, x: float, y: float) -> Pin:
        """Pin ``device`` at (x, y) on ``area``'s plan (moving it if pinned elsewhere)."""
        self.gate.check(device, Permission.DEVICE_CONFIGURE, "map.pin", doing="change site maps")
        if not (math.isfinite(x) and math.isfinite(y) and 0 <= x <= 1 and 0 <= y <= 1):
            raise ConfigError("a pin must lie on the plan")
        x, y = round(x, 5), round(y, 5)
        registry = self.profile.registry
        with registry.transaction() as db:
            row = db.execute("SELECT a.id FROM areas a JOIN area_plans p ON p.area_id = a.id "
                             "WHERE a.name = ?", [area]).fetchone()
            if row is None:
                raise ConfigError(f"the area {area!r} has no plan to pin {device.name} on")
            before = db.execute("SELECT a.name, m.x, m.y FROM map_pins m JOIN areas a "
                                "ON a.id = m.area_id WHERE m.device_id = ?",
                                [device.id]).fetchone()
            db.execute("INSERT INTO map_pins (device_id, area_id, x, y, changed_at, changed_by) "
                       "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET "
                       "area_id = excluded.area_id, x = excluded.x, y = excluded.y, "
                       "changed_at = excluded.changed_at, changed_by = excluded.changed_by",
                       [device.id, row[0], x, y, now(), self.session.user])
        self.gate.done("map.pin", device, {
            "plan": area, "x": x, "y": y,
            "from": {"plan": before[0], "x": before[1], "y": before[2]} if before else None})
        return Pin(device.id, area, x, y)

    def unpin(self, device: DeviceRow) -> None:
        self.gate.check(device, Permission.DEVICE_CONFIGURE, "map.unpin",
                        doing="change site maps")
        with self.profile.registry.transaction() as db:
            gone = db.execute("DELETE FROM map_pins WHERE device_id = ?", [device.id]).rowcount
        if gone:
            self.gate.done("map.unpin", device)

