"""Build the baseline model that ships with the gateway, reproducibly.

``python -m wearable.baseline`` simulates the training cohort
(``examples/train.toml``, its own seed), extracts window features with the gateway's own
code, trains the seeded model, converts it (dynamic-range, builtin ops only), checks
Keras against LiteRT, and writes ``wearable_core/models/baseline.tflite`` and its manifest
``baseline.json``. On one machine the same command gives the same bytes; on another
x86-64 CPU the same recipe and an equivalent model (``docs/model.md``, "Same seed, same
bytes"); tests check both.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from cloud_training.dataset import dataset_from_export
from cloud_training.train import convert, indices_split, model_train, parity
from firmware_sim.export import scenario_export
from firmware_sim.scenario import scenario_load
from wearable_core.contracts.model_release import manifest_header

REPO = Path(__file__).resolve().parents[1]
TRAIN_SCENARIO = REPO / "examples" / "train.toml"
MODELS_DIR = REPO / "wearable_core" / "models"
MODEL_FILE = "baseline.tflite"
MANIFEST_FILE = "baseline.json"
SEED = 20261126
VERSION = "baseline-3"


def baseline_build(out_dir: Path, scenario_path: Path = TRAIN_SCENARIO) -> dict[str, Any]:
    """Train, convert and check the baseline; write the model and manifest to ``out_dir``."""
    scenario = scenario_load(scenario_path)
    with tempfile.TemporaryDirectory(prefix="baseline-export-") as tmp:
        scenario_export(scenario, tmp)
        data = dataset_from_export(tmp)
    model, thresholds, metrics = model_train(data.X, data.Y, seed=SEED)
    model_bytes = convert(model, data.X, "dynamic")
    # The same validation split model_train calibrated on: windows it did not fit.
    _, held_out = indices_split(len(data.X), 0.25, SEED)
    check = parity(model, model_bytes, data.X[held_out], thresholds)
    if check.decision_agreement < 0.995:
        raise RuntimeError(
            f"Keras and LiteRT disagree on {1 - check.decision_agreement:.2%} of decisions; "
            "refusing to ship this conversion"
        )
    manifest: dict[str, Any] = {
        **manifest_header(VERSION, thresholds),
        "sha256": hashlib.sha256(model_bytes).hexdigest(),
        "bytes": len(model_bytes),
        "validation": {
            t: {k: round(float(v), 4) for k, v in vars(m).items()} for t, m in metrics.items()
        },
        "parity": {k: round(float(v), 6) for k, v in vars(check).items()},
        "training": {
            "scenario": scenario_path.name,
            "scenario_seed": scenario.seed,
            "seed": SEED,
            "windows": len(data.X),
            "conversion": "dynamic",
        },
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MODEL_FILE).write_bytes(model_bytes)
    (out_dir / MANIFEST_FILE).write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=MODELS_DIR,
        help="output directory (default: wearable_core/models)",
    )
    args = parser.parse_args(argv)
    manifest = baseline_build(args.out)
    print(json.dumps({k: manifest[k] for k in ("version", "sha256", "bytes")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
