"""Beacon VMS core: everything that is not a widget.

Nothing in this package may import Qt (PySide6, shiboken6, pyqtgraph) or ``ui``;
``tests/test_core_has_no_qt.py`` enforces it so the core runs headless (the
recorder service, the simulator, the command line) and stays testable without a display.
"""

__version__ = "0.1.0"
