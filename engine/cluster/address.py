"""Checking a Ray cluster address and whether Ray is installed, without importing Ray.

Shared by the ``colorize --cluster ADDRESS`` option and the app's batch panel, so both refuse the
same addresses with the same one line, before anything starts.
"""

from __future__ import annotations

import importlib.util
import re
import socket

from engine.cluster import INSTALL_HINT

ADDRESS_FORMS = "local, auto or ray://HOST:10001"
_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
_RAY_CLIENT = re.compile(rf"ray://(?P<host>{_HOST})(?::(?P<port>\d{{1,5}}))?/?")
_HEAD = re.compile(rf"(?P<host>{_HOST}):(?P<port>\d{{1,5}})")  # a head node's address, as `ray start` prints it


def address_problem(address: str) -> str | None:
    """Why ``address`` is not a Ray cluster address, in one line, or None. Accepted: "local" (start
    Ray on this machine), "auto" (the cluster this machine is a node of), "ray://HOST[:PORT]" (Ray
    Client) and "HOST:PORT" (a head node, as ``ray start --head`` prints it)."""
    text = address.strip()
    if not text:
        return f"give the Ray cluster's address ({ADDRESS_FORMS})"
    if text != address or any(c.isspace() for c in text):
        return f"a Ray cluster address has no spaces: {address!r} ({ADDRESS_FORMS})"
    if text in ("local", "auto"):
        return None
    match = _RAY_CLIENT.fullmatch(text) or _HEAD.fullmatch(text)
    if match is None:
        return f"not a Ray cluster address: {text!r} (use {ADDRESS_FORMS})"
    port = match.group("port")
    if port is not None and not 1 <= int(port) <= 65535:
        return f"the port of {text!r} must be between 1 and 65535"
    return None


def ray_missing() -> str | None:
    """The install line when Ray is not installed, else None (looks for it without importing it)."""
    return INSTALL_HINT if importlib.util.find_spec("ray") is None else None


REACH_SECONDS = 5.0
RAY_CLIENT_PORT = 10001  # Ray Client's default, when ray://HOST gives none


def unreachable(address: str, seconds: float = REACH_SECONDS) -> str | None:
    """Why nothing answers at a HOST:PORT or ray://HOST[:PORT] address, in one line, or None (it
    answers, or the address is "local" or "auto"). Ray itself retries an unreachable head for
    minutes (20 tries of about 36 s) before it says so; a plain TCP connection says it at once."""
    match = _RAY_CLIENT.fullmatch(address) or _HEAD.fullmatch(address)
    if match is None:
        return None
    host = match.group("host").strip("[]")
    port = int(match.group("port") or RAY_CLIENT_PORT)
    try:
        with socket.create_connection((host, port), timeout=seconds):
            return None
    except OSError as error:
        reason = "no answer" if isinstance(error, TimeoutError) else (error.strerror or str(error))
        return (
            f"cannot reach the Ray cluster at {address} ({reason}): start one with `ray start --head`,"
            f" or give its address ({ADDRESS_FORMS})"
        )
