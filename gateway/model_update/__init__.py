"""Signed model delivery: poll the bucket's release pointer, verify, install, roll back.

``ModelUpdater(bucket, ModelDirectory(root), public_key).check()`` once per sync cycle;
format and checks: ``docs/formats/model_release.md``.
"""

from gateway.model_update.delivery import ModelUpdater, UpdateResult
from gateway.model_update.installed import InstalledModel, ModelDirectory, ModelDirectoryError

__all__ = [
    "InstalledModel",
    "ModelDirectory",
    "ModelDirectoryError",
    "ModelUpdater",
    "UpdateResult",
]
