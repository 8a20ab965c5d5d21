"""Simulated physiology of one person wearing a watch (see ``docs/physiology.md``)."""

from firmware_sim.physiology.generator import SignalChunk, SignalGenerator, simulate
from firmware_sim.physiology.profile import PersonProfile
from firmware_sim.physiology.schedule import Activity, schedule_activity

__all__ = [
    "Activity",
    "PersonProfile",
    "SignalChunk",
    "SignalGenerator",
    "schedule_activity",
    "simulate",
]
