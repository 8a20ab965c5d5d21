"""Byte sizes and simulated durations: the one parser of each (durations: test_scenario.py)."""

from __future__ import annotations

import pytest

from wearable_core.units import byte_size_format, byte_size_parse, simulated_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (1_048_576, 1_048_576),
        ("1048576", 1_048_576),
        ("512KiB", 512 * 1024),
        ("512 kib", 512 * 1024),
        ("5MB", 5_000_000),
        ("1.5GiB", 3 * 1024**3 // 2),
        ("3000000B", 3_000_000),
        ("1TiB", 1024**4),
        ("2 tb", 2 * 1000**4),
        (" 7 ", 7),
    ],
)
def test_byte_sizes(text: str | int, expected: int) -> None:
    assert byte_size_parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lots", """'lots' is not a size; use "512MiB", "5MB", "1.5GiB" or a number of bytes"""),
        (
            "5 mbit",
            "'5 mbit' is not a size: unknown unit 'mbit'; did you mean 'MB'? "
            "(units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)",
        ),
        (-1, "a size must be >= 0 bytes, got -1"),
        (
            True,
            """expected a size such as "512MiB", "5MB", "1.5GiB" or a number of bytes, got True""",
        ),
        (
            2.5,
            """expected a size such as "512MiB", "5MB", "1.5GiB" or a number of bytes, got 2.5""",
        ),
    ],
)
def test_a_bad_byte_size_says_what_would_do(text: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        byte_size_parse(text)  # type: ignore[arg-type]
    assert str(caught.value) == message


@pytest.mark.parametrize("size", [0, 1, 1000, 1024, 512 * 1024**2, 3 * 1024**3 // 2, 16 * 1024**4])
def test_formatted_sizes_read_back(size: int) -> None:
    assert byte_size_parse(byte_size_format(size)) == size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("600", 600), (600, 600), ("90s", 120), ("15min", 900), ("6h", 21_600), ("2d", 172_800)],
)
def test_simulated_durations_are_whole_minutes(text: str | int, seconds: int) -> None:
    assert simulated_duration(text) == seconds


@pytest.mark.parametrize("text", ["0", "0s", "367d", "soon", "-5"])
def test_a_simulated_duration_outside_a_leap_year_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        simulated_duration(text)
