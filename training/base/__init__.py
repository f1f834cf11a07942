"""Training the base colorizer from colour photos."""
