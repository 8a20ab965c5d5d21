"""The bond store: bumble's JSON key store, written private (mode 0600, directory 0700).

The file holds every bonded device's long-term and identity-resolving keys (LTK, IRK):
with them anyone can decrypt the recorded traffic and track the watch. bumble's own
``JsonKeyStore.save`` writes a temporary file under the process's umask (0644 by
default) and renames it; :class:`PrivateJsonKeyStore` writes the same JSON through
:func:`wearable_core.private_files.private_write` instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bumble.keys import JsonKeyStore

from wearable_core.private_files import private_dir, private_tighten, private_write


class PrivateJsonKeyStore(JsonKeyStore):
    """A bumble ``JsonKeyStore`` whose file is only ever readable by its owner."""

    def __init__(self, namespace: str | None = None, filename: str | None = None) -> None:
        super().__init__(namespace, filename)
        # A bond file written by an older gateway under a wider umask.
        private_tighten(Path(self.filename))

    async def save(self, db: dict[str, dict[str, dict[str, Any]]]) -> None:
        """Write ``db`` as bumble does (sorted keys, indent 4), atomically and mode 0600."""
        private_dir(Path(self.directory_name))
        data = json.dumps(db, sort_keys=True, indent=4).encode("utf-8")
        private_write(Path(self.filename), data)
