"""CycleGAN fine-tuning on a user's unpaired folders."""
