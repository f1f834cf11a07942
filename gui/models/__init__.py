"""Qt-free logic of the app: plain data and arithmetic, tested without Qt."""
