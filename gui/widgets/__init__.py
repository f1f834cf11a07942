"""Widgets: one widget class per module."""
