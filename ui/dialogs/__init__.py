"""Dialogs: each observes core objects and calls core services, nothing more."""
