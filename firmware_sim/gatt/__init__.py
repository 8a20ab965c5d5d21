"""The watch's GATT server on bumble: standard SIG services plus our record services."""
