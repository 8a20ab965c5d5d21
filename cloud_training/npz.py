"""Deterministic ``.npz`` bytes: the same arrays always give the same bytes.

Corpus shards and cohorts are named by the SHA-256 of their bytes, so a rerun must write
the same bytes. ``np.savez`` stamps each zip entry with the clock and the host's file
attributes; this writes the archive itself with a fixed date and attributes, in a fixed
entry order. ``np.load(..., allow_pickle=False)`` reads the result.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)


def npy_bytes(array: npt.NDArray[Any]) -> bytes:
    """One array in ``.npy`` format (no pickles)."""
    buffer = io.BytesIO()
    # asarray, not ascontiguousarray: the latter turns 0-d entries into 1-d.
    np.lib.format.write_array(buffer, np.asarray(array, order="C"), allow_pickle=False)
    return buffer.getvalue()


def npz_bytes(
    arrays: Mapping[str, npt.NDArray[Any]],
    *,
    extra: Mapping[str, bytes] | None = None,
    compress: bool,
) -> bytes:
    """A zip of ``<key>.npy`` per array (sorted by key) plus ``extra`` members as given.

    ``compress`` deflates the members: smaller, but deflate's output can differ between
    zlib builds, so content-named objects written elsewhere may get another name (an
    unreferenced copy, never a duplicate in the data).
    """
    members = [(f"{key}.npy", npy_bytes(arrays[key])) for key in sorted(arrays)]
    members += sorted((extra or {}).items())
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE_TIME)
            info.compress_type = method
            # ZipInfo defaults these from the host OS; fix them so every host agrees.
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=6 if compress else None)
    return buffer.getvalue()
