"""Hostile XML is refused; real cameras' XML (../shared captures) is read."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.conftest import shared_path
from vms.errors import UnsafeXml
from vms.safety import xmlsafe

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<lolz>&lol3;</lolz>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"""


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_documents_with_entities_are_refused(doc: bytes) -> None:
    with pytest.raises(UnsafeXml):
        xmlsafe.parse(doc)


def test_malformed_xml_raises_syntax_error() -> None:
    with pytest.raises(etree.XMLSyntaxError):
        xmlsafe.parse(b"<Envelope><Body></Envelope>")


def test_every_real_camera_capture_parses() -> None:
    root = shared_path("data/onvif-captures")
    files = sorted(root.rglob("*.xml"))
    assert len(files) >= 90, f"expected the 98 captures, found {len(files)}"
    for f in files:
        tree = xmlsafe.parse(f.read_bytes())
        assert etree.QName(tree).localname, f
