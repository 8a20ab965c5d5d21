"""One patient's per-minute vitals and alerts as FHIR R4 Observations.

Format, codes and decisions: ``docs/formats/fhir_export.md``.

Vitals become vital-signs Observations, one per 60 s window and vital with a value (heart
rate, SpO2, temperature); alerts become one Observation each, coded with the alert type
and a SNOMED CT finding, their status mapped from the clinician's review. Every resource
is checked with fhirclient's R4 (4.0.1) models in strict mode (:func:`fhir_validate`)
before it is returned. Identifiers are name-based UUIDs of the data, so exporting the same
data twice gives byte-identical JSON (:func:`fhir_json`).

Examples
--------
::

    from pathlib import Path

    from gateway.store import Store
    from wearable.analysis.fhir import fhir_bundle, fhir_json
    from wearable.analysis.patient import patient_alerts, patient_windows

    with Store("gateway-store/gateway.sqlite") as store:
        windows = patient_windows(store, "C4:12:34:56:78:9A")
        alerts = patient_alerts(store, "C4:12:34:56:78:9A")
    bundle = fhir_bundle(windows, alerts, patient="Patient/123", device="C4:12:34:56:78:9A")
    Path("patient-123.fhir.json").write_text(fhir_json(bundle))
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import pandas as pd
from fhirclient.models.bundle import Bundle
from fhirclient.models.fhirabstractbase import FHIRValidationError
from fhirclient.models.observation import Observation

from wearable_core.assessment.types import MIN_FRACTION
from wearable_core.contracts.features import WINDOW_S

__all__ = [
    "ALERT_EVIDENCE_SYSTEM",
    "ALERT_STATUS_SYSTEM",
    "ALERT_TYPE_SYSTEM",
    "FhirValidationError",
    "TemperatureSite",
    "bundle_of",
    "fhir_bundle",
    "fhir_json",
    "fhir_observations",
    "fhir_validate",
    "patient_reference_check",
]

TemperatureSite = Literal["skin", "body"]

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
#: HL7's identifier system for a Bluetooth device address (EUI-48), as the Personal Health
#: Device IG uses it; the value is written ``AA-BB-CC-DD-EE-FF``.
BLUETOOTH_ADDRESS_SYSTEM = "http://hl7.org/fhir/sid/eui-48/bluetooth"
DEVICE_IDENTIFIER_TYPES = "http://terminology.hl7.org/CodeSystem/ContinuaDeviceIdentifiers"
#: The project's own code systems (canonical URIs: identifiers, not fetched by anyone).
ALERT_TYPE_SYSTEM = "https://github.com/wearable-health/alert-type"
ALERT_EVIDENCE_SYSTEM = "https://github.com/wearable-health/alert-evidence"
ALERT_STATUS_SYSTEM = "https://github.com/wearable-health/alert-status"
#: The gateway store's alert id (local to one store: ``wearable gateway alerts``).
GATEWAY_ALERT_ID_SYSTEM = "https://github.com/wearable-health/gateway-alert-id"
# Skin contact of a window (``docs/features.md``): the off-wrist test of the alert manager.
_CONTACT = "q_contact_fraction"
# Fixed namespace of the name-based resource ids: changing it changes every exported id.
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/wearable-health/fhir")

# R4 required bindings that fhirclient's models do not check (they only check types,
# cardinality and unknown keys): Observation.status and Bundle.type.
_OBSERVATION_STATUSES = frozenset(
    {
        "registered",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "cancelled",
        "entered-in-error",
        "unknown",
    }
)
_BUNDLE_TYPES = frozenset(
    {
        "document",
        "message",
        "transaction",
        "transaction-response",
        "batch",
        "batch-response",
        "history",
        "searchset",
        "collection",
    }
)
_MODELS: dict[str, Any] = {"Observation": Observation, "Bundle": Bundle}
# Relative (Type/id), absolute (http[s]://...) or bundle-internal (urn:uuid|oid) references.
_REFERENCE = re.compile(
    r"^(?:[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}|https?://\S+|urn:(?:uuid|oid):\S+)$"
)


class FhirValidationError(ValueError):
    """A resource is not valid FHIR R4 (``resource_id`` names it, ``reason`` says why)."""

    def __init__(self, resource_id: str | None, reason: str) -> None:
        super().__init__(f"FHIR resource {resource_id or '(no id)'} is not valid R4: {reason}")
        self.resource_id = resource_id
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Vital:
    """How one per-minute feature becomes a vital-signs Observation."""

    column: str
    codings: tuple[tuple[str, str, str], ...]  # (system, code, display)
    text: str
    unit: str
    ucum: str
    decimals: int
    body_site: tuple[str, str, str] | None = None
    needs_contact: bool = False


_WRIST = (SNOMED, "8205005", "Wrist region structure")
_HEART_RATE = _Vital(
    "hr_mean", ((LOINC, "8867-4", "Heart rate"),), "Heart rate", "beats/minute", "/min", 1
)
# The R4 oxygen-saturation profile fixes 2708-6; 59408-5 says it was by pulse oximetry.
_SPO2 = _Vital(
    "spo2_mean",
    (
        (LOINC, "2708-6", "Oxygen saturation in Arterial blood"),
        (LOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
    ),
    "Oxygen saturation (SpO2)",
    "%",
    "%",
    1,
)
# Wrist skin is several degrees below core: coding it 8310-5 would put it on a fever chart.
_SKIN_TEMPERATURE = _Vital(
    "temp_level",
    ((LOINC, "61008-9", "Body surface temperature"),),
    "Wrist skin temperature",
    "Cel",
    "Cel",
    2,
    _WRIST,
    needs_contact=True,
)
_BODY_TEMPERATURE = _Vital(
    "temp_level",
    ((LOINC, "8310-5", "Body temperature"),),
    "Body temperature",
    "Cel",
    "Cel",
    2,
    needs_contact=True,
)

#: Alert type → (display, SNOMED CT code, SNOMED CT display). See docs/alerts.md.
ALERT_FINDINGS: Mapping[str, tuple[str, str, str]] = {
    "tachycardia": ("Tachycardia alert", "3424008", "Tachycardia"),
    "bradycardia": ("Bradycardia alert", "48867003", "Bradycardia"),
    "af": ("Atrial fibrillation alert", "49436004", "Atrial fibrillation"),
    "desaturation": ("Oxygen desaturation alert", "389087006", "Hypoxemia"),
    "fever": ("Fever alert", "386661006", "Fever"),
    "fall": ("Fall alert", "1912002", "Fall"),
}
#: Gateway alert status → Observation.status (R4 ObservationStatus).
ALERT_STATUS: Mapping[str, str] = {
    "open": "preliminary",
    "acknowledged": "preliminary",
    "confirmed": "final",
    "dismissed": "entered-in-error",
}
#: Alert severity → v3 ObservationInterpretation (``info`` gets none).
ALERT_INTERPRETATION: Mapping[str, tuple[str, str]] = {
    "warning": ("A", "Abnormal"),
    "critical": ("AA", "Critical abnormal"),
}
_ALERT_COLUMNS = (
    "id",
    "device",
    "type",
    "severity",
    "opened_ms",
    "closed_ms",
    "evidence_start_ms",
    "evidence_end_ms",
    "peak_score",
    "rule",
    "status",
    "status_changed_ms",
    "note",
)


def fhir_validate(resource: Mapping[str, Any]) -> None:
    """Check one Observation or Bundle (as JSON-ready dict) against FHIR R4 (4.0.1).

    fhirclient's models in strict mode check element names, types, cardinality and
    date/time formats (nested resources of a Bundle included); on top of that this checks
    what they do not: that the dict is strict JSON (no NaN or infinity), the required
    codes of ``Observation.status`` and ``Bundle.type``, and at most one ``value[x]``.

    Raises
    ------
    FhirValidationError
        The resource is not valid; the message names its id and the offending element.

    Examples
    --------
    >>> fhir_validate({"resourceType": "Observation", "id": "x", "status": "final",
    ...                "code": {"text": "heart rate"}})
    >>> try:
    ...     fhir_validate({"resourceType": "Observation", "id": "x", "status": "final"})
    ... except FhirValidationError as exc:
    ...     print(exc.resource_id, "code" in exc.reason)
    x True
    """
    resource_id = resource.get("id") if isinstance(resource, Mapping) else None
    rid = resource_id if isinstance(resource_id, str) else None
    if not isinstance(resource, Mapping):
        raise FhirValidationError(None, f"expected a JSON object, got {type(resource).__name__}")
    kind = resource.get("resourceType")
    model = _MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise FhirValidationError(
            rid, f"resourceType {kind!r}: this exporter writes only {', '.join(_MODELS)}"
        )
    try:
        json.dumps(resource, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise FhirValidationError(rid, f"not strict JSON: {exc}") from exc
    try:
        model(dict(resource), strict=True)
    except FHIRValidationError as exc:
        raise FhirValidationError(rid, _flatten(exc)) from exc
    _check_codes(resource, rid)


def _flatten(exc: FHIRValidationError) -> str:
    # fhirclient's message is an indented tree of paths; one line reads better in a log.
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def _check_codes(resource: Mapping[str, Any], rid: str | None) -> None:
    if resource["resourceType"] == "Bundle":
        if resource.get("type") not in _BUNDLE_TYPES:
            raise FhirValidationError(
                rid, f"Bundle.type {resource.get('type')!r} is not an R4 code"
            )
        for i, entry in enumerate(resource.get("entry", ())):
            inner = entry.get("resource")
            if inner is not None:
                try:
                    fhir_validate(inner)
                except FhirValidationError as exc:
                    raise FhirValidationError(rid, f"entry {i}: {exc}") from exc
        return
    if resource.get("status") not in _OBSERVATION_STATUSES:
        raise FhirValidationError(
            rid,
            f"Observation.status {resource.get('status')!r}: use one of "
            f"{', '.join(sorted(_OBSERVATION_STATUSES))}",
        )
    values = [key for key in resource if key.startswith("value")]
    if len(values) > 1:
        raise FhirValidationError(rid, f"more than one value[x]: {', '.join(values)}")


def patient_reference_check(patient: str) -> None:
    """Raise ``ValueError`` unless ``patient`` is a usable FHIR reference.

    Accepted: relative ``Type/id`` (``Patient/123``), an absolute ``http(s)`` URL, or a
    ``urn:uuid:`` / ``urn:oid:`` reference.

    Examples
    --------
    >>> patient_reference_check("Patient/123")
    >>> patient_reference_check("123")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: patient '123': use a FHIR reference such as Patient/123, ...
    """
    if not _REFERENCE.match(patient):
        raise ValueError(
            f"patient {patient!r}: use a FHIR reference such as Patient/123, an absolute "
            "URL or urn:uuid:<uuid>"
        )


def fhir_observations(
    windows: pd.DataFrame,
    alerts: pd.DataFrame,
    *,
    patient: str,
    device: str,
    temperature_site: TemperatureSite = "skin",
) -> list[dict[str, Any]]:
    """Vital-signs Observations (one per minute and vital) then one Observation per alert.

    Parameters
    ----------
    windows
        :func:`wearable.analysis.patient.patient_windows` output: ``start`` (UTC) and the
        features; ``hr_mean``, ``spo2_mean`` and ``temp_level`` are exported, a NaN is
        skipped (no Observation for that minute and vital), and so is the temperature of a
        window off the wrist (``q_contact_fraction`` < 0.8 or NaN: it is the room's).
    alerts
        :func:`wearable.analysis.patient.patient_alerts` output for ``device`` (may be
        empty).
    patient
        FHIR reference of the patient (``Patient/123``, an absolute URL or ``urn:uuid:``).
    device
        The watch's Bluetooth address, as the store has it (``C4:12:34:56:78:9A``).
    temperature_site
        ``skin``: the device measures wrist skin temperature (our watch), coded LOINC
        61008-9 with body site wrist; ``body``: it measures core temperature, LOINC 8310-5.

    Returns
    -------
    list of dict
        JSON-ready Observations, each already checked by :func:`fhir_validate`.

    Raises
    ------
    ValueError
        A missing column, a malformed ``patient`` reference, an unknown
        ``temperature_site`` or alert status, or alerts of another device.

    Examples
    --------
    >>> import numpy as np
    >>> windows = pd.DataFrame({"start": pd.to_datetime([0], unit="ms", utc=True),
    ...                         "hr_mean": [71.04], "spo2_mean": [np.nan],
    ...                         "temp_level": [33.114], "q_contact_fraction": [1.0]})
    >>> obs = fhir_observations(windows, pd.DataFrame(), patient="Patient/1",
    ...                         device="C4:12:34:56:78:9A")
    >>> [(o["code"]["coding"][0]["code"], o["valueQuantity"]["value"]) for o in obs]
    [('8867-4', 71.0), ('61008-9', 33.11)]
    """
    patient_reference_check(patient)
    if temperature_site not in ("skin", "body"):
        raise ValueError(f"temperature_site {temperature_site!r}: use 'skin' or 'body'")
    temperature = _SKIN_TEMPERATURE if temperature_site == "skin" else _BODY_TEMPERATURE
    vitals = (_HEART_RATE, _SPO2, temperature)
    needed = ("start", _CONTACT, *(v.column for v in vitals))
    missing = [c for c in needed if c not in windows.columns]
    if missing:
        raise ValueError(f"windows lack column(s) {', '.join(missing)}: pass patient_windows()")
    subject = {"reference": patient}
    source = _device_reference(device)
    resources: list[dict[str, Any]] = []
    starts = pd.to_datetime(windows["start"], utc=True)
    start_ms = (starts - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
    columns = {v.column: windows[v.column].to_numpy(dtype="float64") for v in vitals}
    # Off the wrist the thermometer reads the room: NaN >= 0.8 is False, so no data skips too.
    worn = windows[_CONTACT].to_numpy(dtype="float64") >= MIN_FRACTION
    for i, t_ms in enumerate(start_ms.to_numpy(dtype="int64")):
        for vital in vitals:
            value = float(columns[vital.column][i])
            if math.isnan(value) or (vital.needs_contact and not worn[i]):
                continue
            resources.append(_vital_observation(vital, int(t_ms), value, subject, source, device))
    if len(alerts):
        resources.extend(_alert_observations(alerts, subject, source, device))
    for resource in resources:
        fhir_validate(resource)
    return resources


def fhir_bundle(
    windows: pd.DataFrame,
    alerts: pd.DataFrame,
    *,
    patient: str,
    device: str,
    temperature_site: TemperatureSite = "skin",
) -> dict[str, Any]:
    """The Observations of :func:`fhir_observations` in a validated ``collection`` Bundle.

    Entries have ``fullUrl`` ``urn:uuid:<id>``; the Bundle's id is derived from theirs, so
    the same data gives the same Bundle. Raises as :func:`fhir_observations`, and
    :class:`FhirValidationError` if the Bundle is not valid R4.
    """
    observations = fhir_observations(
        windows, alerts, patient=patient, device=device, temperature_site=temperature_site
    )
    bundle = bundle_of(observations)
    fhir_validate(bundle)
    return bundle


def bundle_of(resources: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A ``collection`` Bundle of ``resources`` (not validated: :func:`fhir_bundle` does)."""
    ids = [str(r["id"]) for r in resources]
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_ID_NAMESPACE, "bundle|" + "|".join(ids))),
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:{rid}", "resource": dict(r)}
            for rid, r in zip(ids, resources, strict=True)
        ],
    }


def fhir_json(resource: Mapping[str, Any]) -> str:
    """Canonical JSON text of a resource: sorted keys, 2-space indent, final newline.

    The same resource always gives the same bytes (UTF-8), so two exports can be compared
    with ``cmp``. Raises ``ValueError`` on NaN or infinity (not JSON).
    """
    return (
        json.dumps(resource, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    )


def _resource_id(device: str, code: str, start_ms: int) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"{device}|{code}|{start_ms}"))


def _instant(ms: int) -> str:
    """ISO 8601 UTC with ``Z``; milliseconds only when there are some."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    if ms % 1000:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _device_reference(device: str) -> dict[str, Any]:
    return {
        "display": f"wearable watch {device}",
        "identifier": {
            "type": {
                "coding": [
                    {
                        "system": DEVICE_IDENTIFIER_TYPES,
                        "code": "BTMAC",
                        "display": "Bluetooth MAC address",
                    }
                ]
            },
            "system": BLUETOOTH_ADDRESS_SYSTEM,
            "value": device.upper().replace(":", "-"),
        },
    }


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


def _vital_observation(
    vital: _Vital,
    start_ms: int,
    value: float,
    subject: dict[str, str],
    source: dict[str, Any],
    device: str,
) -> dict[str, Any]:
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": _resource_id(device, vital.codings[0][1], start_ms),
        "status": "final",
        "category": [
            {
                "coding": [_coding(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")],
                "text": "Vital Signs",
            }
        ],
        "code": {"coding": [_coding(*c) for c in vital.codings], "text": vital.text},
        "subject": subject,
        "effectivePeriod": {
            "start": _instant(start_ms),
            "end": _instant(start_ms + WINDOW_S * 1000),
        },
        "valueQuantity": {
            "value": round(value, vital.decimals),
            "unit": vital.unit,
            "system": UCUM,
            "code": vital.ucum,
        },
        "device": source,
    }
    if vital.body_site is not None:
        observation["bodySite"] = {"coding": [_coding(*vital.body_site)], "text": "wrist"}
    return observation


def _alert_observations(
    alerts: pd.DataFrame, subject: dict[str, str], source: dict[str, Any], device: str
) -> list[dict[str, Any]]:
    missing = [c for c in _ALERT_COLUMNS if c not in alerts.columns]
    if missing:
        raise ValueError(f"alerts lack column(s) {', '.join(missing)}: pass patient_alerts()")
    others = sorted(set(alerts["device"]) - {device})
    if others:
        raise ValueError(
            f"alerts of other devices ({', '.join(others)}) in an export of {device}: "
            "pass patient_alerts(store, device)"
        )
    out = []
    for row in alerts.sort_values(["opened_ms", "id"]).itertuples(index=False):
        out.append(_alert_observation(row._asdict(), subject, source, device))
    return out


def _optional_int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _alert_observation(
    row: Mapping[str, Any], subject: dict[str, str], source: dict[str, Any], device: str
) -> dict[str, Any]:
    kind, status = str(row["type"]), str(row["status"])
    if status not in ALERT_STATUS:
        raise ValueError(
            f"alert {row['id']}: status {status!r} has no FHIR mapping; known: "
            f"{', '.join(ALERT_STATUS)}"
        )
    opened_ms = int(row["opened_ms"])
    closed_ms = _optional_int(row["closed_ms"])
    codings = [_coding(ALERT_TYPE_SYSTEM, kind, ALERT_FINDINGS.get(kind, (f"{kind} alert",))[0])]
    if kind in ALERT_FINDINGS:
        _, snomed, snomed_display = ALERT_FINDINGS[kind]
        codings.append(_coding(SNOMED, snomed, snomed_display))
    period = {"start": _instant(opened_ms)}
    if closed_ms is not None:
        period["end"] = _instant(closed_ms)
    components: list[dict[str, Any]] = [
        {
            "code": {
                "coding": [_coding(ALERT_EVIDENCE_SYSTEM, "evidence-window", "Evidence window")]
            },
            "valuePeriod": {
                "start": _instant(int(row["evidence_start_ms"])),
                "end": _instant(int(row["evidence_end_ms"])),
            },
        }
    ]
    peak = row["peak_score"]
    if peak is not None and not pd.isna(peak):
        components.append(
            {
                "code": {
                    "coding": [_coding(ALERT_EVIDENCE_SYSTEM, "peak-score", "Peak model score")]
                },
                "valueQuantity": {
                    "value": round(float(peak), 4),
                    "unit": "score",
                    "system": UCUM,
                    "code": "1",
                },
            }
        )
    rule = row["rule"]
    if isinstance(rule, str) and rule:
        components.append(
            {
                "code": {
                    "coding": [_coding(ALERT_EVIDENCE_SYSTEM, "rule", "Safety rule that fired")]
                },
                "valueString": rule,
            }
        )
    model_version = row.get("model_version")
    if isinstance(model_version, str) and model_version:
        components.append(
            {
                "code": {
                    "coding": [_coding(ALERT_EVIDENCE_SYSTEM, "model-version", "Model version")]
                },
                "valueString": model_version,
            }
        )
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": _resource_id(device, f"alert:{kind}", opened_ms),
        # The gateway's own status survives in a tag: FHIR folds open and acknowledged.
        "meta": {"tag": [_coding(ALERT_STATUS_SYSTEM, status, status)]},
        "identifier": [{"system": GATEWAY_ALERT_ID_SYSTEM, "value": str(int(row["id"]))}],
        "status": ALERT_STATUS[status],
        "code": {"coding": codings, "text": f"wearable alert: {kind}"},
        "subject": subject,
        "effectivePeriod": period,
        "issued": _instant(int(row["status_changed_ms"])),
        "device": source,
        "component": components,
    }
    severity = str(row["severity"])
    if severity in ALERT_INTERPRETATION:
        code, display = ALERT_INTERPRETATION[severity]
        observation["interpretation"] = [
            {"coding": [_coding(INTERPRETATION, code, display)], "text": severity}
        ]
    note = row["note"]
    if isinstance(note, str) and note:
        observation["note"] = [{"text": f"clinician review ({status}): {note}"}]
    return observation
