"""FHIR R4 export of one patient, from a store the gateway's own code filled and assessed."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fhirclient.models.bundle import Bundle
from fhirclient.models.fhirabstractbase import FHIRValidationError
from fhirclient.models.observation import Observation

from gateway.store import Store
from wearable.analysis.fhir import (
    ALERT_TYPE_SYSTEM,
    FhirValidationError,
    fhir_bundle,
    fhir_json,
    fhir_observations,
    fhir_validate,
)
from wearable.analysis.patient import alert_review, patient_alerts, patient_windows

from ._patient_store import patient_scenario, patient_store_build

SCENARIO = patient_scenario("fhir", 35, desaturation_at=8, off_wrist_at=22, off_wrist_minutes=4)
PATIENT = "Patient/123"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def build_store(path: Path) -> str:
    """Simulate, ingest and assess the scenario as the gateway does; return the address."""
    return patient_store_build(path, SCENARIO)[0]


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("fhir") / "gateway.sqlite"
    return path, build_store(path)


def _frames(store_path: tuple[Path, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    path, device = store_path
    with Store(path) as store:
        return patient_windows(store, device), patient_alerts(store, device)


def _by_code(observations: list[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    return [o for o in observations if o["code"]["coding"][0]["code"] == code]


def test_every_vital_is_a_valid_r4_observation_per_minute(
    store_path: tuple[Path, str],
) -> None:
    windows, alerts = _frames(store_path)
    _, device = store_path
    observations = fhir_observations(windows, alerts, patient=PATIENT, device=device)
    for resource in observations:
        # The library on its own, strict: independent of fhir_validate's extra checks.
        Observation(resource, strict=True)
    worn = windows["q_contact_fraction"] >= 0.8
    heart = _by_code(observations, "8867-4")
    spo2 = _by_code(observations, "2708-6")
    skin = _by_code(observations, "61008-9")
    assert len(heart) == windows["hr_mean"].notna().sum() > 20
    assert len(spo2) == windows["spo2_mean"].notna().sum() > 20
    # The 4 off-wrist minutes read the room: their temperature is not exported.
    assert len(skin) == (windows["temp_level"].notna() & worn).sum()
    assert windows["temp_level"].notna().sum() - len(skin) >= 3
    assert len(heart) + len(spo2) + len(skin) + len(alerts) == len(observations)
    for o in heart + spo2 + skin:
        assert o["status"] == "final"
        assert o["category"][0]["coding"][0] == {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
            "display": "Vital Signs",
        }
        assert o["subject"] == {"reference": PATIENT}
        start = pd.Timestamp(o["effectivePeriod"]["start"])
        end = pd.Timestamp(o["effectivePeriod"]["end"])
        assert start.tzinfo is not None and end - start == pd.Timedelta(minutes=1)
        assert o["valueQuantity"]["system"] == UCUM
        assert o["device"]["identifier"]["value"] == device.replace(":", "-")
    assert {o["valueQuantity"]["code"] for o in heart} == {"/min"}
    assert {o["valueQuantity"]["code"] for o in spo2} == {"%"}
    assert {o["valueQuantity"]["code"] for o in skin} == {"Cel"}
    # SpO2 carries both codings of the R4 oxygen-saturation profile.
    assert all(
        [(c["system"], c["code"]) for c in o["code"]["coding"]]
        == [(LOINC, "2708-6"), (LOINC, "59408-5")]
        for o in spo2
    )
    assert all(o["bodySite"]["coding"][0]["code"] == "8205005" for o in skin)
    # Values are the window means, rounded (HR, SpO2 to 0.1; temperature to 0.01).
    by_start = windows.set_index("start")
    for o in heart:
        expected = by_start.loc[pd.Timestamp(o["effectivePeriod"]["start"]), "hr_mean"]
        assert o["valueQuantity"]["value"] == round(float(expected), 1)
    desat = [o["valueQuantity"]["value"] for o in spo2]
    assert min(desat) < 88 < max(desat)


def test_body_temperature_when_the_device_measures_core(store_path: tuple[Path, str]) -> None:
    windows, alerts = _frames(store_path)
    _, device = store_path
    skin = fhir_observations(windows, alerts, patient=PATIENT, device=device)
    body = fhir_observations(
        windows, alerts, patient=PATIENT, device=device, temperature_site="body"
    )
    assert not _by_code(skin, "8310-5")
    core = _by_code(body, "8310-5")
    assert len(core) == len(_by_code(skin, "61008-9")) > 0
    assert all("bodySite" not in o for o in core)
    assert not _by_code(body, "61008-9")
    # A different code is a different observation: no id is shared between the two.
    assert not {o["id"] for o in core} & {o["id"] for o in _by_code(skin, "61008-9")}
    with pytest.raises(ValueError, match="skin"):
        fhir_observations(windows, alerts, patient=PATIENT, device=device, temperature_site="ear")  # type: ignore[arg-type]


def test_alerts_map_severity_and_the_clinicians_review(
    tmp_path: Path, store_path: tuple[Path, str]
) -> None:
    source, device = store_path
    # A copy: reviews must not leak into the module's other tests.
    path = tmp_path / "gateway.sqlite"
    path.write_bytes(source.read_bytes())
    with Store(path) as store:
        before = patient_alerts(store, device)
        assert "desaturation" in set(before["type"])
        assert set(before["status"]) == {"open"}
        desat = int(before.loc[before["type"] == "desaturation", "id"].iloc[0])
        alert_review(store, desat, "confirmed", "seen on the ward round")
        windows, alerts = patient_windows(store, device), patient_alerts(store, device)

    def exported() -> dict[str, dict[str, Any]]:
        observations = fhir_observations(windows, alerts, patient=PATIENT, device=device)
        return {
            o["identifier"][0]["value"]: o
            for o in observations
            if o["code"]["coding"][0]["system"] == ALERT_TYPE_SYSTEM
        }

    coded = exported()
    assert len(coded) == len(alerts)
    confirmed = coded[str(desat)]
    assert confirmed["status"] == "final"
    assert "category" not in confirmed
    assert [(c["system"], c["code"]) for c in confirmed["code"]["coding"]] == [
        (ALERT_TYPE_SYSTEM, "desaturation"),
        ("http://snomed.info/sct", "389087006"),
    ]
    assert confirmed["interpretation"][0]["coding"][0]["code"] == "AA"  # critical
    assert "seen on the ward round" in confirmed["note"][0]["text"]
    assert confirmed["meta"]["tag"][0]["code"] == "confirmed"
    row = alerts.loc[alerts["id"] == desat].iloc[0]
    assert pd.Timestamp(confirmed["effectivePeriod"]["start"]) == row["opened"]
    assert pd.Timestamp(confirmed["effectivePeriod"]["end"]) == row["closed"]
    peak = [c for c in confirmed["component"] if c["code"]["coding"][0]["code"] == "peak-score"]
    assert peak[0]["valueQuantity"]["value"] == pytest.approx(float(row["peak_score"]), abs=1e-4)
    # A dismissed alert was judged false: entered-in-error, with the reviewer's reason.
    # (A verdict changes only through a reopen.)
    with Store(path) as store:
        alert_review(store, desat, "open", "second look at the video")
        alert_review(store, desat, "dismissed", "watch was loose")
        alerts = patient_alerts(store, device)
    dismissed = exported()[str(desat)]
    assert dismissed["status"] == "entered-in-error"
    assert "watch was loose" in dismissed["note"][0]["text"]
    assert dismissed["id"] == confirmed["id"]
    # Open and acknowledged are both preliminary; the gateway's status stays in meta.tag.
    with Store(path) as store:
        alert_review(store, desat, "open", "not sure after all")
        alert_review(store, desat, "acknowledged")
        alerts = patient_alerts(store, device)
    acked = exported()[str(desat)]
    assert acked["status"] == "preliminary"
    assert acked["meta"]["tag"][0]["code"] == "acknowledged"
    unreviewed = [o for key, o in exported().items() if key != str(desat)]
    assert all(o["status"] == "preliminary" for o in unreviewed)
    assert all(o["meta"]["tag"][0]["code"] == "open" for o in unreviewed)


def test_an_open_alert_has_no_end() -> None:
    windows = pd.DataFrame(
        {
            "start": pd.to_datetime([60_000], unit="ms", utc=True),
            "hr_mean": [np.nan],
            "spo2_mean": [np.nan],
            "temp_level": [np.nan],
            "q_contact_fraction": [np.nan],
        }
    )
    alerts = pd.DataFrame(
        [
            {
                "id": 7,
                "device": "C4:00:00:00:00:01",
                "type": "fall",
                "severity": "critical",
                "opened_ms": 120_500,
                "closed_ms": None,
                "evidence_start_ms": 60_000,
                "evidence_end_ms": 120_000,
                "peak_score": None,
                "rule": "fall_impact",
                "status": "open",
                "status_changed_ms": 120_500,
                "note": "",
                "model_version": None,
            }
        ]
    )
    [fall] = fhir_observations(windows, alerts, patient=PATIENT, device="C4:00:00:00:00:01")
    assert fall["effectivePeriod"] == {"start": "1970-01-01T00:02:00.500Z"}
    assert fall["code"]["coding"][1]["code"] == "1912002"
    assert [c["valueString"] for c in fall["component"] if "valueString" in c] == ["fall_impact"]
    with pytest.raises(ValueError, match="other devices"):
        fhir_observations(windows, alerts, patient=PATIENT, device="C4:00:00:00:00:02")
    with pytest.raises(ValueError, match="Patient/123"):
        fhir_observations(windows, alerts, patient="123", device="C4:00:00:00:00:01")


def test_the_bundle_is_valid_and_byte_identical_when_exported_twice(
    store_path: tuple[Path, str],
) -> None:
    windows, alerts = _frames(store_path)
    _, device = store_path
    first = fhir_json(fhir_bundle(windows, alerts, patient=PATIENT, device=device))
    windows2, alerts2 = _frames(store_path)
    second = fhir_json(fhir_bundle(windows2, alerts2, patient=PATIENT, device=device))
    assert first == second
    bundle = json.loads(first)
    Bundle(bundle, strict=True)
    assert bundle["type"] == "collection"
    entries = bundle["entry"]
    assert [e["fullUrl"] for e in entries] == [f"urn:uuid:{e['resource']['id']}" for e in entries]
    assert len({e["fullUrl"] for e in entries}) == len(entries)
    # Sorted keys all the way down: the text is its own canonical form.
    assert first == json.dumps(bundle, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    # Another patient reference changes the subject, not the observation ids.
    other = fhir_bundle(windows, alerts, patient="Patient/456", device=device)
    assert [e["fullUrl"] for e in other["entry"]] == [e["fullUrl"] for e in entries]


def _valid() -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "obs-1",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "8867-4"}]},
        "subject": {"reference": PATIENT},
        "effectivePeriod": {"start": "2026-01-05T00:00:00Z", "end": "2026-01-05T00:01:00Z"},
        "valueQuantity": {"value": 61.5, "unit": "beats/minute", "system": UCUM, "code": "/min"},
    }


def _broken(change: str) -> dict[str, Any]:
    resource = _valid()
    if change == "unknown key":
        resource["heartRate"] = 61.5
    elif change == "string value":
        resource["valueQuantity"]["value"] = "61.5"
    elif change == "no status":
        del resource["status"]
    elif change == "no code":
        del resource["code"]
    elif change == "no time zone":
        resource["effectivePeriod"]["start"] = "2026-01-05T00:00:00"
    elif change == "status code":
        resource["status"] = "done"
    elif change == "NaN":
        resource["valueQuantity"]["value"] = float("nan")
    elif change == "two values":
        resource["valueString"] = "61.5"
    elif change == "resource type":
        resource["resourceType"] = "Patient"
    return resource


@pytest.mark.parametrize(
    "change", ["unknown key", "string value", "no status", "no code", "no time zone"]
)
def test_the_library_itself_refuses_broken_resources(change: str) -> None:
    Observation(_valid(), strict=True)
    with pytest.raises(FHIRValidationError):
        Observation(_broken(change), strict=True)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ("unknown key", "heartRate"),
        ("string value", "value"),
        ("no status", "status"),
        ("no code", "code"),
        ("no time zone", "start"),
        # What fhirclient lets through, fhir_validate checks itself.
        ("status code", "done"),
        ("NaN", "JSON"),
        ("two values", "valueQuantity, valueString"),
        ("resource type", "Patient"),
    ],
)
def test_fhir_validate_refuses_a_broken_resource(change: str, says: str) -> None:
    fhir_validate(_valid())
    with pytest.raises(FhirValidationError, match=says) as caught:
        fhir_validate(_broken(change))
    assert caught.value.resource_id == "obs-1"
    assert "obs-1" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_bundle_with_a_broken_entry_is_refused() -> None:
    entry = copy.deepcopy(_valid())
    bundle = {
        "resourceType": "Bundle",
        "id": "b-1",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:1", "resource": entry}],
    }
    fhir_validate(bundle)
    entry["status"] = "done"
    with pytest.raises(FhirValidationError, match="entry 0") as caught:
        fhir_validate(bundle)
    assert caught.value.resource_id == "b-1"
    entry["status"] = "final"
    bundle["type"] = "bag"
    with pytest.raises(FhirValidationError, match=r"Bundle\.type"):
        fhir_validate(bundle)
