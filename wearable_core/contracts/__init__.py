"""Contracts that cross a boundary (watch <-> gateway <-> cloud). Both sides import these."""
