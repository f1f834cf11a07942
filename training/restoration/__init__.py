"""Training Revive's restoration models: the damage detector (``detector_trainer``), trained on
clean photos with damage drawn on the fly (``engine.restoration.damage``)."""
