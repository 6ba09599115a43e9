"""Beacon VMS desktop (PySide6). Widgets observe core objects and call core services;
no business logic here, no blocking call on the GUI thread (see docs/threading.md)."""
