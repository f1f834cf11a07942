"""Colour hints: the hint file schema, rendering, adjustments, and per-photo storage."""
