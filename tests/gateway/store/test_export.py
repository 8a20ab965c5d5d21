"""Export: the simulator's truth format plus gateway_timestamp_ms, values decoded from payloads."""

from __future__ import annotations

import csv
from pathlib import Path

from firmware_sim.scenario import scenario_parse
from firmware_sim.truth import TruthWriter
from firmware_sim.watch_assembly import firmware_build, identity_of
from gateway.store import Store
from gateway.store.export import DEVICE_COLUMNS, GAP_COLUMNS, store_export
from wearable_core.contracts import record_csv
from wearable_core.contracts.record_csv import GATEWAY_TIMESTAMP_COLUMN
from wearable_core.contracts.streams import Stream
from wearable_core.records import IngestRecord

SCENARIO = """
[scenario]
name = "export"
seed = 11
watches = 2
duration = "3min"
"""


def read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_export_matches_the_truth_files(tmp_path: Path) -> None:
    scenario = scenario_parse(SCENARIO)
    truth_dir, export_dir = tmp_path / "truth", tmp_path / "export"
    records: list[IngestRecord] = []
    with TruthWriter(truth_dir) as truth:
        for plan in scenario.plan():
            device = identity_of(plan).address
            firmware = firmware_build(plan, scenario)
            for item in firmware.advance(scenario.duration_s):
                truth.write(device, item)
                r = item.record
                gateway_ms = r.watch_time_ms + 250
                records.append(
                    IngestRecord(
                        device,
                        item.stream,
                        r.seq,
                        r.watch_time_ms,
                        gateway_ms,
                        gateway_ms,
                        r.payload,
                    )
                )
    with Store(tmp_path / "store.db") as store:
        for start in range(0, len(records), 200):
            store.records.add(records[start : start + 200])
        device = records[0].device
        store.records.record_gap(device, Stream.HEART_RATE, 500, 510, "overwritten")
        store.devices.upsert(device, name="WearSim-0000", kind="sequenced", battery_pct=90)
        counts = store_export(store, export_dir)

    assert sum(counts.values()) == len(records)
    for stream in Stream:
        exported = read(export_dir / record_csv.file_name(stream))
        truth_rows = read(truth_dir / record_csv.file_name(stream))
        assert exported[0] == record_csv.header(stream, gateway=True)
        assert truth_rows[0] == record_csv.header(stream)
        assert len(exported) - 1 == counts[stream] > 0
        gateway_col = exported[0].index(GATEWAY_TIMESTAMP_COLUMN)
        # Ordered by device, then sequence.
        keys = [(row[0], int(row[2])) for row in exported[1:]]
        assert keys == sorted(keys)
        for row in exported[1:]:
            assert int(row[gateway_col]) == int(row[3]) + 250
        # Without the gateway column, the export is the truth (set equality on rows).
        stripped = {tuple(row[:gateway_col] + row[gateway_col + 1 :]) for row in exported[1:]}
        assert stripped == {tuple(row) for row in truth_rows[1:]}

    gaps = read(export_dir / "gaps.csv")
    assert gaps == [list(GAP_COLUMNS), [device, "hr", "500", "510", "overwritten"]]
    devices = read(export_dir / "devices.csv")
    assert devices[0] == list(DEVICE_COLUMNS)
    assert len(devices) == 3
    mine = dict(zip(DEVICE_COLUMNS, next(r for r in devices[1:] if r[0] == device), strict=True))
    assert (mine["name"], mine["kind"], mine["battery_pct"]) == ("WearSim-0000", "sequenced", "90")
    assert int(mine["records"]) == sum(1 for r in records if r.device == device)
    assert (mine["gaps"], mine["missing"], mine["rejected"]) == ("1", "10", "0")
