"""Tests of the GATT payload contracts (a package so module names don't clash)."""
