"""Windowed features for on-device anomaly detection (see ``docs/features.md``).

Pure numpy/scipy functions, one module per domain, named ``domain_verb`` in the
NeuroKit2 style. :func:`features_extract` turns one :class:`WindowData` into a vector in
:data:`wearable_core.contracts.features.FEATURE_NAMES` order.
"""

from wearable_core.features.extract import features_extract, features_extract_many
from wearable_core.features.window import WindowData, windows_from_export, windows_from_records

__all__ = [
    "WindowData",
    "features_extract",
    "features_extract_many",
    "windows_from_export",
    "windows_from_records",
]
