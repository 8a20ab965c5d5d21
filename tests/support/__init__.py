"""Test support shared by the suite and the benchmarks: the GCS emulator and a fault proxy."""
