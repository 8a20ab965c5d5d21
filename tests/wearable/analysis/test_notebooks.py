"""Every clinician notebook runs headless on data this test produced, and draws its figures.

The notebooks are the front end of :mod:`wearable.analysis`: each runs in a real Jupyter
kernel (nbclient) with its parameters cell overridden, on the simulated clinic of
``_clinic.py`` (simulator, gateway ingest and detection, real sync to a local bucket).
Every figure is written as PNG and checked to be a real, non-blank image.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import matplotlib.image
import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from cloud_training.job import JobSettings, Outcome, job_run
from gateway.store import Store
from wearable.demo.workspace import SHIPPED_COHORTS
from wearable_core.buckets import bucket_open
from wearable_core.contracts.model_release import keypair_generate, private_key_parse

from ._clinic import Clinic

NOTEBOOKS = Path(__file__).resolve().parents[3] / "notebooks"
pytestmark = pytest.mark.integration


def notebook_run(name: str, parameters: dict[str, Any], workdir: Path) -> nbformat.NotebookNode:
    """Execute ``notebooks/<name>.ipynb`` with ``parameters`` injected after its parameters
    cell (papermill's convention), in ``workdir``; raises on any cell error."""
    book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    [index] = [i for i, c in enumerate(book.cells) if "parameters" in c.metadata.get("tags", [])]
    lines = [f"{key} = {value!r}" for key, value in parameters.items()]
    book.cells.insert(index + 1, nbformat.v4.new_code_cell("\n".join(lines)))
    NotebookClient(
        book, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    ).execute()
    return book


def text_output(book: nbformat.NotebookNode) -> str:
    """Everything the cells printed or displayed as text."""
    parts = []
    for cell in book.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def assert_figures(directory: Path, names: list[str]) -> None:
    """Each figure is a PNG with pixels that are not all one colour."""
    assert sorted(p.stem for p in directory.glob("*.png")) == sorted(names)
    for name in names:
        path = directory / f"{name}.png"
        assert path.stat().st_size > 5_000, f"{path.name} is only {path.stat().st_size} bytes"
        image = matplotlib.image.imread(path)
        assert image.shape[0] > 200 and image.shape[1] > 300, f"{path.name}: {image.shape}"
        assert float(np.std(image[..., :3])) > 0.02, f"{path.name} is blank"


def test_notebooks_are_committed_without_outputs() -> None:
    books = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert [b.stem for b in books] == ["cohort_overview", "model_health", "patient_review"]
    for path in books:
        book = nbformat.read(path, as_version=4)
        nbformat.validate(book)
        for cell in book.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name


def test_patient_review_runs_reviews_and_exports(clinic: Clinic, tmp_path: Path) -> None:
    store = tmp_path / "gateway.sqlite"
    shutil.copyfile(clinic.store_path, store)
    with Store(store) as opened:
        [(alert_id, device)] = [
            (a.id, a.device) for a in opened.alerts.list() if a.status == "open"
        ]
    figures, exports = tmp_path / "figures", tmp_path / "exports"
    book = notebook_run(
        "patient_review",
        {
            "STORE": str(store),
            "DEVICE": device,
            "PATIENT": "Patient/fall-1",
            "REVIEW": {alert_id: "confirmed"},
            "FIGURES": str(figures),
            "EXPORTS": str(exports),
        },
        tmp_path,
    )
    assert_figures(figures, ["patient_activity", "patient_hrv", "patient_timeline"])
    output = text_output(book)
    assert f"{device}: 120 minutes" in output
    with Store(store) as opened:
        [reviewed] = [a for a in opened.alerts.list() if a.id == alert_id]
    assert reviewed.status == "confirmed"
    bundle = json.loads((exports / "observations.json").read_text("utf-8"))
    assert bundle["resourceType"] == "Bundle"
    subjects = {e["resource"]["subject"]["reference"] for e in bundle["entry"]}
    assert subjects == {"Patient/fall-1"}
    assert (exports / "vitals.csv").stat().st_size > 0
    assert (exports / "alerts.csv").read_text("utf-8").count("confirmed") == 1


def test_cohort_overview_runs_on_the_bucket(clinic: Clinic, tmp_path: Path) -> None:
    figures = tmp_path / "figures"
    book = notebook_run(
        "cohort_overview", {"BUCKET": str(clinic.bucket_dir), "FIGURES": str(figures)}, tmp_path
    )
    assert_figures(figures, ["cohort_overview"])
    output = text_output(book)
    assert "3 people, 6 person-hours" in output
    assert "0 objects skipped" in output
    # Pseudonyms only: no device address of the clinic reached the cloud-side pages.
    for device in clinic.devices:
        assert device not in output


def test_model_health_compares_both_versions(clinic: Clinic, tmp_path: Path) -> None:
    # The clinic's bucket plus the labelled cohorts and one real run of the training job,
    # so the learning-curve section has a history to draw.
    bucket_dir = tmp_path / "bucket"
    shutil.copytree(clinic.bucket_dir, bucket_dir)
    shutil.copytree(SHIPPED_COHORTS, bucket_dir / "cohorts")
    pem, _ = keypair_generate()
    report = job_run(
        bucket_open(str(bucket_dir)), private_key_parse(pem), JobSettings(epochs=2, seed=7)
    )
    figures = tmp_path / "figures"
    book = notebook_run(
        "model_health", {"BUCKET": str(bucket_dir), "FIGURES": str(figures)}, tmp_path
    )
    assert_figures(
        figures,
        [
            "model_alert_rates",
            "model_feature_drift",
            "model_feature_histograms",
            "model_scores",
            "model_training_curve",
        ],
    )
    output = text_output(book)
    assert f"model versions, in order of first use: {clinic.first_version}, " in output
    assert clinic.second_version in output
    published = int(report.outcome is Outcome.PUBLISHED)
    assert f"training runs: 1, published: {published}" in output
    assert report.outcome.name.lower() in output
