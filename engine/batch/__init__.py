"""Batches: settings, the folder walk, planning, the output ledger, running, progress."""
