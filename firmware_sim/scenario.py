"""Simulation scenarios: a TOML file describing a cohort of simulated watches.

:func:`scenario_load` / :func:`scenario_parse` read and validate a file into a
:class:`Scenario`; :meth:`Scenario.plan` turns it into one deterministic
:class:`WatchPlan` per watch (identity, person, clock, firmware budgets, ground-truth
episodes, link events). The format is documented in ``docs/formats/scenario.md``.

Every problem is a :class:`ScenarioError` naming the offending field path, e.g.
``episode[2].kind``, and what would be accepted instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
import tomllib
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, ClassVar

import numpy as np
from msgspec import Meta

from firmware_sim import scenario_sampling as sampling
from firmware_sim.episodes import AnomalyKind, Episode, FaultKind
from firmware_sim.physiology.profile import PersonProfile
from wearable_core.schema import (
    ByteSize,
    Check,
    Duration,
    FieldSpec,
    Schema,
    SchemaError,
    field_convert,
    schema_from_mapping,
    unknown_key_problem,
)
from wearable_core.units import MAX_SEED, did_you_mean, duration_format, simulated_duration

Kind = AnomalyKind | FaultKind

#: Every episode kind, anomalies first, in the order used for sampling.
KINDS: tuple[Kind, ...] = (*AnomalyKind, *FaultKind)
_KIND_BY_NAME: dict[str, Kind] = {k.value: k for k in KINDS}

LINK_KINDS = ("drop", "out_of_range")

#: Default ``[durations]``: the range a sampled episode's length is drawn from, seconds.
DEFAULT_DURATIONS_S: Mapping[Kind, tuple[float, float]] = types.MappingProxyType(
    {
        AnomalyKind.TACHYCARDIA: (600.0, 2400.0),
        AnomalyKind.BRADYCARDIA: (600.0, 2400.0),
        AnomalyKind.AF: (600.0, 3600.0),
        AnomalyKind.DESATURATION: (60.0, 300.0),
        AnomalyKind.FEVER: (7200.0, 28800.0),
        AnomalyKind.FALL: (300.0, 1200.0),
        FaultKind.OFF_WRIST: (300.0, 3600.0),
        FaultKind.FLAT_LINE: (120.0, 900.0),
        FaultKind.MOTION_ARTIFACT: (60.0, 600.0),
        FaultKind.DATA_GAP: (60.0, 600.0),
    }
)

DEFAULT_START = "2026-01-05T00:00:00Z"
DEFAULT_SEED = 0
MAX_WATCHES = 10_000
MIN_FLASH_BYTES = 4096
#: A fall is an impact followed by minutes of stillness; shorter is not a fall to detect.
FALL_MIN_S, FALL_MAX_S = 60.0, 3600.0
#: Sampled episodes of one kind may cover at most this share of the time on average;
#: denser rates could not be placed without overlaps and would silently lose episodes.
MAX_COVERAGE = 0.5
MAX_DROPS_PER_HOUR = 60.0
DEFAULT_OUT_OF_RANGE_S = (60.0, 600.0)


# --------------------------------------------------------------------------- errors


class ScenarioError(SchemaError):
    """An invalid scenario: ``field`` is the path of the offending key, ``value`` its value.

    The message reads ``<source>: <field>: <problem and fix>``; the attributes and the
    constructor are :class:`wearable_core.schema.SchemaError`'s, as for every input file.
    Scenario messages say what was expected: ``expected 1 to 10000``.
    """

    known_keys: ClassVar[str] = "expected one of:"

    @classmethod
    def wrong_type(cls, spec: FieldSpec, given: object) -> str:
        """``expected a whole number, got float 2.5``."""
        if spec.base is bool:
            return "expected true or false"
        kinds = {
            "duration": "a duration such as '90s'",
            "byte size": "a whole number of bytes or a size such as '256KiB'",
        }
        kind = kinds.get(spec.text_name or "") or _EXPECTED.get(spec.base, "a value")
        return f"expected {kind}, got {_kind_of(given)}"

    @classmethod
    def out_of_range(cls, spec: FieldSpec, given: object, number: float | None) -> str:
        """``0 is out of range; expected 1 to 10000``, ``-1 is too small; expected >= 0``."""
        value = given if number is None else number
        if isinstance(value, float) and not math.isfinite(value):
            return f"expected a finite number, got {given!r}"
        low, high = spec.low, spec.high
        # text shows what it was read as: "'1KiB' (1024 bytes)"
        shown = repr(given) if number is None else f"{given!r} ({_num(number)}{spec.unit})"
        if low is not None and high is not None:
            return f"{shown} is out of range; expected {_num(low)} to {_num(high)}"
        if low is not None:
            return f"{shown} is too small; expected {'>' if spec.low_open else '>='} {_num(low)}"
        assert high is not None
        return f"{shown} is too large; expected <= {_num(high)}"

    @classmethod
    def unreadable(cls, spec: FieldSpec, given: object, reason: str) -> str:
        """The parser's own message: it names the grammar."""
        return reason


_EXPECTED: dict[object, str] = {int: "a whole number", float: "a number", str: "a string"}

# The scenario's fields, declared (docs/formats/scenario.md); read with field_convert.
_Seed = Annotated[int, Meta(ge=0, le=MAX_SEED)]
_Watches = Annotated[int, Meta(ge=1, le=MAX_WATCHES)]
_Number = float  # any finite number
_Span = Annotated[Duration, Meta(gt=0)]  # an episode's or a period's length
_Onset = Annotated[Duration, Meta(ge=0)]  # a time since the start
_DriftPpm = Annotated[float, Meta(ge=-1000, le=1000)]
_ClockOffset = Annotated[float, Meta(ge=-86_400, le=86_400)]
_FlashBytes = Annotated[ByteSize, Meta(ge=MIN_FLASH_BYTES, le=2**32)]
_BatteryMah = Annotated[float, Meta(ge=1, le=100_000)]
_Rate = Annotated[float, Meta(ge=0)]
_Severity = Annotated[float, Meta(ge=0, le=1)]
_DropsPerHour = Annotated[float, Meta(ge=0, le=MAX_DROPS_PER_HOUR)]


def _read(hint: object) -> Callable[[str, object], typing.Any]:
    """A reader of one declared field: ``read(path, value)`` -> the checked value."""
    return lambda path, value: field_convert(path, value, hint, ScenarioError)


def _range_of(hint: object) -> Check:
    """A field that is a fixed value or ``[min, max]`` of ``hint``."""
    return Check(lambda path, value: _range(path, value, _read(hint)))


def _one_of(choices: Iterable[str]) -> str:
    return "expected one of: " + ", ".join(choices)


# --------------------------------------------------------------------------- result types


@dataclass(frozen=True, order=True)
class LinkEvent:
    """A radio event in true seconds since the start.

    ``drop``: the connection is lost at ``onset_s`` (``end_s == onset_s``) and the watch
    re-advertises at once. ``out_of_range``: the watch cannot be reached during
    ``[onset_s, end_s)``.
    """

    onset_s: float
    end_s: float
    kind: str

    def __post_init__(self) -> None:
        if self.kind not in LINK_KINDS:
            raise ValueError(f"link event kind {self.kind!r}: {_one_of(LINK_KINDS)}")
        if self.kind == "drop" and not self.end_s == self.onset_s >= 0:
            raise ValueError(f"drop: need 0 <= onset_s == end_s, got {self.onset_s}..{self.end_s}")
        if self.kind == "out_of_range" and not self.end_s > self.onset_s >= 0:
            raise ValueError(
                f"out_of_range: need 0 <= onset_s < end_s, got {self.onset_s}..{self.end_s}"
            )

    @property
    def duration_s(self) -> float:
        return self.end_s - self.onset_s


@dataclass(frozen=True)
class WatchPlan:
    """Everything one simulated watch needs, fully decided before the simulation runs."""

    index: int
    device_name: str
    serial: str
    seed: int
    profile: PersonProfile
    episodes: tuple[Episode, ...]
    link_events: tuple[LinkEvent, ...]
    clock_drift_ppm: float
    clock_offset_s: float
    flash_bytes: int
    battery_mah: float
    passkey: int | None


@dataclass(frozen=True)
class WatchSettings(Schema):
    """``[watch]``: firmware settings; ranges are ``(min, max)``, drawn per watch.

    Declared (``wearable_core.schema``): the file and code get the same checks.
    """

    path_prefix: ClassVar[str] = "watch"
    error: ClassVar[type[SchemaError]] = ScenarioError

    clock_drift_ppm: Annotated[tuple[float, float], _range_of(_DriftPpm)] = (-20.0, 20.0)
    clock_offset_s: Annotated[tuple[float, float], _range_of(_ClockOffset)] = (-2.0, 2.0)
    flash_bytes: _FlashBytes = 262_144
    battery_mah: _BatteryMah = 300.0
    passkey: bool = False


@dataclass(frozen=True)
class ExactEpisode:
    """An ``[[episode]]`` as given; ``watch`` is ``None`` for every watch."""

    watch: int | None
    episode: Episode


@dataclass(frozen=True)
class ExactLinkEvent:
    """A ``[[link.event]]`` as given; ``watch`` is ``None`` for every watch."""

    watch: int | None
    event: LinkEvent


@dataclass(frozen=True)
class LinkSettings:
    """``[link]``: random drops and out-of-range periods, plus exact events."""

    drops_per_hour: float = 0.0
    out_of_range_per_day: float = 0.0
    out_of_range_duration_s: tuple[float, float] = DEFAULT_OUT_OF_RANGE_S
    events: tuple[ExactLinkEvent, ...] = ()


class _Purpose(enum.IntEnum):
    """Third word of every per-watch SeedSequence: one independent stream per use.

    Never 0: SeedSequence pads entropy with zeros, so ``[seed, i, 0]`` would equal
    ``[seed, i]``.
    """

    RUNTIME = 1
    IDENTITY = 2
    PROFILE = 3
    CLOCK = 4
    EPISODES = 5
    LINK = 6


def _rng(seed: int, index: int, purpose: _Purpose) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, index, int(purpose)]))


@dataclass(frozen=True)
class Scenario:
    """A parsed, validated scenario file. Times are seconds; ``duration_s`` is whole minutes.

    ``rates`` (episodes per user-day) and ``durations`` (``(min, max)`` seconds) hold every
    kind, defaults filled in. ``persons`` maps a watch index to profile fields that
    replace the sampled ones.
    """

    name: str
    seed: int
    watches: int
    duration_s: int
    start_epoch_s: float
    watch: WatchSettings
    rates: Mapping[Kind, float]
    durations: Mapping[Kind, tuple[float, float]]
    episodes: tuple[ExactEpisode, ...]
    link: LinkSettings
    persons: Mapping[int, Mapping[str, object]]
    source: str = field(default="<string>", compare=False)

    def plan(self, seed: int | None = None) -> tuple[WatchPlan, ...]:
        """One plan per watch; the same scenario and seed always give identical plans.

        ``seed`` (e.g. the CLI's ``--seed``) overrides the file's seed.
        """
        return tuple(self.plan_watch(i, seed) for i in range(self.watches))

    def plan_watch(self, index: int, seed: int | None = None) -> WatchPlan:
        """The plan of watch ``index`` alone.

        Each watch draws from its own streams, so its plan does not depend on how many
        watches the cohort has: a farm process can plan only the watches it runs.
        """
        if not 0 <= index < self.watches:
            raise IndexError(f"watch {index} outside 0..{self.watches - 1}")
        seed = self.seed if seed is None else _check_seed("seed", seed)
        identity = _rng(seed, index, _Purpose.IDENTITY)
        serial = f"{int(identity.integers(0, 2**48)):012X}"
        # BLE passkeys are 0..999999, shown zero-padded to six digits
        passkey = int(identity.integers(0, 1_000_000)) if self.watch.passkey else None
        profile = PersonProfile.sample(_rng(seed, index, _Purpose.PROFILE))
        overrides = self.persons.get(index)
        if overrides:
            profile = _with_fields(profile, overrides)
        clock = _rng(seed, index, _Purpose.CLOCK)
        runtime_state = np.random.SeedSequence([seed, index, _Purpose.RUNTIME]).generate_state(2)
        return WatchPlan(
            index=index,
            device_name=f"WearSim-{index:04d}",
            serial=serial,
            seed=(int(runtime_state[0]) << 31) ^ int(runtime_state[1]),
            profile=profile,
            episodes=self._episodes(index, _rng(seed, index, _Purpose.EPISODES)),
            link_events=self._link_events(index, _rng(seed, index, _Purpose.LINK)),
            clock_drift_ppm=_draw(clock, self.watch.clock_drift_ppm),
            clock_offset_s=_draw(clock, self.watch.clock_offset_s),
            flash_bytes=self.watch.flash_bytes,
            battery_mah=self.watch.battery_mah,
            passkey=passkey,
        )

    def _episodes(self, index: int, rng: np.random.Generator) -> tuple[Episode, ...]:
        fixed = [e.episode for e in self.episodes if e.watch in (None, index)]
        requests = []
        for kind in KINDS:  # fixed order: the draws must not depend on dict order
            lo, hi = self.durations[kind]
            for _ in range(sampling.poisson_count(rng, self.rates[kind], self._days)):
                requests.append(
                    sampling.Request(
                        kind=kind,
                        length_s=sampling.uniform_int(rng, lo, hi),
                        min_length_s=max(1, round(lo)),
                        severity=round(float(rng.uniform(0.0, 1.0)), 2),
                    )
                )
        placed, _dropped = sampling.place_episodes(rng, self.duration_s, requests, fixed)
        return tuple(sorted(fixed + placed))

    def _link_events(self, index: int, rng: np.random.Generator) -> tuple[LinkEvent, ...]:
        exact = [e.event for e in self.link.events if e.watch in (None, index)]
        lo, hi = self.link.out_of_range_duration_s
        count = sampling.poisson_count(rng, self.link.out_of_range_per_day, self._days)
        lengths = [sampling.uniform_int(rng, lo, hi) for _ in range(count)]
        fixed_oor = [(e.onset_s, e.end_s) for e in exact if e.kind == "out_of_range"]
        oor = sampling.place_periods(rng, self.duration_s, lengths, max(1, round(lo)), fixed_oor)
        drops = sampling.place_instants(
            rng,
            self.duration_s,
            sampling.poisson_count(rng, self.link.drops_per_hour, self.duration_s / 3600.0),
            fixed_oor + oor,  # a drop while unreachable would be no event at all
        )
        events = exact + [LinkEvent(a, b, "out_of_range") for a, b in oor]
        events += [LinkEvent(t, t, "drop") for t in drops]
        return tuple(sorted(events))

    @property
    def _days(self) -> float:
        return self.duration_s / sampling.SECONDS_PER_DAY


def _draw(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    lo, hi = bounds
    # always consume a draw so a fixed value does not shift later draws
    u = float(rng.uniform(0.0, 1.0))
    return lo + (hi - lo) * u


# --------------------------------------------------------------------------- loading


def scenario_load(path: str | Path) -> Scenario:
    """Read and validate a scenario file; errors name the file and the field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        # A binary file or another encoding: TOML is UTF-8 text.
        raise ScenarioError(
            "",
            None,
            f"not a scenario: not UTF-8 text ({exc.reason} at byte {exc.start}); pass a "
            "TOML scenario file such as examples/quick.toml",
            source=str(path),
        ) from None
    except OSError as exc:
        raise ScenarioError(
            "", str(path), f"cannot read scenario file: {exc}", source=str(path)
        ) from exc
    return scenario_parse(text, source=str(path))


def scenario_parse(text: str, source: str = "<string>") -> Scenario:
    """Parse and validate scenario TOML ``text``; ``source`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("", None, f"not valid TOML: {exc}", source=source) from exc
    try:
        return _Parser(source).scenario(data)
    except ScenarioError as exc:
        raise exc.with_source(source) from None


# --------------------------------------------------------------------------- parsing


class _Table:
    """One TOML table being read: knows its path and rejects unknown keys up front."""

    def __init__(self, data: object, path: str, allowed: Sequence[str]) -> None:
        if not isinstance(data, dict):
            raise ScenarioError(path, data, f"expected a table, got {_kind_of(data)}")
        self.data: dict[str, object] = data
        self.path = path
        for key in data:
            if key not in allowed:
                problem = unknown_key_problem(key, allowed, None, ScenarioError.known_keys)
                raise ScenarioError(self.at(key), data[key], problem)

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str) -> object | None:
        return self.data.get(key)

    def require(self, key: str, hint: str) -> object:
        if key not in self.data:
            raise ScenarioError(self.at(key), None, f"missing; {hint}")
        return self.data[key]

    def one_of(self, keys: Sequence[str], hint: str, *, required: bool) -> str | None:
        """Which of several alternative keys is given; at most one may be."""
        given = [k for k in keys if k in self.data]
        if len(given) > 1:
            raise ScenarioError(
                self.at(given[1]), self.data[given[1]], f"give only one of {', '.join(given)}"
            )
        if not given and required:
            raise ScenarioError(self.at(keys[0]), None, f"missing; {hint}")
        return given[0] if given else None


def _kind_of(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"{type(value).__name__} {value!r}"


def _num(x: float) -> str:
    return str(int(x)) if x == int(x) else f"{x:g}"


def _range(path: str, value: object, read: Callable[[str, object], float]) -> tuple[float, float]:
    """A fixed value or ``[min, max]`` (a tuple, in code)."""
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise ScenarioError(path, value, f"expected [min, max], got {len(value)} items")
        lo, hi = read(f"{path}[0]", value[0]), read(f"{path}[1]", value[1])
        if lo > hi:
            raise ScenarioError(path, value, f"min {value[0]!r} is above max {value[1]!r}")
        return lo, hi
    x = read(path, value)
    return x, x


def _check_seed(path: str, value: object) -> int:
    seed: int = field_convert(path, value, _Seed, ScenarioError)
    return seed


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.watches = 0
        self.duration_s = 0

    def scenario(self, data: dict[str, object]) -> Scenario:
        top = _Table(
            data, "", ("scenario", "watch", "rates", "durations", "episode", "link", "person")
        )
        head = _Table(
            top.require("scenario", "add a [scenario] table with watches and duration"),
            "scenario",
            ("name", "seed", "watches", "duration", "days", "duration_s", "start"),
        )
        name = self._name(head)
        seed = _check_seed(head.at("seed"), head.data.get("seed", DEFAULT_SEED))
        self.watches = _read(_Watches)(
            head.at("watches"), head.require("watches", "give the cohort size, e.g. watches = 10")
        )
        self.duration_s = self._scenario_duration(head)
        start = _start(head.at("start"), head.data.get("start", DEFAULT_START))
        durations = self._durations(top.get("durations"))
        return Scenario(
            name=name,
            seed=seed,
            watches=self.watches,
            duration_s=self.duration_s,
            start_epoch_s=start,
            watch=self._watch(top.get("watch")),
            rates=self._rates(top.get("rates"), durations),
            durations=durations,
            episodes=self._episodes(top.get("episode")),
            link=self._link(top.get("link")),
            persons=self._persons(top.get("person")),
            source=self.source,
        )

    def _name(self, head: _Table) -> str:
        if "name" not in head.data:
            return Path(self.source).stem if not self.source.startswith("<") else "scenario"
        name = head.data["name"]
        if not isinstance(name, str) or not name.strip():
            raise ScenarioError(head.at("name"), name, "expected a non-empty string")
        return name

    def _scenario_duration(self, head: _Table) -> int:
        key = head.one_of(
            ("duration", "days", "duration_s"),
            "give duration = '2h' (or days = 1.5, or duration_s = 7200)",
            required=True,
        )
        assert key is not None
        path, value = head.at(key), head.data[key]
        seconds: float = _read(_Span if key == "duration" else _Number)(path, value)
        try:
            # the rule every simulated duration follows: (0, 366 days], whole minutes
            return simulated_duration(seconds * 86_400.0 if key == "days" else seconds)
        except ValueError:
            raise ScenarioError(
                path, value, f"{value!r}: expected more than 0 and at most 366 days"
            ) from None

    def _watch(self, data: object) -> WatchSettings:
        if data is None:
            return WatchSettings()
        if not isinstance(data, dict):
            raise ScenarioError("watch", data, f"expected a table, got {_kind_of(data)}")
        return schema_from_mapping(WatchSettings, data)

    def _durations(self, data: object) -> Mapping[Kind, tuple[float, float]]:
        out = dict(DEFAULT_DURATIONS_S)
        if data is not None:
            t = _Table(data, "durations", list(_KIND_BY_NAME))
            for name, value in t.data.items():
                kind = _KIND_BY_NAME[name]
                path = t.at(name)
                if not isinstance(value, list):
                    raise ScenarioError(path, value, "expected [min, max], e.g. ['10min', '40min']")
                lo, hi = _range(path, value, _read(_Span))
                if lo < 1:
                    raise ScenarioError(path, value, "episodes last at least 1s")
                if kind is AnomalyKind.FALL and not (lo >= FALL_MIN_S and hi <= FALL_MAX_S):
                    raise ScenarioError(
                        path, value, "a fall (impact, then stillness) lasts minutes: 1min to 60min"
                    )
                out[kind] = (lo, hi)
        return types.MappingProxyType(out)

    def _rates(
        self, data: object, durations: Mapping[Kind, tuple[float, float]]
    ) -> Mapping[Kind, float]:
        out = dict.fromkeys(KINDS, 0.0)
        if data is not None:
            t = _Table(data, "rates", list(_KIND_BY_NAME))
            for name, value in t.data.items():
                kind = _KIND_BY_NAME[name]
                rate = _read(_Rate)(t.at(name), value)
                lo, hi = durations[kind]
                coverage = rate * (lo + hi) / 2 / sampling.SECONDS_PER_DAY
                if coverage > MAX_COVERAGE:
                    raise ScenarioError(
                        t.at(name),
                        value,
                        f"{rate:g} episodes/day of {duration_format(lo)}..{duration_format(hi)} "
                        f"would cover {coverage:.0%} of the time; at most {MAX_COVERAGE:.0%} "
                        f"allowed: lower the rate or durations.{name}",
                    )
                out[kind] = rate
        return types.MappingProxyType(out)

    def _array(self, data: object, path: str) -> list[object]:
        if data is None:
            return []
        if not isinstance(data, list):
            raise ScenarioError(path, data, f"expected [[{path}]] tables, got {_kind_of(data)}")
        return data

    def _watch_ref(self, t: _Table, *, allow_all: bool) -> int | None:
        value = t.require("watch", "give a watch index" + (' or "all"' if allow_all else ""))
        if allow_all and value == "all":
            return None
        if isinstance(value, str):
            hint = 'a watch index or "all"' if allow_all else "a watch index"
            raise ScenarioError(t.at("watch"), value, f"expected {hint}, got {value!r}")
        index: int = field_convert(
            t.at("watch"), value, Annotated[int, Meta(ge=0, le=self.watches - 1)], ScenarioError
        )
        return index

    def _onset(self, t: _Table) -> float:
        key = t.one_of(("at", "onset_s"), "give at = '20min' (or onset_s = 1200)", required=True)
        assert key is not None
        onset: float = _read(_Onset)(t.at(key), t.data[key])
        if onset >= self.duration_s:
            raise ScenarioError(
                t.at(key),
                t.data[key],
                f"{t.data[key]!r} is not before the end of the scenario "
                f"({duration_format(self.duration_s)})",
            )
        return onset

    def _length(self, t: _Table, *, required: bool) -> float | None:
        key = t.one_of(
            ("duration", "duration_s"),
            "give duration = '10min' (or duration_s = 600)",
            required=required,
        )
        return None if key is None else _read(_Span)(t.at(key), t.data[key])

    def _episodes(self, data: object) -> tuple[ExactEpisode, ...]:
        out: list[ExactEpisode] = []
        seen: list[tuple[int | None, Episode, str]] = []
        for i, item in enumerate(self._array(data, "episode")):
            t = _Table(
                item,
                f"episode[{i}]",
                ("watch", "kind", "at", "onset_s", "duration", "duration_s", "severity"),
            )
            watch = self._watch_ref(t, allow_all=True)
            name = t.require("kind", _one_of(_KIND_BY_NAME))
            if not isinstance(name, str) or name not in _KIND_BY_NAME:
                raise ScenarioError(
                    t.at("kind"),
                    name,
                    f"unknown kind {name!r}{did_you_mean(str(name), _KIND_BY_NAME)} "
                    f"({_one_of(_KIND_BY_NAME)})",
                )
            kind = _KIND_BY_NAME[name]
            onset = self._onset(t)
            length = self._length(t, required=True)
            assert length is not None
            severity = _read(_Severity)(t.at("severity"), t.data.get("severity", 0.5))
            end = min(onset + length, float(self.duration_s))  # clipped: see the docs
            if kind is AnomalyKind.FALL and not FALL_MIN_S <= end - onset <= FALL_MAX_S:
                raise ScenarioError(
                    t.path,
                    None,
                    "a fall (impact, then stillness) lasts 1min to 60min, all of it before "
                    f"the end of the scenario; got {duration_format(end - onset)}",
                )
            episode = Episode(onset, end, kind, severity)
            for other_watch, other, other_path in seen:
                if (
                    other.kind == kind
                    and (watch is None or other_watch is None or watch == other_watch)
                    and onset < other.end_s
                    and other.onset_s < end
                ):
                    raise ScenarioError(
                        t.path, None, f"overlaps {other_path} ({kind} on the same watch); move it"
                    )
            seen.append((watch, episode, t.path))
            out.append(ExactEpisode(watch, episode))
        return tuple(out)

    def _link(self, data: object) -> LinkSettings:
        if data is None:
            return LinkSettings()
        t = _Table(
            data,
            "link",
            ("drops_per_hour", "out_of_range_per_day", "out_of_range_duration", "event"),
        )
        drops = _read(_DropsPerHour)(t.at("drops_per_hour"), t.data.get("drops_per_hour", 0.0))
        oor_rate = _read(_Rate)(
            t.at("out_of_range_per_day"), t.data.get("out_of_range_per_day", 0.0)
        )
        oor_path = t.at("out_of_range_duration")
        oor_value = t.data.get("out_of_range_duration", list(DEFAULT_OUT_OF_RANGE_S))
        if not isinstance(oor_value, list):
            raise ScenarioError(oor_path, oor_value, "expected [min, max], e.g. ['1min', '10min']")
        lo, hi = _range(oor_path, oor_value, _read(_Span))
        coverage = oor_rate * (lo + hi) / 2 / sampling.SECONDS_PER_DAY
        if coverage > MAX_COVERAGE:
            raise ScenarioError(
                t.at("out_of_range_per_day"),
                oor_rate,
                f"would keep a watch out of range {coverage:.0%} of the time; at most "
                f"{MAX_COVERAGE:.0%}: lower it or out_of_range_duration",
            )
        return LinkSettings(drops, oor_rate, (lo, hi), self._link_events(t.get("event")))

    def _link_events(self, data: object) -> tuple[ExactLinkEvent, ...]:
        out: list[ExactLinkEvent] = []
        for i, item in enumerate(self._array(data, "link.event")):
            t = _Table(
                item,
                f"link.event[{i}]",
                ("watch", "kind", "at", "onset_s", "duration", "duration_s"),
            )
            watch = self._watch_ref(t, allow_all=True)
            kind = t.require("kind", _one_of(LINK_KINDS))
            if kind not in LINK_KINDS:
                raise ScenarioError(
                    t.at("kind"),
                    kind,
                    f"unknown kind {kind!r}{did_you_mean(str(kind), LINK_KINDS)} "
                    f"({_one_of(LINK_KINDS)})",
                )
            onset = self._onset(t)
            if kind == "drop":
                self._length(t, required=False)  # validated, then ignored: drops are instants
                event = LinkEvent(onset, onset, "drop")
            else:
                length = self._length(t, required=True)
                assert length is not None
                event = LinkEvent(onset, min(onset + length, float(self.duration_s)), kind)
                for j, other in enumerate(out):
                    if (
                        other.event.kind == kind
                        and (watch is None or other.watch is None or watch == other.watch)
                        and onset < other.event.end_s
                        and other.event.onset_s < event.end_s
                    ):
                        raise ScenarioError(
                            t.path, None, f"overlaps link.event[{j}] on the same watch; move it"
                        )
            out.append(ExactLinkEvent(watch, event))
        return tuple(out)

    def _persons(self, data: object) -> Mapping[int, Mapping[str, object]]:
        hints = _profile_fields()
        out: dict[int, Mapping[str, object]] = {}
        reference = PersonProfile.sample(np.random.default_rng(0))
        for i, item in enumerate(self._array(data, "person")):
            t = _Table(item, f"person[{i}]", ("watch", *hints))
            watch = self._watch_ref(t, allow_all=False)
            assert watch is not None
            if watch in out:
                raise ScenarioError(t.at("watch"), watch, f"watch {watch} already has a [[person]]")
            fields: dict[str, object] = {}
            for key, value in t.data.items():
                if key == "watch":
                    continue
                fields[key] = _profile_value(t.at(key), value, hints[key])
                # let the profile's own validation speak, attributed to this one key
                _try_profile(t.at(key), reference, {key: fields[key]}, value)
            _try_profile(t.path, reference, fields, None)
            out[watch] = types.MappingProxyType(fields)
        return types.MappingProxyType(out)


def _start(path: str, value: object) -> float:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ScenarioError(
                path, value, f"cannot read {value!r}; expected e.g. '2026-01-05T06:00:00Z'"
            ) from None
    if not isinstance(value, dt.datetime):
        raise ScenarioError(
            path, None, f"expected a date-time such as 2026-01-05T06:00:00Z, got {_kind_of(value)}"
        )
    if value.tzinfo is None:
        raise ScenarioError(
            path, None, "the start needs a time zone: append Z for UTC, e.g. 2026-01-05T06:00:00Z"
        )
    if not _EARLIEST_START <= value < _LATEST_START:
        # Watch timestamps outside this window are rejected by the gateway as implausible.
        raise ScenarioError(
            path, value, "the start must be between 2000-01-01 and 2099-12-31 (UTC)"
        )
    return value.timestamp()


_EARLIEST_START = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_LATEST_START = dt.datetime(2099, 12, 31, tzinfo=dt.UTC)


def _profile_fields() -> dict[str, object]:
    """Field name -> type for PersonProfile, read from the class so the two never drift."""
    hints = typing.get_type_hints(PersonProfile)
    return {f.name: hints.get(f.name, object) for f in dataclasses.fields(PersonProfile)}


def _profile_value(path: str, value: object, hint: object) -> object:
    # the plain types are checked here; the profile's own rules follow (_try_profile)
    return _read(hint)(path, value) if hint in (int, float, str, bool) else value


def _with_fields(profile: PersonProfile, fields: Mapping[str, object]) -> PersonProfile:
    # the values were type-checked against PersonProfile's annotations when parsed
    return dataclasses.replace(profile, **typing.cast(dict[str, typing.Any], fields))


def _try_profile(
    path: str, reference: PersonProfile, fields: Mapping[str, object], value: object
) -> None:
    try:
        _with_fields(reference, fields)
    except (ValueError, TypeError) as exc:
        raise ScenarioError(path, value, str(exc)) from None
