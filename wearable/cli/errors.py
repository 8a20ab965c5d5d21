"""User errors of the ``wearable`` command: refused with exit 2 and one line, no traceback.

A user error is something the person running the command can fix: a bad argument, a
path that cannot be written, a radio hub that is not running, a port in use, a full
disk. Two layers keep them from ending in a traceback:

* argparse types (:func:`positive_int`, :func:`positive_float`, :func:`duration_arg`,
  :func:`positive_duration`, :func:`output_dir`, :func:`writable_file`) refuse bad
  arguments before anything runs, as argparse's own errors do (exit 2, the usage and one
  line naming the option);
* :func:`user_error_message` recognises the exceptions that mean a user error wherever
  they are raised, so ``wearable.cli.main`` prints ``wearable <command>: <message>`` and
  exits 2. Anything else is a bug and keeps its traceback.

The exception types of the roles are looked up in ``sys.modules`` instead of being
imported here: a gateway started from this program must not load the simulator (and
scipy) to classify an error, and an exception of a module that was never imported
cannot have been raised.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path

#: Exit status of every user error (as argparse uses for bad arguments).
EXIT_USAGE = 2

#: Exceptions of the roles whose message already names the problem and the fix.
_USER_ERROR_TYPES: tuple[tuple[str, str], ...] = (
    ("firmware_sim.scenario", "ScenarioError"),
    ("firmware_sim.recording", "RecordingError"),
    ("gateway.config", "ConfigError"),
    ("gateway.store.errors", "StoreError"),
    ("gateway.privacy.pseudonym", "PseudonymKeyError"),
    ("bumble_radio.address", "RadioError"),
    ("wearable_core.buckets.base", "BucketConfigError"),
    ("wearable.demo.workspace", "WorkspaceError"),
)

#: SQLite's result code for "database or disk is full" (``sqlite3.Error.sqlite_errorcode``).
_SQLITE_FULL = 13

# What to do about an operating-system error, by errno; the message adds the path.
_OS_FIXES: dict[int, str] = {
    errno.ENOSPC: "the disk is full: free space on it (or choose a path on another disk)",
    errno.EDQUOT: "the disk quota is exhausted: free space (or choose another path)",
    errno.EROFS: "the file system is read-only: choose a writable location",
    errno.EACCES: "permission denied: choose a location this user can write, or fix its mode",
    errno.EPERM: "operation not permitted: choose a location this user can write",
    errno.ENOENT: "no such file or directory: check the path",
    errno.ENOTDIR: "a part of the path is a file, not a directory: check the path",
    errno.EISDIR: "it is a directory: pass a file path",
    errno.EEXIST: "it already exists and is not a directory: choose another path",
    errno.EADDRINUSE: "the address is in use: stop the other program or choose another port",
    errno.ECONNREFUSED: "connection refused: start the server, or fix the address",
    errno.EHOSTUNREACH: "host unreachable: check the address and the network",
    errno.ENETUNREACH: "network unreachable: check the address and the network",
}


class UsageError(Exception):
    """A user error raised by a command; its message names the problem and the fix."""


def user_error_message(error: BaseException) -> str | None:
    """The one-line message for ``error`` when it is a user error, else ``None`` (a bug).

    Examples
    --------
    >>> user_error_message(OSError(errno.ENOSPC, "No space left on device", "/data/x"))
    '/data/x: the disk is full: free space on it (or choose a path on another disk)'
    >>> user_error_message(KeyError("a bug")) is None
    True
    """
    if isinstance(error, UsageError):
        return str(error)
    for module_name, class_name in _USER_ERROR_TYPES:
        module = sys.modules.get(module_name)
        kind = getattr(module, class_name, None) if module is not None else None
        if isinstance(kind, type) and isinstance(error, kind):
            return str(error)
    sqlite3 = sys.modules.get("sqlite3")
    if (
        sqlite3 is not None
        and isinstance(error, sqlite3.Error)
        and getattr(error, "sqlite_errorcode", None) == _SQLITE_FULL
    ):
        return f"{error}: {_OS_FIXES[errno.ENOSPC]}"
    if isinstance(error, OSError) and error.errno in _OS_FIXES:
        where = error.filename if error.filename is not None else None
        fix = _OS_FIXES[error.errno]
        return f"{where}: {fix}" if where is not None else f"{error.strerror or error}: {fix}"
    return None


def command_name(args: argparse.Namespace) -> str:
    """``wearable`` and the (sub)commands of ``args``, e.g. ``wearable sim watches``."""
    # argparse sets each subparser's dest in parse order: command, then its subcommand.
    words = [value for key, value in vars(args).items() if key.endswith("command")]
    return " ".join(["wearable", *(w for w in words if isinstance(w, str))])


# ------------------------------------------------------------------- argparse types


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (a count of watches, of devices)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (e.g. 3)") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _number(text: str, example: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (e.g. {example})") from None


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (a speed, a number of seconds)."""
    value = _number(text, "2.5")
    # `not value > 0` also refuses NaN; inf would never finish.
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a finite number > 0 (e.g. 1 or 60)")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a finite number >= 0 (an added delay)."""
    value = _number(text, "20")
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a finite number >= 0 (e.g. 0 or 20)")
    return value


def duration_arg(text: str) -> int:
    """argparse type: how long to simulate (``600``, ``90s``, ``15min``, ``6h``, ``2d``).

    Every command's simulated ``--duration`` reads the same grammar and rounds the same
    way (:func:`wearable_core.units.simulated_duration`: up to whole minutes).

    Examples
    --------
    >>> duration_arg("1d"), duration_arg("90"), duration_arg("1h30min")
    (86400, 120, 5400)
    """
    from wearable_core.units import simulated_duration

    try:
        return simulated_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_duration(text: str) -> float:
    """argparse type: a time span > 0 in seconds, as a number or text (``2.5``, ``90s``, ``2min``).

    Examples
    --------
    >>> positive_duration("2min"), positive_duration("2.5")
    (120.0, 2.5)
    """
    from wearable_core.units import duration_parse

    try:
        seconds = duration_parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0 s (e.g. 2.5, 90s, 2min)")
    return seconds


def _writable_ancestor(path: Path) -> str | None:
    """Why ``path`` (which does not exist) cannot be created, or ``None`` when it can.

    The nearest existing ancestor must be a directory this user may write: the command
    creates the missing directories below it.
    """
    here = path.parent
    while not here.exists() and here != here.parent:
        here = here.parent
    if not here.is_dir():
        return f"{here} is a file, not a directory: choose another path"
    if not os.access(here, os.W_OK | os.X_OK):
        return f"cannot create it in {here} (not writable by this user): choose another path"
    return None


def output_dir(text: str) -> Path:
    """argparse type: a directory to write into (created when missing).

    Refuses an existing file, a directory this user cannot write and a path whose
    nearest existing ancestor is a file or not writable.
    """
    path = Path(text)
    if path.exists():
        if not path.is_dir():
            raise argparse.ArgumentTypeError(
                f"{path} is a file, not a directory: pass a directory (it is created if missing)"
            )
        if not os.access(path, os.W_OK | os.X_OK):
            raise argparse.ArgumentTypeError(
                f"{path} is not writable by this user: choose another directory"
            )
        return path
    problem = _writable_ancestor(path)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{path}: {problem}")
    return path


def writable_file(text: str) -> Path:
    """argparse type: a file to create or update (a store), not a directory.

    Refuses a directory, an existing file this user cannot write and a path that cannot
    be created (its nearest existing ancestor is a file or not writable).
    """
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{path} is a directory: pass the path of a file in it, e.g. {path / 'gateway.sqlite'}"
        )
    if path.exists():
        if not os.access(path, os.W_OK):
            raise argparse.ArgumentTypeError(
                f"{path} is not writable by this user: fix its owner or mode, or choose another"
            )
        return path
    problem = _writable_ancestor(path)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{path}: {problem}")
    return path
