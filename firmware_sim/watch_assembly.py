"""Assemble a watch's firmware from a scenario's plan for it."""

from __future__ import annotations

from collections.abc import Iterator

from firmware_sim.clinical_labels import ClinicalLabeller
from firmware_sim.firmware.watch_firmware import FirmwareConfig, WatchFirmware
from firmware_sim.physiology.generator import SignalChunk, SignalGenerator
from firmware_sim.scenario import Scenario, WatchPlan
from firmware_sim.watch import LinkFault, WatchIdentity


def firmware_config(plan: WatchPlan, scenario: Scenario) -> FirmwareConfig:
    """Clock, flash and battery settings of one planned watch."""
    return FirmwareConfig(
        epoch_at_start_s=scenario.start_epoch_s,
        clock_offset_s=plan.clock_offset_s,
        clock_drift_ppm=plan.clock_drift_ppm,
        flash_bytes=plan.flash_bytes,
        battery_mah=plan.battery_mah,
        resting_hr_bpm=plan.profile.resting_hr_bpm,
    )


def signal_chunks(plan: WatchPlan, scenario: Scenario, duration_s: int) -> Iterator[SignalChunk]:
    """The planned person's simulated signals, one chunk at a time."""
    generator = SignalGenerator(
        plan.profile, plan.episodes, plan.seed, scenario.start_epoch_s, duration_s
    )
    return generator.iter_chunks()


def firmware_build(
    plan: WatchPlan,
    scenario: Scenario,
    duration_s: int | None = None,
    *,
    labeller: ClinicalLabeller | None = None,
) -> WatchFirmware:
    """Firmware for ``plan`` producing ``duration_s`` seconds (default: the scenario's).

    With a ``labeller``, every simulated chunk passes through it on its way to the
    firmware, so its clinical labels are complete once the firmware has finished.
    """
    duration = scenario.duration_s if duration_s is None else duration_s
    chunks = signal_chunks(plan, scenario, duration)
    if labeller is not None:
        chunks = labeller.observe(chunks)
    return WatchFirmware(firmware_config(plan, scenario), chunks, duration)


def clinical_labeller(
    plan: WatchPlan, scenario: Scenario, duration_s: int | None = None
) -> ClinicalLabeller:
    """A labeller for ``plan``'s person over ``duration_s`` (default: the scenario's)."""
    duration = scenario.duration_s if duration_s is None else duration_s
    return ClinicalLabeller(plan.profile, plan.episodes, duration)


def identity_of(plan: WatchPlan) -> WatchIdentity:
    return WatchIdentity(
        name=plan.device_name, serial=plan.serial, seed=plan.seed, passkey=plan.passkey
    )


def link_faults_of(plan: WatchPlan) -> tuple[LinkFault, ...]:
    return tuple(LinkFault(e.onset_s, e.end_s, e.kind) for e in plan.link_events)
