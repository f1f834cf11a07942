"""The training wizard: its pages, curves and the training run."""
