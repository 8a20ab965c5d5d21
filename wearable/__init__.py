"""Wearable health-monitoring pipeline: shared contracts and the `wearable` command."""
