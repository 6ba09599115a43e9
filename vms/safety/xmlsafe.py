"""XML parsing that refuses DTDs and entities.

Camera replies and SOAP requests come from the network; an entity can expand
into gigabytes ("billion laughs") or read local files (XXE). We refuse any
document that carries a DOCTYPE at all, before lxml builds a tree, and parse
with entity resolution, DTD loading and network access off as a second guard.
"""

from __future__ import annotations

import re

from lxml import etree

from vms.errors import UnsafeXml

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_blank_text=False,
)
# A DOCTYPE may only appear in the prolog, before the root element.
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
MAX_BYTES = 4 * 1024 * 1024


def parse(data: bytes) -> etree._Element:
    """Parse ``data`` or raise ``UnsafeXml`` / ``etree.XMLSyntaxError``."""
    if len(data) > MAX_BYTES:
        raise UnsafeXml(f"XML document of {len(data)} bytes is larger than {MAX_BYTES}")
    if _DOCTYPE.search(data):
        raise UnsafeXml("XML with a DOCTYPE (DTDs and entities) is refused")
    root = etree.fromstring(data, parser=_PARSER)
    # Belt and braces: an entity reference that slipped through stays unexpanded.
    for node in root.iter():
        if isinstance(node, etree._Entity):
            raise UnsafeXml("XML entity references are refused")
    return root
