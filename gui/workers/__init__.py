"""Work off the GUI thread: the inference worker and pool tasks (thin adapters over the engine)."""
