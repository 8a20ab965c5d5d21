"""Wearable health-monitoring pipeline: the apps layer (the `wearable` command, demo,
evaluation, analysis) over the roles; see docs/layers.md."""
