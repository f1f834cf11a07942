"""Restoration before colour in the app: the Restore tab, the damage-mask overlay, the compare choice."""
