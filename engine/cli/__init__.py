"""The command line's commands (imported only by main.py) and what they share."""
