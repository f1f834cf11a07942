"""Training data: photo folders, the dataset check, augmentation, simulated hints."""
