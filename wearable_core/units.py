"""Units shared by every role: durations as people write them, and the seed range.

A duration is ``"1h30min"``, ``"90s"``, ``"2d"`` or a number of seconds
(:func:`parse_duration`); :func:`format_duration` writes the canonical form back.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable

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


def parse_duration(text: str | int | float) -> float:
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


def format_duration(seconds: float) -> str:
    """Canonical text for ``seconds`` that :func:`parse_duration` reads back exactly.

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
