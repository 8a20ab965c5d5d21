"""Declarative input schemas: each field's type and limits written once, checked by msgspec.

Every TOML or JSON file a person writes (the gateway configuration, scenarios) is read
into a :class:`Schema`: a frozen dataclass whose fields carry their limits in
``typing.Annotated`` metadata, which `msgspec <https://jcristharif.com/msgspec/>`_ checks
(``docs/config.md`` says why msgspec)::

    @dataclass(frozen=True)
    class StoreConfig(Schema):
        path_prefix: ClassVar[str] = "store"
        batch_max: Annotated[int, Meta(ge=1, le=100_000)] = 500
        flush_interval_s: Annotated[Duration, Meta(gt=0, le=60)] = 0.5

Construction checks and normalises every field, whether the values come from a file
(:func:`schema_from_mapping`) or from code, so both get the same errors. A failure is a
:class:`SchemaError` naming the field path, the value, what is wrong and what would be
accepted; msgspec's own messages name neither the value nor the fix, so the message is
written here from the declared limits. Unknown keys are errors with a did-you-mean.

:data:`Duration` and :data:`ByteSize` are the shared field types for time spans and
sizes: a number (seconds, bytes) or text that :func:`wearable_core.units.duration_parse`
and :func:`~wearable_core.units.byte_size_parse` read, the same grammar every command
line option uses.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, TypeVar

import msgspec

from wearable_core.units import byte_size_format, byte_size_parse, did_you_mean, duration_parse

__all__ = [
    "ByteSize",
    "Check",
    "Duration",
    "FieldSpec",
    "Schema",
    "SchemaError",
    "WholeSeconds",
    "field_convert",
    "schema_from_mapping",
    "unknown_key_problem",
]


class SchemaError(ValueError):
    """An input value is missing its mark.

    Attributes
    ----------
    field
        Dotted path of the offending key (``"ble.backoff_max_s"``), or ``"(file)"`` /
        ``"(syntax)"`` when the file itself cannot be read or parsed.
    value
        The offending value as given (``None`` when there is none).
    problem
        What is wrong and what would be accepted, without the location prefix.
    source
        Where the value came from: a file name, ``"<string>"``, ``"command line"``.
    """

    def __init__(self, field: str, value: object, problem: str, *, source: str | None = "") -> None:
        self.field = field
        self.value = value
        self.problem = problem
        self.source = source
        # a file that cannot be read at all has no field: "<source>: <problem>"
        super().__init__(": ".join(part for part in (source, field, problem) if part))

    def __reduce__(self) -> tuple[Any, ...]:
        # the default would call the class with the message alone and fail: keep errors
        # picklable so they survive multiprocessing and process-pool boundaries
        return (_rebuild, (type(self), self.field, self.value, self.problem, self.source))

    def with_source(self, source: str) -> SchemaError:
        """The same error (of the same class), attributed to ``source``."""
        return type(self)(self.field, self.value, self.problem, source=source)

    # How this family of inputs words its problems; a subclass may word them its own way.

    #: How an unknown-key message introduces the keys that are known.
    known_keys: ClassVar[str] = "known keys:"

    @classmethod
    def wrong_type(cls, spec: FieldSpec, given: object) -> str:
        """The problem when ``given`` is not of the field's type."""
        return f"must be {spec.accepted()}, got {given!r}"

    @classmethod
    def out_of_range(cls, spec: FieldSpec, given: object, number: float | None) -> str:
        """The problem when ``given`` (read from text as ``number``) is outside the limits."""
        # text shows what it was read as: "'2h' (7200 s) is out of range"
        shown = f"{given!r} ({_number(number)}{spec.unit})" if number is not None else None
        return f"{shown or f'{given}{spec.unit}'} is out of range; use {spec.accepted()}"

    @classmethod
    def unreadable(cls, spec: FieldSpec, given: object, reason: str) -> str:
        """The problem when the field's parser cannot read ``given``; ``reason`` is why."""
        # the parser's message explains the grammar; add this field's limits
        bounds = spec.bounds()
        unit = spec.unit if spec.text is not None and spec.text.show is None else ""
        return f"{reason}; {spec.path} takes {bounds}{unit}" if bounds else reason


def _rebuild(
    cls: type[SchemaError], field: str, value: object, problem: str, source: str | None
) -> SchemaError:
    return cls(field, value, problem, source=source)


@dataclass(frozen=True)
class _Text:
    """Field metadata: text is read by one parser into the field's number.

    ``accepts`` describes the field with ``{bounds}`` where its declared limits go;
    ``show`` writes a limit (``"16TiB"``), or ``None`` for an interval of numbers.
    """

    name: str
    parse: Callable[[str], float]
    accepts: str
    unit: str
    show: Callable[[float], str] | None = None


#: A time span in seconds: a number, or text such as ``"90s"``, ``"15min"``, ``"6h"``, ``"2d"``.
Duration = Annotated[
    float,
    _Text(
        "duration",
        duration_parse,
        'a duration{bounds}, as a number of seconds or text such as "90s", "15min", "6h"',
        " s",
    ),
]
#: A time span in whole seconds (``15``, ``"15s"``, ``"1min"``): a fraction is refused.
WholeSeconds = Annotated[
    int,
    _Text(
        "whole seconds",
        duration_parse,
        'a duration of whole seconds{bounds}, as an integer or text such as "15s", "1min"',
        " s",
    ),
]
#: A size in bytes: a number, or text such as ``"512KiB"``, ``"5MB"``, ``"1.5GiB"``.
ByteSize = Annotated[
    int,
    _Text(
        "byte size",
        byte_size_parse,
        'an integer number of bytes or a size such as "512MiB" or "2GB"{bounds}',
        " bytes",
        lambda size: byte_size_format(int(size)),
    ),
]


@dataclass(frozen=True)
class Check:
    """Field metadata: ``check(path, value)`` validates and normalises the field itself.

    For values no type and limits describe (an address, a table of passkeys); it raises
    the schema's error class with the path it is given.
    """

    check: Callable[[str, object], object]


# --------------------------------------------------------------------------- one field


def _number(value: float) -> str:
    """``60`` and ``2592000`` rather than ``60.0`` and ``2.592e+06`` in messages."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class FieldSpec:
    """A field's declaration as its error messages need it (see :meth:`SchemaError.wrong_type`).

    ``base`` is the plain type (``int``, ``float``, ``bool``, ``str``), ``meta`` the
    ``msgspec.Meta`` limits, ``text`` what reads its text (``text_name``: ``"duration"``,
    ``"whole seconds"``, ``"byte size"``, or ``None``).
    """

    path: str
    base: Any
    meta: msgspec.Meta | None
    text: _Text | None

    @property
    def low(self) -> float | None:
        """The lower limit (inclusive or, with :attr:`low_open`, exclusive), if any."""
        if self.meta is None:
            return None
        return self.meta.ge if self.meta.ge is not None else self.meta.gt

    @property
    def low_open(self) -> bool:
        """Whether the lower limit is exclusive (``Meta(gt=...)``)."""
        return self.meta is not None and self.meta.gt is not None

    @property
    def high(self) -> float | None:
        """The upper limit (inclusive), if any."""
        return None if self.meta is None else self.meta.le

    @property
    def text_name(self) -> str | None:
        """``"duration"``, ``"whole seconds"`` or ``"byte size"`` for text fields, else ``None``."""
        return None if self.text is None else self.text.name

    @property
    def unit(self) -> str:
        """What the field's number counts (``" s"``, ``" bytes"``), or ``""``."""
        return "" if self.text is None else self.text.unit

    def bounds(self) -> str:
        """The limits as people read them: ``1..100000``, ``(0, 60]``, ``1MiB..16TiB``."""
        low, high = self.low, self.high
        if low is None or high is None:
            return ""
        if self.text is not None and self.text.show is not None:
            return f"{self.text.show(low)}..{self.text.show(high)}"
        if self.base is int:
            return f"{_number(low)}..{_number(high)}"
        return f"{'(' if self.low_open else '['}{_number(low)}, {_number(high)}]"

    def accepted(self) -> str:
        """What the field accepts: ``"an integer in 1..100000 (the ATT MTU range)"``."""
        meta = self.meta
        hint = "" if meta is None or not meta.extra else str(meta.extra.get("hint", ""))
        if self.base is bool:
            return "true or false"
        if self.base is str:
            return f"a string{hint}"
        bounds = self.bounds()
        if self.text is not None:
            if bounds and self.text.show is None:
                bounds = f" in {bounds}{self.text.unit}"
            elif bounds:
                bounds = f", {bounds}"
            return self.text.accepts.format(bounds=bounds) + hint
        kind = "an integer" if self.base is int else "a number"
        return f"{kind}{' in ' + bounds if bounds else ''}{hint}"


def field_convert(
    path: str, value: object, hint: Any, error: type[SchemaError] = SchemaError
) -> Any:
    """``value`` checked against the declared type ``hint``, normalised; else ``error``.

    ``hint`` is a type, usually ``Annotated`` with ``msgspec.Meta`` limits, :data:`Duration`
    or :data:`ByteSize` text, or a :class:`Check`. Text for a duration or a size is read
    by its one parser; the result is then checked by ``msgspec.convert`` (a float must
    also be finite). The error class words the message (:meth:`SchemaError.wrong_type`).

    Examples
    --------
    >>> field_convert("store.flush_interval_s", "2min", Annotated[Duration, msgspec.Meta(le=600)])
    120.0
    >>> try:
    ...     field_convert("ble.mtu", 600, Annotated[int, msgspec.Meta(ge=23, le=517)])
    ... except SchemaError as exc:
    ...     print(exc)
    ble.mtu: 600 is out of range; use an integer in 23..517
    """
    base, *metadata = typing.get_args(hint) if typing.get_origin(hint) is Annotated else (hint,)
    for item in metadata:
        if isinstance(item, Check):
            return item.check(path, value)
    spec = FieldSpec(
        path,
        base,
        next((m for m in metadata if isinstance(m, msgspec.Meta)), None),
        next((m for m in metadata if isinstance(m, _Text)), None),
    )
    given, number = value, None
    if spec.text is not None and isinstance(value, str):
        try:
            number = spec.text.parse(value)
        except ValueError as exc:
            raise error(path, given, error.unreadable(spec, given, str(exc))) from None
        value = int(number) if base is int and number == int(number) else number
    try:
        result = msgspec.convert(value, hint)
    except msgspec.ValidationError:
        try:
            msgspec.convert(value, base)
        except msgspec.ValidationError:
            raise error(path, given, error.wrong_type(spec, given)) from None
        raise error(path, given, error.out_of_range(spec, given, number)) from None
    if isinstance(result, float) and not math.isfinite(result):
        raise error(path, given, error.out_of_range(spec, given, number))
    return result


# --------------------------------------------------------------------------- schemas


class Schema:
    """Base of a declarative schema: a frozen dataclass whose annotations are its checks.

    ``path_prefix`` names the section in error messages (``"store"`` gives
    ``store.batch_max``); ``error`` is the exception class raised. Subclasses add rules
    across fields in :meth:`check_fields`.
    """

    path_prefix: ClassVar[str] = ""
    error: ClassVar[type[SchemaError]] = SchemaError

    def __post_init__(self) -> None:
        """Check and normalise every field from its declaration, then the cross-field rules."""
        cls = type(self)
        for name, hint in _hints(cls).items():
            path = f"{cls.path_prefix}.{name}" if cls.path_prefix else name
            value = getattr(self, name)
            if isinstance(value, Schema):
                continue  # a nested section checked itself when it was built
            # frozen: the normalised value replaces the given one before anyone sees it
            object.__setattr__(self, name, field_convert(path, value, hint, cls.error))
        self.check_fields()

    def check_fields(self) -> None:
        """Rules that relate fields (``backoff_initial_s <= backoff_max_s``); none here."""


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type[Schema]) -> dict[str, Any]:
    """The declared type of each dataclass field of ``cls``, metadata included (cached)."""
    if cls not in _HINTS:
        hints = typing.get_type_hints(cls, include_extras=True)
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        _HINTS[cls] = {f.name: hints[f.name] for f in fields}
    return _HINTS[cls]


def unknown_key_problem(
    key: str, known: Iterable[str], elsewhere: str | None = None, listing: str = "known keys:"
) -> str:
    """The problem text for an unknown ``key``: did-you-mean, where it belongs, what is known.

    Examples
    --------
    >>> unknown_key_problem("backof_max_s", ["backoff_max_s", "mtu"])
    "unknown key; did you mean 'backoff_max_s'? (known keys: backoff_max_s, mtu)"
    """
    known = list(known)
    problem = f"unknown key{did_you_mean(key, known)}"
    if elsewhere is not None:
        problem += f"; {key!r} belongs in [{elsewhere}]"
    return f"{problem} ({listing} {', '.join(known)})"


S = TypeVar("S", bound=Schema)


def schema_from_mapping(cls: type[S], data: Mapping[str, Any]) -> S:
    """Build ``cls`` from a parsed TOML/JSON table, nested sections included.

    Every key must be a field (else a did-you-mean error, which also names the sibling
    section a misplaced key belongs in); a field that is itself a :class:`Schema` must be
    a table. Missing keys take their defaults.
    """
    sections = {name: hint for name, hint in _hints(cls).items() if _schema_type(hint) is not None}
    keys = {name: tuple(_hints(_schema_type(hint) or cls)) for name, hint in sections.items()}
    _check_keys(cls, cls.path_prefix, data, tuple(_hints(cls)), None, keys)
    values: dict[str, Any] = {}
    for name, value in data.items():
        section = _schema_type(sections[name]) if name in sections else None
        if section is None:
            values[name] = value
            continue
        if not isinstance(value, Mapping):
            raise cls.error(name, value, f"must be a table ([{name}]), got {value!r}")
        _check_keys(section, section.path_prefix, value, keys[name], name, keys)
        values[name] = section(**value)
    return cls(**values)


def _schema_type(hint: Any) -> type[Schema] | None:
    return hint if isinstance(hint, type) and issubclass(hint, Schema) else None


def _check_keys(
    cls: type[Schema],
    prefix: str,
    data: Mapping[str, Any],
    known: tuple[str, ...],
    section: str | None,
    siblings: Mapping[str, tuple[str, ...]],
) -> None:
    for key in data:
        if key not in known:
            elsewhere = next((n for n, ks in siblings.items() if n != section and key in ks), None)
            path = f"{prefix}.{key}" if prefix else key
            where = elsewhere if section is not None else None
            problem = unknown_key_problem(key, known, where, cls.error.known_keys)
            raise cls.error(path, key, problem)
