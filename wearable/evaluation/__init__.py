"""Offline evaluation: scoring the gateway's alerts against the simulator's ground truth."""
