"""Files and directories only their owner may read: secrets and the gateway's store.

The gateway's store names the devices it saw, its bond file holds BLE long-term and
identity keys (LTK, IRK), the pseudonym key unmasks every upload, and the signing key
signs model releases. Each is created here, mode 0600 (directories 0700), whatever the
process's umask: the mode is given at creation, where the umask can only remove bits,
and set again with ``fchmod``/``chmod``, so it never depends on the umask. A file is
never readable by others, not even for the moment between its creation and a chmod.

Examples
--------
>>> import tempfile
>>> base = Path(tempfile.mkdtemp())
>>> key = private_write(private_dir(base / "state" / "keys") / "secret.key", b"x" * 32)
>>> oct(key.stat().st_mode & 0o777), oct(key.parent.stat().st_mode & 0o777)
('0o600', '0o700')
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

#: Mode of every private file: read and write for the owner only.
PRIVATE_FILE_MODE = 0o600
#: Mode of every directory created for private files.
PRIVATE_DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents with mode 0700; return ``path``.

    Directories that already exist are left as they are (``/var/lib``, a working
    directory): only what this call creates is made private.
    """
    missing: list[Path] = []
    here = Path(path)
    while not here.exists():
        missing.append(here)
        if here.parent == here:
            break
        here = here.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # created meanwhile by someone else: theirs to set
        os.chmod(directory, PRIVATE_DIR_MODE)
    return Path(path)


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists as a private file (mode 0600); return ``path``.

    A missing file is created empty, mode 0600 from the start; an existing one keeps
    its content and loses any group or other permission (when this user owns it). For
    files another program fills in afterwards, such as a SQLite database: created
    private here, it never exists with a wider mode.

    An existing file is changed through its path, never opened: closing any descriptor
    of a file drops every POSIX lock this process holds on it, SQLite's included.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    except FileExistsError:
        private_tighten(path)
        return Path(path)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)  # a new file: no one else holds a lock on it
    finally:
        os.close(fd)
    return Path(path)


def private_tighten(path: Path) -> bool:
    """Remove group and other permissions from an existing file; False if it is missing.

    For files a library created beside a private one (SQLite's ``-wal`` and ``-shm``).
    Works on the path (``stat``, ``chmod``) and never opens the file, so SQLite's POSIX
    locks on it in this process stay in place.
    """
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return False
    if mode & ~PRIVATE_FILE_MODE:
        with contextlib.suppress(PermissionError, FileNotFoundError):  # not ours / gone
            os.chmod(path, mode & PRIVATE_FILE_MODE)
    return True


def private_write(path: Path, data: bytes, *, exclusive: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (a fsynced temp file, then rename), mode 0600.

    With ``exclusive``, raise :class:`FileExistsError` instead of replacing an existing
    file (the check and the creation are one atomic link, so two writers cannot both
    win). Returns ``path``.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    try:
        if exclusive:
            os.link(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
