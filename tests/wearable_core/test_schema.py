"""The schema machinery itself: errors as one family, text fields, finiteness."""

from __future__ import annotations

import math
import pickle
from typing import Annotated

import pytest
from msgspec import Meta

from wearable_core.schema import ByteSize, Duration, FieldSpec, SchemaError, field_convert


class _OtherError(SchemaError):
    """A member of the family with its own wording."""

    @classmethod
    def wrong_type(cls, spec: FieldSpec, given: object) -> str:
        return f"no good: {given!r}"


def test_an_error_keeps_its_class_and_parts_through_pickle_and_source() -> None:
    error = _OtherError("a.b", 3, "no good", source="f.toml")
    back = pickle.loads(pickle.dumps(error))
    attributed = _OtherError("a.b", 3, "no good").with_source("g.toml")
    assert type(back) is type(attributed) is _OtherError
    assert (back.field, back.value, back.problem, str(back)) == (
        "a.b",
        3,
        "no good",
        "f.toml: a.b: no good",
    )
    assert str(attributed) == "g.toml: a.b: no good"
    assert str(SchemaError("", None, "not valid TOML", source="f.toml")) == "f.toml: not valid TOML"


def test_the_error_class_words_the_message() -> None:
    with pytest.raises(_OtherError, match=r"^x: no good: 'y'$"):
        field_convert("x", "y", int, _OtherError)


@pytest.mark.parametrize(
    ("hint", "text", "expected"),
    [(Duration, "1h30min", 5400.0), (Duration, 90, 90.0), (ByteSize, "2KiB", 2048)],
)
def test_text_fields_read_the_shared_grammar(hint: object, text: object, expected: float) -> None:
    assert field_convert("f", text, hint) == expected


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_a_number_must_be_finite_even_without_limits(value: float) -> None:
    with pytest.raises(SchemaError, match="out of range"):
        field_convert("f", value, float)


def test_limits_come_from_the_declaration() -> None:
    hint = Annotated[Duration, Meta(ge=2, le=3600)]
    with pytest.raises(SchemaError) as caught:
        field_convert("ble.watchdog_s", "1s", hint)
    assert str(caught.value) == (
        "ble.watchdog_s: '1s' (1 s) is out of range; use a duration in [2, 3600] s, as a "
        'number of seconds or text such as "90s", "15min", "6h"'
    )
