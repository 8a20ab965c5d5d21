"""Scenario files: parsing every field, every error path, duration syntax."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import pickle
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_sim.episodes import AnomalyKind, Episode, FaultKind
from firmware_sim.scenario import (
    DEFAULT_DURATIONS_S,
    KINDS,
    ExactEpisode,
    ExactLinkEvent,
    LinkEvent,
    Scenario,
    ScenarioError,
    WatchSettings,
    scenario_load,
    scenario_parse,
)
from wearable_core.units import duration_format, duration_parse

HEAD = """
[scenario]
watches = 4
duration = "2h"
"""


def parse(extra: str = "", head: str = HEAD) -> Scenario:
    return scenario_parse(head + extra, source="test.toml")


FULL = """
[scenario]
name = "ward-demo"
seed = 42
watches = 10
duration = "2h"
start = "2026-01-05T06:00:00Z"

[watch]
clock_drift_ppm = [-40.0, 40.0]
clock_offset_s = 1.5
flash_bytes = 65536
battery_mah = 250
passkey = true

[rates]
tachycardia = 0.5
af = 0.3
off_wrist = 1.0

[durations]
fever = ["1h", "3h"]
fall = ["2min", 600]

[[episode]]
watch = 0
kind = "fall"
at = "1h30min"
duration = "10min"
severity = 0.8

[[episode]]
watch = "all"
kind = "data_gap"
onset_s = 60
duration_s = 30

[[episode]]
watch = 2
kind = "fever"
at = "1h"
duration = "3h"

[link]
drops_per_hour = 2.0
out_of_range_per_day = 1.0
out_of_range_duration = ["1min", "10min"]

[[link.event]]
watch = 3
kind = "out_of_range"
at = "20min"
duration = "90s"

[[link.event]]
watch = "all"
kind = "drop"
onset_s = 100.5

[[person]]
watch = 0
age_years = 72
sex = "female"
resting_hr_bpm = 68
"""


def test_parses_every_field() -> None:
    s = scenario_parse(FULL)
    assert s.name == "ward-demo"
    assert s.seed == 42
    assert s.watches == 10
    assert s.duration_s == 7200
    assert s.start_epoch_s == dt.datetime(2026, 1, 5, 6, tzinfo=dt.UTC).timestamp()
    assert s.watch == WatchSettings(
        clock_drift_ppm=(-40.0, 40.0),
        clock_offset_s=(1.5, 1.5),
        flash_bytes=65536,
        battery_mah=250.0,
        passkey=True,
    )
    assert s.rates[AnomalyKind.TACHYCARDIA] == 0.5
    assert s.rates["af"] == 0.3  # type: ignore[index]  # StrEnum keys: plain names work
    assert s.rates[FaultKind.OFF_WRIST] == 1.0
    assert s.rates[AnomalyKind.FEVER] == 0.0
    assert set(s.rates) == set(s.durations) == set(KINDS)
    assert s.durations[AnomalyKind.FEVER] == (3600.0, 10800.0)
    assert s.durations[AnomalyKind.FALL] == (120.0, 600.0)
    assert s.durations[AnomalyKind.AF] == DEFAULT_DURATIONS_S[AnomalyKind.AF]
    assert s.episodes == (
        ExactEpisode(0, Episode(5400.0, 6000.0, AnomalyKind.FALL, 0.8)),
        ExactEpisode(None, Episode(60.0, 90.0, FaultKind.DATA_GAP, 0.5)),
        ExactEpisode(2, Episode(3600.0, 7200.0, AnomalyKind.FEVER, 0.5)),  # clipped
    )
    assert s.link.drops_per_hour == 2.0
    assert s.link.out_of_range_per_day == 1.0
    assert s.link.out_of_range_duration_s == (60.0, 600.0)
    assert s.link.events == (
        ExactLinkEvent(3, LinkEvent(1200.0, 1290.0, "out_of_range")),
        ExactLinkEvent(None, LinkEvent(100.5, 100.5, "drop")),
    )
    assert dict(s.persons[0]) == {"age_years": 72, "sex": "female", "resting_hr_bpm": 68}
    assert set(s.persons) == {0}


def test_defaults() -> None:
    s = scenario_parse(HEAD)
    assert s.name == "scenario"
    assert s.seed == 0
    assert s.start_epoch_s == dt.datetime(2026, 1, 5, tzinfo=dt.UTC).timestamp()
    assert s.watch == WatchSettings()
    assert all(rate == 0.0 for rate in s.rates.values())
    assert dict(s.durations) == dict(DEFAULT_DURATIONS_S)
    assert s.episodes == () and s.link.events == () and not s.persons
    assert s.link.drops_per_hour == 0.0


@pytest.mark.parametrize(
    ("line", "seconds"),
    [
        ('duration = "2h"', 7200),
        ('duration = "90s"', 120),  # rounded up to whole minutes
        ("duration = 61", 120),
        ("days = 1.5", 129_600),
        ("duration_s = 7200", 7200),
        ("duration_s = 0.5", 60),
    ],
)
def test_scenario_duration_forms(line: str, seconds: int) -> None:
    s = scenario_parse(f"[scenario]\nwatches = 1\n{line}\n")
    assert s.duration_s == seconds


def test_start_accepts_toml_datetime_and_offsets() -> None:
    native = parse("", HEAD + "start = 2026-01-05T06:00:00Z\n")
    offset = parse("", HEAD + 'start = "2026-01-05T07:00:00+01:00"\n')
    assert native.start_epoch_s == offset.start_epoch_s == 1767592800.0


def test_name_defaults_to_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "night-shift.toml"
    path.write_text(HEAD)
    s = scenario_load(path)
    assert s.name == "night-shift"
    assert s.source == str(path)


def test_load_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        scenario_load(tmp_path / "nope.toml")


def test_errors_name_the_source_and_carry_field_and_value() -> None:
    with pytest.raises(ScenarioError) as info:
        parse('[[episode]]\nwatch = 0\nkind = "tachy"\nat = 0\nduration = 60\n')
    err = info.value
    assert err.field == "episode[0].kind"
    assert err.value == "tachy"
    assert str(err).startswith("test.toml: episode[0].kind: ")
    assert "did you mean 'tachycardia'" in str(err)
    assert "expected one of: tachycardia, bradycardia" in str(err)


def test_invalid_toml() -> None:
    with pytest.raises(ScenarioError, match="not valid TOML"):
        scenario_parse("[scenario\nwatches = 1")


EP = '[[episode]]\nwatch = 0\nkind = "af"\nat = "10min"\nduration = "10min"\n'
LEV = '[[link.event]]\nwatch = 0\nkind = "out_of_range"\nat = "10min"\nduration = "2min"\n'

# (TOML after the valid [scenario] head, or a whole file if it starts with "[scenario]" or "#",
#  expected field path, a fragment the message must contain)
BAD: list[tuple[str, str, str]] = [
    ("[scenario]\nduration = '1h'\n", "scenario.watches", "missing"),
    ("[scenario]\nwatches = 1\n", "scenario.duration", "missing"),
    ("# no head\n[watch]\nflash_bytes = 1\n", "scenario", "add a [scenario] table"),
    ("[scenario]\nwatches = 0\nduration = '1h'\n", "scenario.watches", "expected 1 to"),
    ("[scenario]\nwatches = true\nduration = '1h'\n", "scenario.watches", "whole number"),
    ("[scenario]\nwatches = 2.0\nduration = '1h'\n", "scenario.watches", "whole number"),
    ("[scenario]\nwatches = 1\nduration = '1h'\ndays = 1\n", "scenario.days", "only one"),
    ("[scenario]\nwatches = 1\nduration = '1 fortnight'\n", "scenario.duration", "unknown unit"),
    ("[scenario]\nwatches = 1\nduration = '0s'\n", "scenario.duration", "> 0"),
    ("[scenario]\nwatches = 1\ndays = 400\n", "scenario.days", "366 days"),
    ("[scenario]\nwatches = 1\nduration_s = -5\n", "scenario.duration_s", "more than 0"),
    ("[scenario]\nwatches = 1\nduraton = '1h'\n", "scenario.duraton", "did you mean 'duration'"),
    ("[scenario]\nwatches = 1\nduration = '1h'\nseed = -1\n", "scenario.seed", "expected 0 to"),
    ("[scenario]\nwatches = 1\nduration = '1h'\nseed = 'x'\n", "scenario.seed", "whole number"),
    ("[scenario]\nwatches = 1\nduration = '1h'\nname = ''\n", "scenario.name", "non-empty"),
    (
        "[scenario]\nwatches = 1\nduration = '1h'\nstart = '2026-01-05T06:00:00'\n",
        "scenario.start",
        "append Z",
    ),
    ("[scenario]\nwatches = 1\nduration = '1h'\nstart = 'monday'\n", "scenario.start", "cannot"),
    ("[scenario]\nwatches = 1\nduration = '1h'\nstart = 2026-01-05\n", "scenario.start", "date"),
    ("[scenario]\nwatches = 1\nduration = [1]\n", "scenario.duration", "expected a duration"),
    ("[episodes]\n", "episodes", "did you mean 'episode'"),
    ("# top level\nscenario2 = 1\n" + HEAD, "scenario2", "unknown key"),
    ("[watch]\nclock_drift_ppm = [1.0]\n", "watch.clock_drift_ppm", "[min, max]"),
    ("[watch]\nclock_drift_ppm = [5.0, 1.0]\n", "watch.clock_drift_ppm", "above max"),
    ("[watch]\nclock_drift_ppm = [0, 5000]\n", "watch.clock_drift_ppm[1]", "-1000 to 1000"),
    ("[watch]\nclock_drift_ppm = 'fast'\n", "watch.clock_drift_ppm", "expected a number"),
    ("[watch]\nclock_offset_s = nan\n", "watch.clock_offset_s", "finite"),
    ("[watch]\nflash_bytes = 1024\n", "watch.flash_bytes", "4096"),
    ("[watch]\nflash_bytes = 8192.5\n", "watch.flash_bytes", "whole number"),
    ("[watch]\nbattery_mah = 0\n", "watch.battery_mah", "1 to"),
    ("[watch]\npasskey = 'yes'\n", "watch.passkey", "true or false"),
    ("[watch]\npass_key = true\n", "watch.pass_key", "did you mean 'passkey'"),
    ("# top level\nwatch = 3\n" + HEAD, "watch", "expected a table"),
    ("[rates]\ntachycardia = -1\n", "rates.tachycardia", ">= 0"),
    ("[rates]\ntachicardia = 1\n", "rates.tachicardia", "did you mean 'tachycardia'"),
    ("[rates]\nfever = 5\n", "rates.fever", "lower the rate or durations.fever"),
    ("[rates]\noff_wrist = 'often'\n", "rates.off_wrist", "expected a number"),
    ("[durations]\naf = '10min'\n", "durations.af", "[min, max]"),
    ("[durations]\naf = ['10min', '5min']\n", "durations.af", "above max"),
    ("[durations]\naf = ['0s', '5min']\n", "durations.af[0]", "> 0"),
    ("[durations]\naf = ['10 parsecs', '5min']\n", "durations.af[0]", "unknown unit"),
    ("[durations]\nfall = ['10s', '5min']\n", "durations.fall", "lasts minutes"),
    ("[durations]\nfall = ['10min', '2h']\n", "durations.fall", "lasts minutes"),
    ("[durations]\nsneeze = ['1s', '2s']\n", "durations.sneeze", "expected one of"),
    ("[episode]\nwatch = 0\n", "episode", "[[episode]]"),
    (EP.replace("watch = 0", "watch = 4"), "episode[0].watch", "0 to 3"),
    (EP.replace("watch = 0", "watch = 'some'"), "episode[0].watch", '"all"'),
    (EP.replace("watch = 0\n", ""), "episode[0].watch", "missing"),
    (EP.replace('kind = "af"', 'kind = "AF!"'), "episode[0].kind", "expected one of"),
    (EP.replace('kind = "af"\n', ""), "episode[0].kind", "missing"),
    (EP.replace('kind = "af"', "kind = 3"), "episode[0].kind", "unknown kind"),
    (EP.replace('at = "10min"\n', ""), "episode[0].at", "missing"),
    (EP + "onset_s = 5\n", "episode[0].onset_s", "only one of at, onset_s"),
    (EP.replace('at = "10min"', 'at = "2h"'), "episode[0].at", "not before the end"),
    (EP.replace('at = "10min"', 'at = "-5min"'), "episode[0].at", "cannot read"),
    (EP.replace('at = "10min"', "at = -5"), "episode[0].at", ">= 0"),
    (EP.replace('duration = "10min"\n', ""), "episode[0].duration", "missing"),
    (EP.replace('duration = "10min"', "duration = 0"), "episode[0].duration", "> 0"),
    (EP + "severity = 1.5\n", "episode[0].severity", "0 to 1"),
    (EP + "sevirity = 0.5\n", "episode[0].sevirity", "did you mean 'severity'"),
    (
        EP.replace('kind = "af"', 'kind = "fall"').replace("10min", "30s"),
        "episode[0]",
        "lasts 1min to 60min",
    ),
    (
        EP.replace('kind = "af"', 'kind = "fall"').replace('at = "10min"', 'at = "1h59min30s"'),
        "episode[0]",
        "before the end",
    ),
    (EP + EP.replace('at = "10min"', 'at = "15min"'), "episode[1]", "overlaps episode[0]"),
    (
        EP + EP.replace('at = "10min"', 'at = "15min"').replace("watch = 0", 'watch = "all"'),
        "episode[1]",
        "overlaps episode[0]",
    ),
    ("[link]\ndrops_per_hour = -1\n", "link.drops_per_hour", "0 to 60"),
    ("[link]\ndrops_per_hour = 100\n", "link.drops_per_hour", "0 to 60"),
    ("[link]\ndrops_per_day = 1\n", "link.drops_per_day", "did you mean 'drops_per_hour'"),
    ("[link]\nout_of_range_per_day = -1\n", "link.out_of_range_per_day", ">= 0"),
    ("[link]\nout_of_range_per_day = 1000\n", "link.out_of_range_per_day", "at most 50%"),
    ("[link]\nout_of_range_duration = '1min'\n", "link.out_of_range_duration", "[min, max]"),
    (
        "[link]\nout_of_range_duration = ['1min', 'soon']\n",
        "link.out_of_range_duration[1]",
        "cannot read",
    ),
    (LEV.replace('kind = "out_of_range"', 'kind = "dorp"'), "link.event[0].kind", "'drop'"),
    (LEV.replace('duration = "2min"\n', ""), "link.event[0].duration", "missing"),
    (LEV.replace("watch = 0", "watch = 9"), "link.event[0].watch", "0 to 3"),
    (LEV.replace('at = "10min"', 'at = "3h"'), "link.event[0].at", "not before the end"),
    (LEV + "lenght = 3\n", "link.event[0].lenght", "unknown key"),
    (LEV + LEV.replace('at = "10min"', 'at = "11min"'), "link.event[1]", "overlaps"),
    (
        "[[link.event]]\nwatch = 0\nkind = 'drop'\nat = '1min'\nduration = 'x'\n",
        "link.event[0].duration",
        "cannot read",
    ),
    ("[[person]]\nage_years = 50\n", "person[0].watch", "missing"),
    ("[[person]]\nwatch = 'all'\nage_years = 50\n", "person[0].watch", "a watch index"),
    ("[[person]]\nwatch = 0\nage = 50\n", "person[0].age", "did you mean 'age_years'"),
    ("[[person]]\nwatch = 0\nage_years = 50.5\n", "person[0].age_years", "whole number"),
    ("[[person]]\nwatch = 0\nresting_hr_bpm = 'low'\n", "person[0].resting_hr_bpm", "number"),
    ("[[person]]\nwatch = 0\nsex = 1\n", "person[0].sex", "expected a string"),
    ("[[person]]\nwatch = 0\nsex = 'robot'\n", "person[0].sex", "robot"),
    ("[[person]]\nwatch = 0\n[[person]]\nwatch = 0\n", "person[1].watch", "already"),
]


@pytest.mark.parametrize(("toml", "field", "fragment"), BAD)
def test_error_names_the_field(toml: str, field: str, fragment: str) -> None:
    text = toml if toml.startswith(("[scenario]", "#")) else HEAD + toml
    with pytest.raises(ScenarioError) as info:
        scenario_parse(text, source="bad.toml")
    assert info.value.field == field, str(info.value)
    assert f"bad.toml: {field}: " in str(info.value)
    assert fragment in str(info.value)


def test_drop_duration_is_ignored() -> None:
    s = parse("[[link.event]]\nwatch = 0\nkind = 'drop'\nat = '1min'\nduration = '5min'\n")
    assert s.link.events[0].event == LinkEvent(60.0, 60.0, "drop")


def test_overlap_of_different_kinds_or_watches_is_allowed() -> None:
    other_kind = EP + EP.replace('kind = "af"', 'kind = "off_wrist"')
    other_watch = EP + EP.replace("watch = 0", "watch = 1")
    assert len(parse(other_kind).episodes) == 2
    assert len(parse(other_watch).episodes) == 2


def test_scenario_is_immutable() -> None:
    s = scenario_parse(FULL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.seed = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.rates[AnomalyKind.AF] = 9.0  # type: ignore[index]


# --------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1h30min", 5400.0),
        ("90s", 90.0),
        ("2d", 172_800.0),
        ("45min", 2700.0),
        ("30min", 1800.0),
        ("3d", 259_200.0),
        ("1.5h", 5400.0),
        ("1 h 30 m", 5400.0),
        ("2 hours 5 seconds", 7205.0),
        (" 10MIN ", 600.0),
        ("1d2h3min4s", 93_784.0),
        (".5s", 0.5),
        ("0s", 0.0),
        ("120", 120.0),
        (120, 120.0),
        (2.5, 2.5),
    ],
)
def test_parse_duration(text: str | int | float, seconds: float) -> None:
    assert duration_parse(text) == seconds


@pytest.mark.parametrize(
    "text",
    [
        "",
        "h",
        "1x",
        "1h1h",
        "30min1h",
        "-5s",
        "1h-5min",
        "1e3s",
        "ten minutes",
        -1,
        math.inf,
        math.nan,
        True,
    ],
)
def test_parse_duration_rejects(text: str | float) -> None:
    with pytest.raises(ValueError):
        duration_parse(text)


def test_format_duration() -> None:
    assert duration_format(5400) == "1h30min"
    assert duration_format(0) == "0s"
    assert duration_format(93_784) == "1d2h3min4s"
    assert duration_format(0.25) == "0.25s"


@given(st.integers(min_value=0, max_value=10**9))
def test_duration_round_trip_whole_seconds(seconds: int) -> None:
    assert duration_parse(duration_format(seconds)) == seconds


@given(st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False))
def test_duration_round_trip_floats(seconds: float) -> None:
    assert duration_parse(duration_format(seconds)) == seconds


UNIT_SPELLINGS = {
    86_400: ["d", "day", "days"],
    3600: ["h", "hr", "hour", "hours"],
    60: ["m", "min", "minutes"],
    1: ["s", "sec", "seconds"],
}


@given(
    st.lists(
        st.tuples(st.integers(0, 999), st.integers(0, 2), st.booleans()), min_size=4, max_size=4
    ),
    st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_duration_parts_sum(parts: list[tuple[int, int, bool]], used: list[bool]) -> None:
    chosen = [
        (n, size, UNIT_SPELLINGS[size][min(spelling, len(UNIT_SPELLINGS[size]) - 1)], space)
        for (n, spelling, space), size, use in zip(parts, UNIT_SPELLINGS, used, strict=True)
        if use
    ]
    if not chosen:
        return
    text = "".join(f"{n}{' ' if space else ''}{unit}" for n, _, unit, space in chosen)
    assert duration_parse(text) == sum(n * size for n, size, _, _ in chosen)


def test_scenario_error_pickles() -> None:
    err = ScenarioError("episode[0].kind", "x", "unknown kind", source="a.toml")
    back = pickle.loads(pickle.dumps(err))
    assert (back.field, back.value, str(back)) == (err.field, err.value, str(err))


def test_the_documented_example_parses() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "formats" / "scenario.md"
    text = doc.read_text(encoding="utf-8").split("```toml\n", 1)[1].split("```", 1)[0]
    s = scenario_parse(text, source=str(doc))
    assert s.name == "ward-demo" and len(s.plan()) == 10


@pytest.mark.parametrize("start", ["1999-12-31T23:59:59Z", "2100-01-01T00:00:00Z"])
def test_start_outside_plausible_watch_time_is_refused(start: str) -> None:
    with pytest.raises(ScenarioError, match=r"scenario\.start"):
        scenario_parse(f'[scenario]\nwatches = 1\nduration = "1h"\nstart = "{start}"\n')
