"""Colorization models: architectures, model files and cards, the registry, the Colorizer."""
