"""Domain errors of the engine. Each carries a message a user can act on.

The command line prints ``str(error)`` on one line; the GUI shows it in a dialog or a row's status.
"""


class ReviveError(Exception):
    """Base class of every error the engine raises on purpose."""


class UnsupportedImage(ReviveError):
    """A file that cannot be read as a photo (not an image, truncated, odd format)."""


class ImageTooLarge(UnsupportedImage):
    """An image whose pixel count is over the decompression-bomb guard."""


class OutputError(ReviveError):
    """An output that cannot be written (read-only folder, disk full, would overwrite an input)."""


class ModelFileError(ReviveError):
    """A model file that is damaged, foreign, or unsafe to load."""


class ModelNotFound(ReviveError):
    """A model name or path that matches no installed model."""


class DeviceError(ReviveError):
    """A requested device that this machine does not have."""


class OutOfMemory(ReviveError):
    """The device ran out of memory; the message names the fix."""


class ClusterError(ReviveError):
    """A Ray cluster that cannot be used: the extra not installed, no cluster at the address, too
    few resources for the workers asked for, or workers that cannot reach the photos."""


class Cancelled(ReviveError):
    """The user cancelled the operation."""


def describe_error(error: BaseException) -> str:
    """One line for people: a domain error's own message, memory exhaustion with its fix, anything
    else by its type (a bug: the caller should log its traceback)."""
    if isinstance(error, ReviveError):
        return str(error)
    if isinstance(error, MemoryError):
        return "not enough memory for this photo: try a smaller render size"
    return f"unexpected error ({type(error).__name__}: {error})"


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, or its type name when it has none."""
    return (str(error) or type(error).__name__).splitlines()[0]


_CONTROL = {i: f"\\x{i:02x}" for i in range(32)} | {0x7F: "\\x7f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}


def printable(text: object) -> str:
    """``text`` on one line: newlines, tabs and other control characters (in a file name, say)
    shown as escapes, as ``ls -b`` does, so one message is one line."""
    return str(text).translate(_CONTROL)
