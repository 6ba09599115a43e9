"""The desktop's themes: one dark style sheet, and a high-contrast variant a user may choose
(``vms.access.preferences``). Every window and every journey's screenshot uses one of these."""

from __future__ import annotations

import resources
from vms.access.preferences import THEMES

_FILES = {"dark": "styles/app.qss", "high-contrast": "styles/high-contrast.qss"}
assert set(_FILES) == set(THEMES), "a theme without a style sheet"


def theme(name: str = "dark") -> str:
    """The style sheet of theme ``name`` (the dark one for a name this build does not know)."""
    return resources.path(_FILES.get(name, _FILES["dark"])).read_text(encoding="utf-8")
