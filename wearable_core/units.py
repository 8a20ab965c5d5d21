"""Units shared by every role: durations and byte sizes as people write them, the seed range.

A duration is ``"1h30min"``, ``"90s"``, ``"2d"`` or a number of seconds
(:func:`duration_parse`); :func:`duration_format` writes the canonical form back, and
:func:`simulated_duration` is the rule for how long a simulation runs. A byte size is
``"512MiB"``, ``"5MB"`` or a number of bytes (:func:`byte_size_parse`,
:func:`byte_size_format`). These are the only parsers of either: every command line
option, configuration key and scenario field reads its durations and sizes through them
(``docs/config.md``).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from fractions import Fraction

import numpy as np

#: Largest seed a scenario or a cohort accepts (a signed 64-bit integer).
MAX_SEED = 2**63 - 1
#: Longest simulated run: a leap year.
MAX_DURATION_S = 366 * 86_400


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A "; did you mean ..." hint for the closest of ``choices``, or ``""``."""
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    # a key missing its unit suffix ("age" for "age_years") is too short for difflib
    close = close or [c for c in choices if len(word) >= 3 and c.startswith(word)][:1]
    return f"; did you mean {close[0]!r}?" if close else ""


# --------------------------------------------------------------------------- durations

_UNITS: dict[str, float] = {
    **dict.fromkeys(("d", "day", "days"), 86_400.0),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600.0),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60.0),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1.0),
}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_PART = re.compile(rf"\s*({_NUMBER})\s*([a-z]+)\s*")
_DURATION = re.compile(rf"(?:\s*{_NUMBER}\s*[a-z]+\s*)+")


def duration_parse(text: str | int | float) -> float:
    """Seconds in a duration such as ``"1h30min"``, ``"90s"``, ``"2d"`` or ``"1.5h"``.

    Numbers (and strings holding only a number) are seconds. Units: ``d``, ``h``,
    ``min`` (or ``m``), ``s`` and their long forms; each at most once, largest first.
    Raises ``ValueError`` for anything else, including negative or non-finite values.
    """
    if isinstance(text, bool):  # bool is an int subclass; `true` is never a duration
        raise ValueError(f"expected a duration such as '90s' or '1h30min', got {text!r}")
    if isinstance(text, int | float):
        seconds = float(text)
    elif isinstance(text, str):
        seconds = _parse_duration_text(text)
    else:
        raise ValueError(f"expected a duration such as '90s' or '1h30min', got {text!r}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a duration must be finite and >= 0, got {text!r}")
    return seconds


def _parse_duration_text(text: str) -> float:
    s = text.strip().lower()
    if re.fullmatch(_NUMBER, s):
        return float(s)
    if not _DURATION.fullmatch(s):
        raise ValueError(
            f"cannot read duration {text!r}: use a number of seconds or parts such as "
            "'2d', '1h30min', '45min', '90s'"
        )
    total, last = 0.0, math.inf
    for number, unit in _PART.findall(s):
        if unit not in _UNITS:
            raise ValueError(
                f"unknown unit {unit!r} in duration {text!r}{did_you_mean(unit, _UNITS)} "
                "(units: d, h, min, s)"
            )
        size = _UNITS[unit]
        if size >= last:
            raise ValueError(f"duration {text!r}: give each unit once, largest first")
        last = size
        total += float(number) * size
    return total


def duration_format(seconds: float) -> str:
    """Canonical text for ``seconds`` that :func:`duration_parse` reads back exactly.

    Whole seconds use units (``"1h30min"``); anything else is plain seconds.
    """
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"cannot format duration {seconds!r}")
    if seconds != int(seconds):
        # positional (never exponent) notation with the shortest round-tripping digits
        return f"{np.format_float_positional(seconds)}s"
    rest = int(seconds)
    parts = []
    for unit, size in (("d", 86_400), ("h", 3600), ("min", 60), ("s", 1)):
        n, rest = divmod(rest, size)
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts) or "0s"


def simulated_duration(text: str | int | float) -> int:
    """Seconds a simulation runs for ``text``: more than 0, at most 366 days, whole minutes.

    Rounded up to a whole minute: temperature records and the gateway's windows are per
    minute, so every simulated duration (a scenario's, or a command's ``--duration``) is.
    Raises ``ValueError`` naming the accepted range.

    Examples
    --------
    >>> simulated_duration("6h"), simulated_duration("90"), simulated_duration(90)
    (21600, 120, 120)
    """
    seconds = duration_parse(text)
    if not 0 < seconds <= MAX_DURATION_S:
        raise ValueError(
            f"{text!r}: a simulated duration is more than 0 s and at most 366 days "
            "(e.g. 600, 90s, 6h, 2d)"
        )
    return math.ceil(seconds / 60.0) * 60


# --------------------------------------------------------------------------- byte sizes

#: Bytes per unit, upper-cased: decimal (``KB`` = 1000) and binary (``KiB`` = 1024).
BYTE_UNITS: dict[str, int] = {
    "B": 1,
    **{f"{p}B": 1000 ** (i + 1) for i, p in enumerate("KMGT")},
    **{f"{p}IB": 1024 ** (i + 1) for i, p in enumerate("KMGT")},
}
_SIZE = re.compile(rf"\s*({_NUMBER})\s*([a-z]*)\s*", re.IGNORECASE)
_SIZE_EXAMPLES = '"512MiB", "5MB", "1.5GiB" or a number of bytes'


def byte_size_parse(text: str | int) -> int:
    """Bytes in a size such as ``"512MiB"``, ``"5MB"``, ``"1.5 GiB"`` or ``1048576``.

    Units (any case): ``B``; ``KB``, ``MB``, ``GB``, ``TB`` (powers of 1000); ``KiB``,
    ``MiB``, ``GiB``, ``TiB`` (powers of 1024). A number alone is bytes; a fraction of a
    byte is dropped. Raises ``ValueError`` for anything else, including negative sizes.

    Examples
    --------
    >>> byte_size_parse("512MiB"), byte_size_parse("5 mb"), byte_size_parse(4096)
    (536870912, 5000000, 4096)
    """
    if isinstance(text, bool) or not isinstance(text, int | str):
        raise ValueError(f"expected a size such as {_SIZE_EXAMPLES}, got {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"a size must be >= 0 bytes, got {text!r}")
        return text
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size; use {_SIZE_EXAMPLES}")
    number, unit = match.group(1), match.group(2).upper() or "B"
    if unit not in BYTE_UNITS:
        canonical = {u: u.replace("IB", "iB") for u in BYTE_UNITS}
        close = difflib.get_close_matches(unit, canonical, n=1, cutoff=0.6)
        hint = f"; did you mean {canonical[close[0]]!r}?" if close else ""
        raise ValueError(
            f"{text!r} is not a size: unknown unit {match.group(2)!r}{hint} "
            f"(units: {', '.join(canonical.values())})"
        )
    return int(Fraction(number) * BYTE_UNITS[unit])


def byte_size_format(size: int) -> str:
    """The shortest exact text for ``size``: ``"16TiB"``, ``"100KB"``, else bytes.

    Examples
    --------
    >>> byte_size_format(512 * 1024**2), byte_size_format(100_000), byte_size_format(1001)
    ('512MiB', '100KB', '1001B')
    """
    exact = [
        f"{size // factor}{unit.replace('IB', 'iB')}"
        for unit, factor in BYTE_UNITS.items()
        if size >= factor and size % factor == 0
    ]
    return min(exact, key=len, default=f"{size}B")
