"""Revive's desktop app (PySide6). Entry point: ``gui.app.run_app``."""
