"""The package's public surface."""

from __future__ import annotations

import dataclasses
import inspect

import wearable_core.contracts.gatt as gatt_contracts


def test_every_exported_name_exists() -> None:
    for name in gatt_contracts.__all__:
        assert hasattr(gatt_contracts, name), name


def test_public_classes_and_functions_are_documented() -> None:
    for name in gatt_contracts.__all__:
        obj = getattr(gatt_contracts, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), name


def test_payload_types_are_frozen_dataclasses_with_codecs() -> None:
    payload_types = [
        obj
        for obj in (getattr(gatt_contracts, n) for n in gatt_contracts.__all__)
        if inspect.isclass(obj) and dataclasses.is_dataclass(obj)
    ]
    assert len(payload_types) >= 16
    for cls in payload_types:
        assert cls.__dataclass_params__.frozen, cls  # type: ignore[attr-defined]
        assert callable(getattr(cls, "from_bytes", None)), cls
        assert "__bytes__" in dir(cls), cls
