"""Import onvif-zeep-async on our terms.

The library calls ``logging.basicConfig(INFO)`` at import and parses replies with
``xml_huge_tree`` on; we undo the first and turn the second off, once, here.
Replies are also vetted for DTDs/entities and size before zeep sees them
(``vms.onvif.http.vet_reply``).
"""

from __future__ import annotations

import logging

_root = logging.getLogger()
_handlers = list(_root.handlers)
_level = _root.level

import onvif  # noqa: E402
import onvif.client  # noqa: E402
from onvif.definition import SERVICES  # noqa: E402
from onvif.settings import DEFAULT_SETTINGS  # noqa: E402

for _h in list(_root.handlers):
    if _h not in _handlers:
        _root.removeHandler(_h)
_root.setLevel(_level)
logging.getLogger("onvif").setLevel(logging.WARNING)

DEFAULT_SETTINGS.xml_huge_tree = False
DEFAULT_SETTINGS.forbid_entities = True
DEFAULT_SETTINGS.forbid_external = True

ONVIFCamera = onvif.ONVIFCamera
ONVIFService = onvif.client.ONVIFService
ONVIFError = onvif.ONVIFError
# The library's WS-UsernameToken (PasswordDigest, Zulu time, shifted by the device clock offset).
UsernameToken = onvif.client.UsernameDigestTokenDtDiff
__all__ = ["SERVICES", "ONVIFCamera", "ONVIFError", "ONVIFService", "UsernameToken"]
