"""The demo's working directory: bucket, signing key, gateway configuration.

Everything the whole-loop demo writes goes under one directory (default ``demo-run/``)
so a newcomer can open the notebooks on it afterwards::

    demo-run/
      bucket/                   the "cloud": a local-directory bucket
      secrets/                  the model-signing key pair (wearable keys generate)
      gateway-store/            the gateway's SQLite store, privacy key, installed models
      train/                    the training job's reports (JSON, as printed)
      summary.json, report.html

The bucket starts with the labelled cohorts shipped in ``examples/demo/cohorts`` (made by
the commands recorded in their index, ``docs/demo.md``), so the demo does not spend
minutes simulating them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from gateway.config import GatewayConfig, ModelsConfig, SyncConfig
from wearable.cli.keys import PRIVATE_FILE, keys_generate

#: The repository's examples folder (the demo runs from a checkout).
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: Labelled cohorts copied into the demo bucket (``cohorts/<split>/`` layout).
SHIPPED_COHORTS = EXAMPLES / "demo" / "cohorts"
#: A marker that says a directory was made by the demo (and may be replaced by it).
MARKER = ".wearable-demo"


class WorkspaceError(Exception):
    """The output directory cannot be used (the message says why and what to do)."""


@dataclass(frozen=True)
class Workspace:
    """Paths of one demo run."""

    root: Path

    @property
    def bucket(self) -> Path:
        return self.root / "bucket"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def private_key(self) -> Path:
        return self.secrets / PRIVATE_FILE

    @property
    def store(self) -> Path:
        return self.root / "gateway-store" / "gateway.sqlite"

    @property
    def reports(self) -> Path:
        return self.root / "train"

    @property
    def log(self) -> Path:
        """The gateway's log (every log line of the demo's process)."""
        return self.root / "gateway.log"


def workspace_prepare(root: Path, seed: int = 0) -> tuple[Workspace, str]:
    """Create a fresh workspace at ``root``; return it and the public signing key.

    A directory an earlier demo made (it holds :data:`MARKER`) is replaced; any other
    non-empty directory is refused, so the demo never deletes a user's files. The
    gateway's pseudonym key is derived from ``seed`` (a real gateway draws a random one):
    it decides which unremarkable windows are sampled for upload, hence what the training
    job learns from, so the same seed gives the same run.

    Raises
    ------
    WorkspaceError
        ``root`` is a file, or a non-empty directory the demo did not make.
    """
    if root.exists():
        if not root.is_dir():
            raise WorkspaceError(f"--out {root} is a file: pass a directory")
        if any(root.iterdir()) and not (root / MARKER).exists():
            raise WorkspaceError(
                f"--out {root} is a non-empty directory the demo did not make: "
                "pass a new or empty directory"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / MARKER).write_text("made by `wearable demo`; replaced by the next run\n")
    space = Workspace(root)
    shutil.copytree(SHIPPED_COHORTS, space.bucket / "cohorts")
    public = keys_generate(space.secrets)
    space.store.parent.mkdir(parents=True)
    key = hashlib.sha256(f"wearable-demo-pseudonym-key:{seed}".encode()).digest()
    fd = os.open(space.store.parent / "pseudonym.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    space.reports.mkdir()
    return space, public


def gateway_config(space: Workspace, public_key: str, speed: float) -> GatewayConfig:
    """The gateway's configuration for the demo: the in-process radio, the demo bucket.

    Sync runs every 2 s of wall time; windows are batched per simulated hour (the
    gateway clock is the simulation's), like a gateway with ``batch_interval_s = 3600``.
    Detection waits up to 5 s of *wall* time for a late stream: ``max_wait_s`` is in
    gateway-clock seconds, and its default of 120 s is 1 s of wall time at 120x, less
    than the radio's lag. Windows were then assessed before all their data arrived (a
    run at 120x under load raised an AF alert in a motion artefact whose windows had been
    assessed half-empty, so no fault was flagged).
    """
    base = GatewayConfig()
    return dataclasses.replace(
        base,
        detection=dataclasses.replace(base.detection, max_wait_s=max(120.0, 5.0 * speed)),
        store=dataclasses.replace(base.store, path=space.store),
        ble=dataclasses.replace(
            base.ble, radio="", backoff_initial_s=0.5, backoff_max_s=2.0, watchdog_s=10.0
        ),
        sync=SyncConfig(bucket=str(space.bucket), interval_s=2.0, batch_interval_s=3600.0),
        models=ModelsConfig(public_key=public_key),
    )
