"""The device registry over the profile database; the only place with SQL for devices."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlite_utils

from vms.discovery.wsd import Sighting
from vms.errors import (  # defined with every other error
    ConfigError,
    DuplicateDevice,
    UnknownDevice,
)
from vms.onvif.model import Capabilities, CapabilityCheck, DeviceReport, HasStreams, StreamInfo
from vms.safety.streamsafe import strip_userinfo
from vms.store.database import ProfileStore

DEFAULT_AREA = "Default area"


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class DeviceRow(HasStreams):
    id: int
    uid: str
    name: str
    area: str
    location: str | None
    address: str
    host: str
    port: int
    manufacturer: str | None
    model: str | None
    firmware: str | None
    serial: str | None
    clock_offset_s: float | None
    auth_method: str
    added_at: str
    warnings: list[str] = field(default_factory=list)
    streams: list[StreamInfo] = field(default_factory=list)
    capabilities: Capabilities = field(default_factory=Capabilities)
    allow_basic_rtsp: bool = False  # an installer accepted a clear-text RTSP password


@dataclass
class SightingRow:
    endpoint_ref: str
    xaddrs: list[str]
    scopes: list[str]
    name: str | None
    location: str | None
    hardware: str | None
    sender: str | None
    warning: str | None
    present: bool
    source: str
    first_seen: str
    last_seen: str


@dataclass(frozen=True)
class LinkRow:
    device_id: int
    camera_id: int
    camera: str
    position: int
    preset_token: str | None
    preset_name: str | None
    linked_at: str
    linked_by: str | None

    def to_json(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "camera_id": self.camera_id, "camera": self.camera,
                "position": self.position, "preset_token": self.preset_token,
                "preset": self.preset_name, "linked_at": self.linked_at,
                "linked_by": self.linked_by}


class Registry(ProfileStore):
    """The device registry: the devices, sightings, links and event rules in the profile
    database (``ProfileStore``, whose connection the rest of the profile shares)."""

    # -- areas ----------------------------------------------------------------------
    def _area_id(self, db: sqlite_utils.Database, name: str) -> int:
        row = db.execute("SELECT id FROM areas WHERE name = ?", [name]).fetchone()
        if row:
            return int(row[0])
        return int(self._table(db, "areas").insert({"name": name, "created_at": now()}).last_pk or 0)

    # -- devices --------------------------------------------------------------------
    def uid_for(self, rep: DeviceReport) -> str:
        if rep.endpoint_ref:
            return rep.endpoint_ref
        if rep.serial and rep.manufacturer:
            return f"serial:{rep.manufacturer}:{rep.model}:{rep.serial}"
        return f"address:{rep.address}"

    def check_new(self, rep: DeviceReport) -> str:
        """Raise ``DuplicateDevice`` if ``rep`` is registered already; returns its uid."""
        uid = self.uid_for(rep)
        row = self.db.execute("SELECT id, name, address FROM devices WHERE uid = ? OR address = ?",
                              [uid, rep.address]).fetchone()
        if row:
            raise DuplicateDevice(f"{rep.address} is already registered as device {row[0]} "
                                  f"({row[1]}); remove it first to add it again")
        return uid

    def add_device(self, rep: DeviceReport, *, name: str | None = None, area: str | None = None,
                   location: str | None = None) -> int:
        """Store a device, its streams and capabilities in one transaction; returns its id."""
        uid = self.check_new(rep)
        name = (name or rep.name or f"{rep.model or 'device'} at {rep.host}").strip()
        if not name:
            raise ConfigError("a device needs a name")
        stamp = now()
        caps = rep.capabilities
        with self.transaction() as db:
            area_id = self._area_id(db, (area or DEFAULT_AREA).strip() or DEFAULT_AREA)
            try:
                dev_id = int(self._table(db, "devices").insert({
                    "uid": uid, "name": name, "area_id": area_id,
                    "location": location or rep.location, "address": rep.address,
                    "host": rep.host, "port": rep.port, "endpoint_ref": rep.endpoint_ref,
                    "manufacturer": rep.manufacturer, "model": rep.model, "firmware": rep.firmware,
                    "serial": rep.serial, "hardware_id": rep.hardware_id,
                    "clock_offset_s": rep.clock_offset_s, "auth_method": rep.auth_method,
                    "warnings": json.dumps(rep.warnings), "added_at": stamp, "updated_at": stamp,
                }).last_pk or 0)
            except sqlite3.IntegrityError as exc:
                raise DuplicateDevice(f"{rep.address} is already registered ({exc})") from None
            self._table(db, "streams").insert_all([{
                "device_id": dev_id, "role": s.role, "profile_token": s.profile_token,
                "profile_name": s.profile_name, "encoding": s.encoding, "width": s.width,
                "height": s.height, "fps": s.fps, "uri": strip_userinfo(s.uri),
                "snapshot_uri": strip_userinfo(s.snapshot_uri), "media_version": s.media_version,
                "audio": int(s.audio), "backchannel": int(s.backchannel)} for s in rep.streams])
            self._table(db, "capabilities").insert({
                "device_id": dev_id, "media2": int(caps.media2), "ptz": int(caps.ptz),
                "events": int(caps.events), "pullpoint": int(caps.pullpoint),
                "deviceio": int(caps.deviceio), "digital_inputs": json.dumps(caps.digital_inputs),
                "relay_outputs": json.dumps(caps.relay_outputs),
                "input_connectors": caps.input_connectors, "relay_count": caps.relay_count,
                "audio_sources": caps.audio_sources, "audio_outputs": caps.audio_outputs,
                "backchannel": int(caps.backchannel), "services": json.dumps(caps.services),
                "checks": json.dumps([asdict(c) for c in caps.checks]),
                "event_method": caps.event_method})
        return dev_id

    def remove_device(self, device_id: int) -> DeviceRow:
        row = self.device(device_id)
        with self.transaction() as db:
            db.execute("DELETE FROM devices WHERE id = ?", [device_id])
        return row

    def device(self, device_id: int) -> DeviceRow:
        rows = self._devices("WHERE d.id = ?", [device_id])
        if not rows:
            raise UnknownDevice(f"no device with id {device_id} (see 'vms devices list')")
        return rows[0]

    def id_for_uid(self, uid: str) -> int | None:
        """This profile's id for the device with the site-wide key ``uid`` (None: not here)."""
        row = self.db.conn.execute("SELECT id FROM devices WHERE uid = ?", [uid]).fetchone()
        return int(row[0]) if row else None

    def devices(self) -> list[DeviceRow]:
        return self._devices("", [])

    def _devices(self, where: str, params: list[Any]) -> list[DeviceRow]:
        """Devices with their streams and capabilities in three queries (the tree polls this)."""
        db = self.db
        rows = db.execute(f"""SELECT d.id, d.uid, d.name, s.name, d.location, d.address, d.host,
            d.port, d.manufacturer, d.model, d.firmware, d.serial, d.clock_offset_s, d.auth_method,
            d.added_at, d.warnings, d.allow_basic_rtsp FROM devices d
            JOIN areas s ON s.id = d.area_id {where}
            ORDER BY s.name, d.location, d.name, d.id""", params).fetchall()  # noqa: S608
        devices: dict[int, DeviceRow] = {}
        for r in rows:
            dev = DeviceRow(*r[:15])
            dev.warnings = json.loads(r[15])
            dev.allow_basic_rtsp = bool(r[16])
            devices[dev.id] = dev
        if not devices:
            return []
        ids = list(devices)
        marks = ",".join("?" * len(ids))
        for st in db.query(f"SELECT * FROM streams WHERE device_id IN ({marks}) ORDER BY id", ids):  # noqa: S608
            devices[st["device_id"]].streams.append(StreamInfo(
                profile_token=st["profile_token"], profile_name=st["profile_name"],
                encoding=st["encoding"], width=st["width"], height=st["height"], fps=st["fps"],
                uri=st["uri"], snapshot_uri=st["snapshot_uri"], role=st["role"],
                media_version=st["media_version"], audio=bool(st["audio"]),
                backchannel=bool(st["backchannel"])))
        for c in db.query(f"SELECT * FROM capabilities WHERE device_id IN ({marks})", ids):  # noqa: S608
            devices[c["device_id"]].capabilities = Capabilities(
                services=json.loads(c["services"]), media2=bool(c["media2"]),
                ptz=bool(c["ptz"]), events=bool(c["events"]), pullpoint=bool(c["pullpoint"]),
                deviceio=bool(c["deviceio"]), digital_inputs=json.loads(c["digital_inputs"]),
                relay_outputs=json.loads(c["relay_outputs"]),
                input_connectors=c["input_connectors"], relay_count=c["relay_count"],
                audio_sources=c["audio_sources"], audio_outputs=c["audio_outputs"],
                backchannel=bool(c["backchannel"]),
                checks=[CapabilityCheck(**x) for x in json.loads(c["checks"])],
                event_method=c["event_method"])
        return list(devices.values())

    # -- sightings ------------------------------------------------------------------
    def record_sighting(self, s: Sighting, source: str) -> None:
        """A device answered a probe or said Hello: insert or refresh it, keeping first_seen."""
        stamp = now()
        with self.transaction() as db:
            old = db.execute("SELECT first_seen FROM sightings WHERE endpoint_ref = ?",
                             [s.endpoint]).fetchone()
            self._table(db, "sightings").upsert({
                "endpoint_ref": s.endpoint, "xaddrs": json.dumps(s.xaddrs),
                "scopes": json.dumps(s.scopes), "name": s.name or None,
                "location": s.location or None, "hardware": s.hardware or None,
                "sender": s.senders[0] if s.senders else None, "warning": s.warning,
                "present": 1, "source": source,
                "first_seen": old[0] if old else stamp, "last_seen": stamp}, pk="endpoint_ref")

    def mark_gone(self, endpoint_ref: str) -> None:
        """A device said Bye: it is absent, and what we knew of it stays."""
        with self.transaction() as db:
            db.execute("UPDATE sightings SET present = 0, source = 'bye', last_seen = ? "
                       "WHERE endpoint_ref = ?", [now(), endpoint_ref])

    def sightings(self) -> list[SightingRow]:
        return [SightingRow(r["endpoint_ref"], json.loads(r["xaddrs"]), json.loads(r["scopes"]),
                            r["name"], r["location"], r["hardware"], r["sender"], r["warning"],
                            bool(r["present"]), r["source"], r["first_seen"], r["last_seen"])
                for r in self.db["sightings"].rows_where(order_by="last_seen desc")]

    # -- linked cameras -------------------------------------------------------------
    def set_link(self, device_id: int, camera_id: int, preset_token: str | None,
                 preset_name: str | None, user: str | None) -> None:
        """Link (or re-link with another preset) ``camera_id`` to ``device_id``; order kept."""
        if device_id == camera_id:
            raise ConfigError("a device cannot be linked to itself")
        with self.transaction() as db:
            old = db.execute("SELECT position FROM device_links WHERE device_id = ? AND "
                             "camera_id = ?", [device_id, camera_id]).fetchone()
            if old:
                pos = int(old[0])
            else:
                pos = int(db.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM device_links "
                                     "WHERE device_id = ?", [device_id]).fetchone()[0])
            try:
                self._table(db, "device_links").upsert({
                    "device_id": device_id, "camera_id": camera_id, "position": pos,
                    "preset_token": preset_token, "preset_name": preset_name,
                    "linked_at": now(), "linked_by": user}, pk=("device_id", "camera_id"))
            except sqlite3.IntegrityError:
                raise UnknownDevice(f"device {device_id} or {camera_id} is not registered") from None

    def refresh_preset_token(self, device_id: int, camera_id: int, token: str) -> None:
        """The camera re-made its presets: same name, new token; who linked it and when stay."""
        with self.transaction() as db:
            db.execute("UPDATE device_links SET preset_token = ? WHERE device_id = ? AND "
                       "camera_id = ?", [token, device_id, camera_id])

    def remove_link(self, device_id: int, camera_id: int) -> bool:
        with self.transaction() as db:
            cur = db.execute("DELETE FROM device_links WHERE device_id = ? AND camera_id = ?",
                             [device_id, camera_id])
            return cur.rowcount > 0

    def links(self, device_id: int) -> list[LinkRow]:
        rows = self.db.execute(
            "SELECT l.device_id, l.camera_id, d.name, l.position, l.preset_token, l.preset_name, "
            "l.linked_at, l.linked_by FROM device_links l JOIN devices d ON d.id = l.camera_id "
            "WHERE l.device_id = ? ORDER BY l.position", [device_id]).fetchall()
        return [LinkRow(*r) for r in rows]

    # -- event rules ----------------------------------------------------------------
    def event_rules(self, device_id: int) -> str | None:
        row = self.db.execute("SELECT rules FROM device_event_rules WHERE device_id = ?",
                              [device_id]).fetchone()
        return str(row[0]) if row else None

    def set_name_and_place(self, device_id: int, name: str, area: str,
                           location: str | None) -> None:
        """A device's name, area (made if new) and place within it, in one transaction. The
        name is checked free inside it too: two desks naming two cameras alike at one instant
        both passed the caller's check, and the second must still be refused."""
        with self.transaction() as db:
            names = dict(db.execute("SELECT id, name FROM devices").fetchall())
            if names.get(device_id) != name:  # renamed (a move keeps whatever name it has)
                taken = [n for d, n in names.items()
                         if d != device_id and n.casefold() == name.casefold()]
                if taken:
                    raise ConfigError(f"another device is already called '{taken[0]}': choose "
                                      "another name")
            db.execute("UPDATE devices SET name = ?, area_id = ?, location = ? WHERE id = ?",
                       [name, self._area_id(db, area), location, device_id])

    def set_allow_basic_rtsp(self, device_id: int, allow: bool) -> None:
        with self.transaction() as db:
            db.execute("UPDATE devices SET allow_basic_rtsp = ? WHERE id = ?",
                       [int(allow), device_id])

    def set_event_rules(self, device_id: int, rules: str | None, user: str | None) -> None:
        """Store a device's own rules (JSON text, already checked); None goes back to defaults."""
        with self.transaction() as db:
            if rules is None:
                db.execute("DELETE FROM device_event_rules WHERE device_id = ?", [device_id])
                return
            self._table(db, "device_event_rules").upsert({
                "device_id": device_id, "rules": rules, "changed_at": now(),
                "changed_by": user}, pk="device_id")


MAX_LABEL = 80


def label(text: str, what: str) -> str:
    """A name, area or place as typed, with its spaces tidied; refused if it holds control
    characters or is longer than a tree, a tile caption or an audit line can show."""
    if any(not ch.isprintable() and not ch.isspace() for ch in text):
        raise ConfigError(f"the {what} holds characters that cannot be shown")
    text = " ".join(text.split())
    if len(text) > MAX_LABEL:
        raise ConfigError(f"the {what} is {len(text)} characters long: {MAX_LABEL} at most")
    return text
