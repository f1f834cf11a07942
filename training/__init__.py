"""Training: the base colorizer (``base_trainer``) and CycleGAN fine-tuning. No Qt here."""
