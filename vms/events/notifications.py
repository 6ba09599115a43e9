"""WS-BaseNotification messages as cameras send them, read without trusting their shape.

Cameras disagree on prefixes (``tns1`` is a convention, not a rule), on the topic
dialect, and on where ``tt:Message`` sits; Axis wraps the same messages in a
``tt:MetadataStream``. We resolve the topic's prefixes through the element's own
namespace map and keep local names only, so ``tns1:Device/tnsaxis:IO/Port`` is
``Device/IO/Port`` whatever the prefixes were called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

NS_TOPICS = "http://www.onvif.org/ver10/topics"


@dataclass(frozen=True)
class Notification:
    """One NotificationMessage: its topic (raw and as local names) and its simple items."""

    topic_raw: str
    topic: str  # local names joined by "/": Device/Trigger/DigitalInput
    utc: datetime | None
    operation: str  # Initialized, Changed, Deleted or "" (a pulse, e.g. a line crossing)
    source: dict[str, str] = field(default_factory=dict)
    key: dict[str, str] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)
    vendor_ns: tuple[str, ...] = ()  # namespaces of the topic's parts other than ONVIF's


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def parse_time(text: str | None) -> datetime | None:
    """xs:dateTime as cameras write it: with Z, an offset, fractions, or no zone (UTC)."""
    if not text:
        return None
    t = text.strip().replace("z", "Z")
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    if "." in t:  # Python wants at most 6 fraction digits
        head, _, rest = t.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits):]
        t = f"{head}.{(digits + '000000')[:6]}{zone}"
    try:
        d = datetime.fromisoformat(t)
    except ValueError:
        return None
    return d.replace(tzinfo=UTC) if d.tzinfo is None else d.astimezone(UTC)


def topic_path(el: etree._Element) -> tuple[str, tuple[str, ...]]:
    """``tns1:Device/tnsaxis:IO/Port`` -> ("Device/IO/Port", (axis namespace,))."""
    raw = "".join(el.itertext()).strip()
    parts, vendors = [], []
    for part in raw.split("/"):
        part = part.strip()
        if not part or part == ".":
            continue
        prefix, _, name = part.rpartition(":")
        if prefix:
            ns = el.nsmap.get(prefix)
            if ns and ns != NS_TOPICS and ns not in vendors:
                vendors.append(ns)
        parts.append(name)
    return "/".join(parts), tuple(vendors)


def _items(parent: etree._Element | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if parent is None:
        return out
    for item in parent:
        if _local(item) == "SimpleItem" and item.get("Name") is not None:
            out[item.get("Name", "")] = (item.get("Value") or "").strip()
        elif _local(item) == "ElementItem" and item.get("Name") is not None:
            out[item.get("Name", "")] = etree.tostring(item, encoding="unicode")[:200]
    return out


def _child(el: etree._Element | None, name: str) -> etree._Element | None:
    if el is None:
        return None
    return next((c for c in el if _local(c) == name), None)


def read_message(nm: etree._Element) -> Notification | None:
    """One ``wsnt:NotificationMessage`` element, or None when it has no topic."""
    topic_el = _child(nm, "Topic")
    if topic_el is None:
        return None
    topic, vendors = topic_path(topic_el)
    if not topic:
        return None
    wrapper = _child(nm, "Message")
    msg = _child(wrapper, "Message") if wrapper is not None else None
    if msg is None:
        msg = wrapper  # some devices put the items straight inside wsnt:Message
    raw = "".join(topic_el.itertext()).strip()
    if msg is None:
        return Notification(raw, topic, None, "", vendor_ns=vendors)
    return Notification(
        topic_raw=raw, topic=topic, utc=parse_time(msg.get("UtcTime")),
        operation=msg.get("PropertyOperation") or "",
        source=_items(_child(msg, "Source")), key=_items(_child(msg, "Key")),
        data=_items(_child(msg, "Data")), vendor_ns=vendors)


def read_all(root: etree._Element) -> list[Notification]:
    """Every notification in a PullMessagesResponse, a Notify, a metadata stream or an envelope."""
    out = []
    for nm in root.iter("{*}NotificationMessage"):
        n = read_message(nm)
        if n is not None:
            out.append(n)
    return out
