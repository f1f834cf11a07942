"""The training commands of the command line (imported only by main.py)."""
