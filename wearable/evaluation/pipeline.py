"""Run one simulated or replayed watch through the real gateway pipeline.

Every record the watch firmware produces is handed to the gateway as the notification
it would send (the sequenced-record envelope on its record characteristic), at the
simulated time its period ends, into the gateway's own :class:`~gateway.ingest.Ingestor`
(decode, reject, clock alignment), :class:`~gateway.store.Store` (SQLite on disk)
and :class:`~gateway.detection.engine.Detector` (windows, features, the TFLite model,
safety rules, the alert state machine). Only the radio is left out: the ingest evidence
(``tests/gateway/integration/test_ingest_evidence.py``) shows it delivers every record,
and a day of BLE traffic per watch would take far longer than the evaluation itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from firmware_sim.clinical_labels import ClinicalLabel
from gateway.alerts.manager import suppressed_by
from gateway.config import DEFAULT_HOP_S
from gateway.detection.engine import Detector, WindowResult
from gateway.ingest import Ingestor
from gateway.store import AlertRow, DataQualityRow, Store
from wearable.evaluation.metrics import WindowDecision
from wearable_core.assessment.policy import AlertPolicy, policies_load
from wearable_core.assessment.types import AlertType, FaultKind
from wearable_core.contracts.features import WINDOW_S, feature_index
from wearable_core.contracts.gatt.uuids import RECORD_CHAR_BY_STREAM
from wearable_core.contracts.streams import Stream
from wearable_core.model.model_file import LoadedModel

#: Radio latency added to each record's delivery time (ms): it is sent when its period
#: ends and arrives a little later.
DELIVERY_LATENCY_MS = 40
#: Produce and assess this much simulated time per step (bounds memory).
STEP_S = 3600
_DATA_FRACTION = feature_index("q_data_fraction")


@dataclass
class WatchRun:
    """What the gateway made of one watch."""

    device: str
    records: int = 0
    stored: int = 0
    rejected: int = 0
    windows: int = 0
    alerts: list[AlertRow] = field(default_factory=list)
    quality_events: list[DataQualityRow] = field(default_factory=list)
    outcomes: list[WindowDecision] = field(default_factory=list)
    #: Ground truth by clinical definition (simulated watches only).
    labels: list[ClinicalLabel] = field(default_factory=list)


class _Collector:
    """Observer of the detector: keeps the AF decision of every window."""

    def __init__(self, policy: AlertPolicy) -> None:
        self.policy = policy
        self.outcomes: list[WindowDecision] = []

    def __call__(
        self, device: str, start_ms: int, vector: npt.NDArray[np.float32], result: WindowResult
    ) -> None:
        af = AlertType.AF
        score = result.scores.get(af, 0.0)
        active = bool(result.rules.get(af)) or score >= self.policy.on_threshold
        has_data = bool(np.nan_to_num(vector[_DATA_FRACTION]) > 0)
        # Poor beat quality suppresses AF but is the detector's own judgement, not a
        # sensor fault: such a window still counts (an AF window it hides is a miss).
        sensor_faults = result.faults - {FaultKind.BEAT_QUALITY}
        evaluable = has_data and not suppressed_by(af, sensor_faults)
        self.outcomes.append(
            WindowDecision(device, start_ms, start_ms + WINDOW_S * 1000, active, evaluable)
        )


def watch_run(
    device: str,
    produced: Iterable[Iterable[tuple[Stream, bytes, float]]],
    epoch_start_s: float,
    store_path: Path,
    model: LoadedModel | None,
    policies: dict[AlertType, AlertPolicy] | None = None,
    *,
    hop_s: int = DEFAULT_HOP_S,
    after_batch: Callable[[Store, int], None] | None = None,
) -> WatchRun:
    """Feed one watch's records through ingest, store and detection; collect the results.

    Parameters
    ----------
    device
        The watch's address.
    produced
        Batches (e.g. an hour each) of ``(stream, notification bytes, true_time_s)``:
        what the watch sends and when (seconds since ``epoch_start_s``) its period ended.
    epoch_start_s
        Unix time of the simulation's second 0 (the gateway clock is the true time).
    store_path
        A new SQLite store file.
    model
        The anomaly model, or ``None`` for rules only.
    policies
        Alert policies (default: the gateway's defaults).
    hop_s
        The detector's assessment hop (``[detection] hop_s``).
    after_batch
        Called with the store and the gateway clock after each batch is assessed (the
        sync benchmark runs sync cycles there); window summaries are kept for sync
        when it is given.
    """
    if store_path.exists():
        # An old store would make this a resumed run: its alerts are not this run's.
        raise FileExistsError(f"{store_path} exists: evaluate into an empty directory")
    now = [0]
    store = Store(store_path)
    ingestor = Ingestor(store, batch_max=5000, clock=lambda: now[0])
    state = ingestor.state(device)
    # Every record is delivered as it is produced: all of them are live.
    state.live_from = {stream: 0 for stream in Stream}
    resolved = policies or policies_load(None)
    collector = _Collector(resolved[AlertType.AF])
    detector = Detector(
        store,
        model,
        resolved,
        max_wait_s=120.0,
        hop_s=hop_s,
        observer=collector,
        record_windows=after_batch is not None,
        clock=lambda: now[0],
    )
    run = WatchRun(device)
    base_ms = round(epoch_start_s * 1000)
    try:
        for batch in produced:
            for stream, data, true_time_s in batch:
                now[0] = base_ms + round(true_time_s * 1000) + DELIVERY_LATENCY_MS
                ingestor.on_notification(device, RECORD_CHAR_BY_STREAM[stream], data)
                run.records += 1
            ingestor.flush()
            detector.run_until_idle()
            if after_batch is not None:
                after_batch(store, now[0])
        run.stored = sum(len(store.records.sequences(device, s)) for s in Stream)
        run.rejected = sum(ingestor.rejections.counts().values())
        run.windows = detector.windows_assessed
        run.alerts = store.alerts.list(device)
        run.quality_events = store.quality_events.list(device)
        run.outcomes = collector.outcomes
    finally:
        store.close()
    return run
