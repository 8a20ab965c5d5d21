"""The README's "Scheduling training" block, followed step by step on a fresh bucket, publishes.

The commands are read from README.md itself, so the test and the README cannot drift:
only the bucket URL, the secrets directory and the examples' paths are substituted, and
the cohort commands get a shorter ``--duration`` to keep the run short. Then a gateway's
own updater installs the published release.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from gateway.model_update import ModelDirectory, ModelUpdater
from wearable.cli import main as wearable_main
from wearable_core.buckets import bucket_open
from wearable_core.contracts.model_release import public_key_parse

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SECTION = "## Scheduling training"
DOC_BUCKET = "gs://my-bucket/site-a"
PROGRAM = ".venv/bin/wearable"
DURATION = "6h"


def readme_commands() -> list[list[str]]:
    """The ``wearable`` commands of the section's first ``sh`` block, as argument lists."""
    text = README.read_text("utf-8")
    section = text[text.index(SECTION) :]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "no sh block in the README's Scheduling training section"
    joined = block.group(1).replace("\\\n", " ")
    commands: list[list[str]] = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            assert words[0] == PROGRAM, line
            commands.append(words[1:])
    return commands


def test_the_readme_block_is_the_documented_setup() -> None:
    commands = readme_commands()
    assert [c[:2] for c in commands] == [
        ["keys", "generate"],
        ["train", "cohort"],
        ["train", "cohort"],
        ["train", "--bucket"],
        ["train", "rollback"],
    ]


@pytest.mark.e2e
def test_the_readme_path_publishes_a_release_the_gateway_installs(tmp_path: Path) -> None:
    bucket_dir = tmp_path / "bucket"
    secrets = tmp_path / "secrets"

    def local(word: str) -> str:
        if word == DOC_BUCKET:
            return str(bucket_dir)
        if word.startswith("secrets/"):
            return str(secrets) + "/" + word.removeprefix("secrets/")
        if word.startswith("examples/"):
            return str(ROOT / word)
        return word

    # Setup: keys, training cohort, validation cohort, the first run. Not rollback.
    setup = [c for c in readme_commands() if c[:2] != ["train", "rollback"]]
    for command in setup:
        argv = [local(word) for word in command]
        if argv[:2] == ["train", "cohort"]:
            argv += ["--duration", DURATION]
        assert wearable_main(argv) == 0, argv

    public = (secrets / "model-signing.pub").read_text("utf-8").strip()
    bucket = bucket_open(str(bucket_dir))
    updater = ModelUpdater(
        bucket,
        ModelDirectory(tmp_path / "models"),
        public_key_parse(public),
        serving_version="baseline-3",
    )
    result = updater.check()
    assert result.status == "installed", result
    assert result.version is not None and result.version.startswith("m-")
